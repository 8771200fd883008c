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

from mmib_kit.datasets.tiny_ade20k import write_tiny_ade20k

STOCK = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs')
TINY = osp.join(REPO, 'configs', 'segmentation',
                'upernet_r18-tiny_tiny-ade20k_full.py')
MAX_ITERS = 40


@pytest.fixture(scope='module')
def tiny_ade20k(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('tiny_ade20k_stock'))
    write_tiny_ade20k(root)
    return root


@pytest.fixture(scope='module')
def tiny_ade20k_no_blank(tmp_path_factory):
    """Without the fully ignored tile (used whole, uncropped): mmseg
    1.2.2's per-image Lovasz loss cannot stack an image without valid
    pixels (its empty result has shape ``(0, C)``), with or without
    InfoBatch."""
    import glob

    import numpy as np
    from PIL import Image
    root = str(tmp_path_factory.mktemp('tiny_ade20k_no_blank'))
    write_tiny_ade20k(root, fully_ignored=0)
    for path in glob.glob(osp.join(root, 'annotations', '*', '*.png')):
        label = np.array(Image.open(path))
        if not label.any():  # an all-grey photo tile: give it one class
            label[:label.shape[0] // 2] = 1
            Image.fromarray(label).save(path)
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
           infobatch=None, whole_tiles: bool = False) -> Config:
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
    if whole_tiles:  # no random crop (it can cut an all-ignored patch)
        tiny.dataset.pipeline = [
            dict(type='Resize', scale=(64, 64), keep_ratio=False)
            if t['type'] == 'RandomCrop' else t
            for t in tiny.dataset.pipeline
        ]
    dataset = cfg.train_dataloader.dataset
    # keep the recipe's wrappers, the tiny set inside
    if dataset.get('type') == 'RepeatDataset':
        dataset.dataset = tiny.dataset
    elif dataset.get('type') == 'ConcatDataset':
        dataset.datasets = [copy.deepcopy(tiny.dataset)
                            for _ in dataset.datasets]
    else:
        cfg.train_dataloader.dataset = tiny.dataset
    # batches that tile the 40 tiles, so a pass ends where the stock
    # InfiniteSampler's stream starts its next permutation (DDRNet's
    # Cityscapes recipe has 6 per GPU)
    cfg.train_dataloader.batch_size = 4
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator',
                'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    factor = MAX_ITERS / cfg.train_cfg.max_iters
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=MAX_ITERS,
                         val_interval=10**6)
    for scheduler in cfg.param_scheduler:  # the stock shape, shrunk
        begin = round(scheduler.get('begin', 0) * factor)
        scheduler['begin'] = begin
        if 'end' in scheduler:
            scheduler['end'] = min(MAX_ITERS,
                                   max(begin + 1,
                                       round(scheduler['end'] * factor)))
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


def check_stock(relpath, model, tmp_path, data_root, same_order=True,
                whole_tiles=False):
    def losses(runner):
        return torch.tensor(
            [r['loss'] for r in get_hook(runner, 'RecordingHook').records])

    ratio0 = run(shrink(relpath, str(tmp_path / 'r0'), data_root, model,
                        dict(ratio=0.0), whole_tiles))
    if same_order:
        plain = run(shrink(relpath, str(tmp_path / 'plain'), data_root,
                           model, None, whole_tiles))
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
                        dict(ratio=0.5, delta=1.0), whole_tiles))
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
    assert len(hook.training.run.table) == 40  # the tiny set, not 40000 copies
    names = hook.training.recorder.module_names
    assert any('loss_decode.1' in n for n in names), names  # the Dice loss


def test_pspnet_voc12aug_concat_dataset(tiny_ade20k, tmp_path):
    """The VOC 2012 "aug" recipe trains on a ConcatDataset of two sets
    (here the tiny set twice): one score table over the global indices,
    same losses as the plain run at ratio=0."""
    hook = check_stock(
        'pspnet/pspnet_r50-d8_4xb4-20k_voc12aug-512x512.py',
        dict(backbone=R18,
             decode_head=dict(in_channels=128, channels=32, num_classes=150),
             auxiliary_head=dict(in_channels=64, channels=16,
                                 num_classes=150)),
        tmp_path, tiny_ade20k)
    assert len(hook.training.run.table) == 80  # both parts, global indices
    seen = hook.training.run.table.seen.reshape(2, 40).sum(1)
    assert bool((seen >= 35).all())  # all but tiles with no valid pixel


def test_deeplabv3plus_r50_ade20k(tiny_ade20k, tmp_path):
    check_stock(
        'deeplabv3plus/deeplabv3plus_r50-d8_4xb4-80k_ade20k-512x512.py',
        dict(backbone=R18,
             decode_head=dict(in_channels=128, channels=16,
                              c1_in_channels=16, c1_channels=8),
             auxiliary_head=dict(in_channels=64, channels=16)),
        tmp_path, tiny_ade20k)


def test_segformer_b0_ade20k(tiny_ade20k, tmp_path):
    check_stock(
        'segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py',
        dict(backbone=dict(embed_dims=8, num_heads=[1, 2, 5, 8],
                           num_layers=[1, 1, 1, 1]),
             decode_head=dict(in_channels=[8, 16, 40, 64], channels=16)),
        tmp_path, tiny_ade20k)


