"""Stock mmpretrain recipes with the InfoBatch line added, shrunk for CPU.

Each test loads a config shipped inside the installed mmpretrain package
(found through the package, ``.mim/configs``), keeps its model family, loss,
batch augments, optimizer and schedule, and shrinks what a CPU cannot run:
tiny widths, 32x32 digits instead of ImageNet, SyncBN to BN, a few epochs.
Each runs through the Runner twice: ``ratio=0`` gives the plain config's
per-iteration losses, ``ratio=0.5`` prunes and saves.
"""
import copy
import os.path as osp

import mmpretrain
import torch
from conftest import get_hook, run
from mmengine.config import Config

STOCK = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs')


EPOCHS = 3


def _shrink_scheduler(scheduler: dict, factor: float) -> dict:
    """The stock schedule's shape in ``EPOCHS`` epochs (warm-up, then
    decay, each at least one epoch)."""
    scheduler = dict(scheduler)
    begin = scheduler.get('begin', 0)
    begin = min(EPOCHS - 1, max(round(begin * factor), 1 if begin else 0))
    scheduler['begin'] = begin
    if 'end' in scheduler:
        scheduler['end'] = min(EPOCHS, max(begin + 1,
                                           round(scheduler['end'] * factor)))
    scheduler.pop('T_max', None)
    return scheduler


def load_stock(relpath: str, model: dict) -> Config:
    """The mmpretrain stock config at ``relpath`` with ``model`` merged in."""
    path = osp.join(STOCK, relpath)
    assert osp.exists(path), f'stock config {relpath} not in mmpretrain'
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(dict(model=copy.deepcopy(model)), allow_list_keys=True)
    return cfg


def shrink(relpath: str, work_dir: str, model: dict,
           infobatch=None) -> Config:
    """The stock config at ``relpath``, shrunk for a CPU test."""
    cfg = load_stock(relpath, model)
    if 'norm_cfg' in cfg.model.backbone:
        cfg.model.backbone.norm_cfg = dict(type='BN', requires_grad=True)
    cfg.data_preprocessor = dict(
        num_classes=10, mean=[127.5], std=[127.5], to_rgb=False)
    cfg.train_dataloader = dict(
        batch_size=16,
        num_workers=0,
        persistent_workers=False,
        dataset=dict(
            type='DigitsDataset',
            split='train',
            indices=96,
            pipeline=[dict(type='Resize', scale=(32, 32)),
                      dict(type='PackInputs')]),
        sampler=cfg.train_dataloader.sampler)
    return finish_shrink(cfg, work_dir, infobatch)


def finish_shrink(cfg: Config, work_dir: str, infobatch=None) -> Config:
    """What every shrunk epoch-based stock config shares: no validation,
    ``EPOCHS`` epochs with the stock schedule's shape, the recording hook
    after the recipe's own hooks (e.g. ConvNeXt's EMAHook), the InfoBatch
    line, a fixed seed."""
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator',
                'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    stock_epochs = cfg.train_cfg.max_epochs
    cfg.train_cfg = dict(by_epoch=True, max_epochs=EPOCHS)
    cfg.param_scheduler = [
        _shrink_scheduler(s, EPOCHS / stock_epochs)
        for s in cfg.param_scheduler
    ]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.custom_imports = dict(imports=['mmib'], allow_failed_imports=False)
    # the recipe's own hooks (e.g. ConvNeXt's EMAHook) stay
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='RecordingHook')
    ] + ([dict(type='InfoBatchHook', **infobatch)] if infobatch else [])
    cfg.randomness = dict(seed=0)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg


def _losses(runner):
    return torch.tensor(
        [r['loss'] for r in get_hook(runner, 'RecordingHook').records])


