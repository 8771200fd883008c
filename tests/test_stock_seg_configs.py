"""Stock mmseg recipes with the InfoBatch line added, shrunk for CPU.

Each test loads a config shipped inside the installed mmseg package
(``.mim/configs``, found through the package), keeps its decode/auxiliary
heads, losses, optimizer, iteration-based schedule shape and data-set
wrappers, and shrinks what a CPU cannot run: a ResNet-18/UNet of tiny width,
SyncBN to BN, the tiny ADE20K-format set the tests write, 40 iterations.
``ratio=0`` gives the plain config's per-iteration losses, ``ratio=0.5``
prunes and saves.
"""
import copy
import os.path as osp

import mmseg
import pytest
import torch
from conftest import REPO, get_hook, run
from mmengine.config import Config

from mmib.datasets.tiny_ade20k import write_tiny_ade20k

STOCK = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs')
TINY = osp.join(REPO, 'configs', 'segmentation',
                'upernet_r18-tiny_tiny-ade20k_full.py')
MAX_ITERS = 40


@pytest.fixture(scope='module')
def tiny_ade20k(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('tiny_ade20k_stock'))
    write_tiny_ade20k(root)
    return root


def _to_bn(node):
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
        for value in node.values():
            _to_bn(value)
    elif isinstance(node, list):
        for value in node:
            _to_bn(value)


def shrink(relpath: str, work_dir: str, data_root: str, model: dict,
           infobatch=None) -> Config:
    path = osp.join(STOCK, relpath)
    assert osp.exists(path), f'stock config {relpath} not in mmseg'
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(dict(model=copy.deepcopy(model)),
                        allow_list_keys=True)
    _to_bn(cfg.model)
    cfg.model.pretrained = None  # no weights can be downloaded here
    cfg.model.backbone.pop('init_cfg', None)
    cfg.model.data_preprocessor.size = (64, 64)
    tiny = Config.fromfile(TINY).train_dataloader
    tiny.dataset.data_root = data_root
    dataset = cfg.train_dataloader.dataset
    if dataset.get('type') == 'RepeatDataset':  # keep the recipe's wrapper
        dataset.dataset = tiny.dataset
    else:
        cfg.train_dataloader.dataset = tiny.dataset
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator',
                'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=MAX_ITERS,
                         val_interval=10**6)
    for scheduler in cfg.param_scheduler:
        if 'end' in scheduler:
            scheduler['end'] = MAX_ITERS
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=10**6)
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook')
    cfg.custom_imports = dict(imports=['mmib'], allow_failed_imports=False)
    cfg.custom_hooks = [dict(type='RecordingHook')] + (
        [dict(type='InfoBatchHook', **infobatch)] if infobatch else [])
    cfg.randomness = dict(seed=0)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg


def check_stock(relpath, model, tmp_path, data_root, same_order=True):
    def losses(runner):
        return torch.tensor(
            [r['loss'] for r in get_hook(runner, 'RecordingHook').records])

    ratio0 = run(shrink(relpath, str(tmp_path / 'r0'), data_root, model,
                        dict(ratio=0.0)))
    if same_order:
        plain = run(shrink(relpath, str(tmp_path / 'plain'), data_root,
                           model))
        torch.testing.assert_close(losses(ratio0), losses(plain), rtol=1e-5,
                                   atol=1e-6)
    else:  # passes over a RepeatDataset's inner set: each sample once each
        records = get_hook(ratio0, 'RecordingHook').records
        by_pass = {}
        for r in records:
            by_pass.setdefault(r['pass_index'], []).extend(r['indices'])
        for trained in by_pass.values():
            assert len(trained) == len(set(trained))
        assert all(len(t) == 40 for p, t in by_pass.items()
                   if p < max(by_pass))
        assert bool(torch.isfinite(losses(ratio0)).all())
    pruned = run(shrink(relpath, str(tmp_path / 'r5'), data_root, model,
                        dict(ratio=0.5, delta=1.0)))
    hook = get_hook(pruned, 'InfoBatchHook')
    assert hook.savings()['saved_samples'] > 0
    return hook


R18 = dict(depth=18, stem_channels=16, base_channels=16)


def test_pspnet_r50_ade20k(tiny_ade20k, tmp_path):
    check_stock(
        'pspnet/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py',
        dict(backbone=R18,
             decode_head=dict(in_channels=128, channels=32),
             auxiliary_head=dict(in_channels=64, channels=16)),
        tmp_path, tiny_ade20k)


def test_unet_ce_dice_with_its_repeat_dataset(tiny_ade20k, tmp_path):
    """CE + Dice heads; the recipe's RepeatDataset(times=40000) stays, and
    the passes go over the real samples (so the order is not the stock
    InfiniteSampler's over 40,000 copies: same distribution, each sample
    once per pass)."""
    hook = check_stock(
        'unet/unet-s5-d16_fcn_4xb4-ce-1.0-dice-3.0-40k_drive-64x64.py',
        dict(backbone=dict(base_channels=8),
             decode_head=dict(in_channels=8, channels=8, num_classes=150),
             auxiliary_head=dict(in_channels=16, channels=8,
                                 num_classes=150)),
        tmp_path, tiny_ade20k, same_order=False)
    assert len(hook.table) == 40  # the tiny set, not 40000 copies
    names = hook.recorder.module_names
    assert any('loss_decode.1' in n for n in names), names  # the Dice loss