def test_ocrnet_hr18s_cascade_heads(tiny_ade20k, tmp_path):
    hrnet = dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                    num_blocks=(1, ), num_channels=(8, )),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                    num_blocks=(1, 1), num_channels=(4, 8)),
        stage3=dict(num_modules=1, num_branches=3, block='BASIC',
                    num_blocks=(1, 1, 1), num_channels=(4, 8, 16)),
        stage4=dict(num_modules=1, num_branches=4, block='BASIC',
                    num_blocks=(1, 1, 1, 1), num_channels=(4, 8, 16, 32)))
    hook = check_stock(
        'ocrnet/ocrnet_hr18s_4xb4-80k_ade20k-512x512.py',
        dict(backbone=dict(extra=hrnet),
             decode_head={  # the two cascade stages, by index
                 '0': dict(in_channels=[4, 8, 16, 32], channels=60),
                 '1': dict(in_channels=[4, 8, 16, 32], channels=16,
                           ocr_channels=8)
             }), tmp_path, tiny_ade20k)
    assert len(hook.training.recorder.module_names) == 2  # both cascade stages


def test_ddrnet_ohem_cross_entropy(tiny_ade20k, tmp_path):
    """DDRNet's two OhemCrossEntropy terms. The tiny set has ADE20K's 150
    classes, so the head predicts 150 and the stock 19 class weights are
    repeated; min_kept shrinks with the images (64x64 instead of
    1024x1024)."""
    from mmseg.registry import MODELS  # noqa: F401 (registers DDRNet)
    stock = Config.fromfile(
        osp.join(STOCK, 'ddrnet',
                 'ddrnet_23-slim_in1k-pre_2xb6-120k_cityscapes-1024x1024.py'))
    weights = stock.model.decode_head.loss_decode[0].class_weight
    losses = [
        dict(type='OhemCrossEntropy', thres=0.9, min_kept=256,
             class_weight=(weights * 8)[:150], loss_weight=w)
        for w in (1.0, 0.4)
    ]
    hook = check_stock(
        'ddrnet/ddrnet_23-slim_in1k-pre_2xb6-120k_cityscapes-1024x1024.py',
        dict(backbone=dict(channels=8, ppm_channels=16, init_cfg=None),
             decode_head=dict(in_channels=32, channels=16, num_classes=150,
                              loss_decode=losses)), tmp_path, tiny_ade20k)
    assert [type(a).__name__ for a in hook.training.recorder.adapters
            ] == ['OhemCrossEntropyAdapter'] * 2


LOVASZ = 'pspnet/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py'


def test_pspnet_lovasz_per_image(tiny_ade20k_no_blank, tmp_path):
    """PSPNet with mmseg's LovaszLoss per image on the decode head (CE on
    the auxiliary head): both terms are scored and weighted."""
    hook = check_stock(
        LOVASZ,
        dict(backbone=R18,
             decode_head=dict(in_channels=128, channels=32,
                              loss_decode=dict(
                                  _delete_=True, type='LovaszLoss',
                                  loss_type='multi_class', per_image=True,
                                  reduction='mean', loss_weight=1.0)),
             auxiliary_head=dict(in_channels=64, channels=16)),
        tmp_path, tiny_ade20k_no_blank, whole_tiles=True)
    assert [type(a).__name__ for a in hook.training.recorder.adapters
            ] == ['LovaszAdapter', 'ReductionAdapter']


def test_pspnet_lovasz_batch_mode_trains_with_batch_scores(tiny_ade20k,
                                                           tmp_path):
    """per_image=False has no per-image part: with the plain line the
    recipe trains, its Lovasz term weighted by the batch's mean weight and
    its value in every sample's score (batch loss scores for that term),
    a WARNING naming the term and why; it prunes, with finite scores."""
    model = dict(
        backbone=R18,
        decode_head=dict(in_channels=128, channels=32,
                         loss_decode=dict(
                             _delete_=True, type='LovaszLoss',
                             loss_type='multi_class', per_image=False,
                             reduction='none', loss_weight=1.0)),
        auxiliary_head=dict(in_channels=64, channels=16))
    runner = run(
        shrink(LOVASZ, str(tmp_path / 'line'), tiny_ade20k, model,
               dict(ratio=0.5, delta=1.0)))
    hook = get_hook(runner, 'InfoBatchHook')
    why = hook.training.recorder.unsplittable['decode_head.loss_decode']
    assert 'per_image=True' in why
    assert hook.savings()['saved_samples'] > 0
    assert bool(torch.isfinite(hook.training.run.table.scores[
        hook.training.run.table.seen]).all())
    log = open(runner.logger.log_file).read()
    assert log.count('WARNING - InfoBatch: loss module '
                     '`decode_head.loss_decode`') == 1


def test_deeplabv3plus_with_the_ohem_pixel_sampler(tiny_ade20k, tmp_path):
    """The decode head's OHEMPixelSampler passes the hard pixels as the
    loss's ``weight``: scores count only those pixels. 150 classes on the
    tiny set; min_kept shrinks with the images."""
    relpath = ('deeplabv3plus/'
               'deeplabv3plus_r101-d16-mg124_4xb2-40k_cityscapes-512x1024.py')
    assert Config.fromfile(osp.join(
        STOCK, relpath)).model.decode_head.sampler.type == 'OHEMPixelSampler'
    hook = check_stock(
        relpath,
        dict(backbone=dict(R18, multi_grid=None),
             decode_head=dict(in_channels=128, channels=16,
                              c1_in_channels=16, c1_channels=8,
                              num_classes=150,
                              sampler=dict(min_kept=512)),
             auxiliary_head=dict(in_channels=64, channels=16,
                                 num_classes=150)),
        tmp_path, tiny_ade20k)
    assert hook.savings()['saved_samples'] > 0
    assert not hook.training.recorder.unsplittable