def check_stock(relpath: str, model: dict, tmp_path) -> None:
    plain = run(shrink(relpath, str(tmp_path / 'plain'), model))
    ratio0 = run(shrink(relpath, str(tmp_path / 'r0'), model,
                        dict(ratio=0.0)))
    torch.testing.assert_close(_losses(ratio0), _losses(plain), rtol=1e-6,
                               atol=1e-6)
    pruned = run(shrink(relpath, str(tmp_path / 'r5'), model,
                        dict(ratio=0.5, delta=1.0)))
    assert get_hook(pruned, 'InfoBatchHook').savings()['saved_samples'] > 0


TINY_VIT = dict(
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=32, num_layers=2, num_heads=2,
                  feedforward_channels=64),
        img_size=32, patch_size=8, in_channels=1),
    head=dict(num_classes=10, in_channels=32))


def test_deit_tiny_label_smooth_mixup_cutmix(tmp_path):
    """LabelSmoothLoss (it crashed before) with Mixup/CutMix targets."""
    check_stock('deit/deit-tiny_4xb256_in1k.py', TINY_VIT, tmp_path)


def test_resnet50_rsb_a3_bce_mixup_cutmix(tmp_path):
    """CrossEntropyLoss(use_sigmoid=True), Mixup+CutMix, SyncBN -> BN."""
    check_stock(
        'resnet/resnet50_8xb256-rsb-a3-100e_in1k.py',
        dict(backbone=dict(depth=18, in_channels=1, stem_channels=8,
                           base_channels=8, drop_path_rate=0.0),
             head=dict(num_classes=10, in_channels=64)), tmp_path)


def test_vit_base_p16_label_smooth(tmp_path):
    check_stock('vision_transformer/vit-base-p16_64xb64_in1k.py', TINY_VIT,
                tmp_path)


def test_swin_tiny_label_smooth(tmp_path):
    check_stock(
        'swin_transformer/swin-tiny_16xb64_in1k.py',
        dict(backbone=dict(
            arch=dict(_delete_=True, embed_dims=16, depths=[2, 2],
                      num_heads=[1, 2]),
            img_size=32, patch_size=4, window_size=4, in_channels=1,
            drop_path_rate=0.0, out_indices=(1, )),
             head=dict(num_classes=10, in_channels=32)), tmp_path)


def test_convnext_tiny_label_smooth_with_its_ema_hook(tmp_path):
    check_stock(
        'convnext/convnext-tiny_32xb128_in1k.py',
        dict(backbone=dict(
            arch=dict(_delete_=True, depths=[1, 1], channels=[16, 32]),
            in_channels=1, drop_path_rate=0.0, out_indices=(1, )),
             head=dict(num_classes=10, in_channels=32)), tmp_path)


def test_resnet50_rsb_a2_repeat_aug_sampler(tmp_path):
    """RepeatAugSampler (3 repeats): at ratio=0 exactly the stock indices
    and losses; pruned, each kept sample is trained as often as the stock
    sampler repeats it and its repeats give one score."""
    model = dict(backbone=dict(depth=18, in_channels=1, stem_channels=8,
                               base_channels=8, drop_path_rate=0.0),
                 head=dict(num_classes=10, in_channels=64))
    relpath = 'resnet/resnet50_8xb256-rsb-a2-300e_in1k.py'
    assert shrink(relpath, str(tmp_path), model).train_dataloader.sampler[
        'type'] == 'RepeatAugSampler'
    check_stock(relpath, model, tmp_path)
    pruned = run(shrink(relpath, str(tmp_path / 'again'), model,
                        dict(ratio=0.5, delta=1.0)))
    hook = get_hook(pruned, 'InfoBatchHook')
    assert hook.sampler.num_repeats == 3
    records = get_hook(pruned, 'RecordingHook').records
    last_pass = [i for r in records if r['epoch'] == EPOCHS - 1
                 for i in r['indices']]
    kept = set(hook.plan.kept_indices.tolist())
    assert set(last_pass) <= kept
    counts = torch.bincount(torch.tensor(last_pass))
    assert int(counts.max()) == 3  # each kept sample up to 3 times
