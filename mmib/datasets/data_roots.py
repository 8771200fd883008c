"""A config's data folders, checked before anything is built."""
import os.path as osp
from typing import Iterator, List, Tuple

#: data set type -> how its folder is prepared
PREPARE = {
    'FashionMNIST': 'prepare it with `python tools/prepare_fashion_mnist.py`',
    'FashionMNISTSegDataset':
    'prepare it with `python tools/make_fashion_mnist_seg.py`',
    'ADE20KDataset': 'prepare it with `python tools/make_tiny_ade20k.py` '
    "(the tiny CPU set) or as mmseg's dataset_prepare.md says (ADE20K)",
}

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _datasets(dataset, setting: str) -> Iterator[Tuple[str, dict]]:
    """The data set configs inside ``dataset`` (wrappers included), each
    with the config key that leads to it."""
    if not isinstance(dataset, dict):
        return
    yield setting, dataset
    if isinstance(dataset.get('dataset'), dict):
        yield from _datasets(dataset['dataset'], f'{setting}.dataset')
    for k, inner in enumerate(dataset.get('datasets') or []):
        yield from _datasets(inner, f'{setting}.datasets.{k}')


def missing_data_roots(cfg) -> List[Tuple[str, str, str]]:
    """``(setting, folder, data set type)`` of every ``data_root`` of the
    train/val/test data loaders that does not exist (and is not to be
    downloaded).

    Args:
        cfg (Config | dict): The run's config.
    """
    missing = []
    for loader in LOADERS:
        loader_cfg = cfg.get(loader)
        if not isinstance(loader_cfg, dict):
            continue
        for setting, dataset in _datasets(loader_cfg.get('dataset'),
                                          f'{loader}.dataset'):
            root = dataset.get('data_root')
            if (isinstance(root, str) and root and not osp.isdir(root)
                    and not dataset.get('download', False)):
                missing.append((f'{setting}.data_root', root,
                                str(dataset.get('type', '?'))))
    return missing


def check_data_roots(cfg) -> None:
    """Stop with a sentence naming each missing data folder, the setting
    that points there and how to prepare it.

    Args:
        cfg (Config | dict): The run's config.

    Raises:
        FileNotFoundError: A ``data_root`` does not exist.
    """
    missing = missing_data_roots(cfg)
    if not missing:
        return
    lines = []
    for setting, root, kind in missing:
        how = PREPARE.get(kind.split('.')[-1],
                          f'put the {kind} data set there')
        lines.append(f'{setting}={root!r} does not exist ({kind}): {how}, '
                     f'or point the setting at your copy with '
                     f'`--cfg-options {setting}=PATH`.')
    raise FileNotFoundError('\n'.join(dict.fromkeys(lines)))
