"""A config's data folders, checked before anything is built."""
import inspect
import os.path as osp
from typing import Callable, Iterator, List, Optional, Tuple

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


def _downloads(dataset: dict, scope: Optional[str]) -> bool:
    """Whether the data set downloads a missing folder itself: its
    ``download`` setting, or the default of its class (mmpretrain's CIFAR
    and MNIST sets default to ``download=True``)."""
    if 'download' in dataset:
        return bool(dataset['download'])
    kind = dataset.get('type')
    if not isinstance(kind, str):
        return False
    from mmengine.registry import DATASETS
    try:  # the registry of the config's codebase, as the build finds it
        with DATASETS.switch_scope_and_registry(scope) as registry:
            cls = registry.get(kind)
    except Exception:  # an unknown scope or type: the build will say
        return False
    if cls is None:
        return False
    parameter = inspect.signature(cls.__init__).parameters.get('download')
    return bool(parameter is not None and parameter.default is True)


def missing_data_roots(cfg) -> List[Tuple[str, str, str, bool]]:
    """``(setting, folder, data set type, downloads)`` of every
    ``data_root`` of the train/val/test data loaders that does not exist;
    ``downloads``: the data set fetches it itself.

    Args:
        cfg (Config | dict): The run's config.
    """
    missing = []
    scope = cfg.get('default_scope')
    for loader in LOADERS:
        loader_cfg = cfg.get(loader)
        if not isinstance(loader_cfg, dict):
            continue
        for setting, dataset in _datasets(loader_cfg.get('dataset'),
                                          f'{loader}.dataset'):
            root = dataset.get('data_root')
            if isinstance(root, str) and root and not osp.isdir(root):
                missing.append((f'{setting}.data_root', root,
                                str(dataset.get('type', '?')),
                                _downloads(dataset, scope)))
    return missing


def check_data_roots(cfg, warn: Callable[[str], object] = print) -> None:
    """Stop with a sentence naming each missing data folder, the setting
    that points there and how to prepare it; a folder the data set
    downloads itself is one warning (downloads are the user's business).

    Args:
        cfg (Config | dict): The run's config.
        warn (callable): Takes the warning line. Defaults to ``print``.

    Raises:
        FileNotFoundError: A ``data_root`` does not exist.
    """
    missing = missing_data_roots(cfg)
    for setting, root, kind, downloads in missing:
        if downloads:
            warn(f'{setting}={root!r} does not exist: the {kind} data set '
                 'downloads it (download=True); set download=False to '
                 'stop here instead.')
    missing = [m[:3] for m in missing if not m[3]]
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
