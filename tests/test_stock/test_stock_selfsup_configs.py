"""Stock mmpretrain self-supervised recipes with the InfoBatch line added.

Each test loads a config shipped inside the installed mmpretrain package
(``.mim/configs``, found through the package), keeps its algorithm, head,
loss, view pipeline, optimizer and schedule shape, and shrinks what a CPU
cannot run: tiny widths, 32x32 tiles of scikit-learn's photos instead of
ImageNet, SyncBN to BN, ``AmpOptimWrapper`` to ``OptimWrapper`` (no CUDA),
three epochs. Each runs through the Runner three times: ``ratio=0`` gives
the plain config's per-iteration losses, ``ratio=0.5`` prunes and saves.
"""
import copy

import torch
from conftest import finish_shrink, get_hook, load_stock, run
from mmengine.config import Config

TINY_RESNET = dict(depth=18, stem_channels=8, base_channels=4,
                   norm_cfg=dict(type='BN'))  # 32 output channels
# BYOL and MoCo v3: backbone, projection neck and the head's predictor
TINY_WITH_PREDICTOR = dict(
    backbone=TINY_RESNET,
    neck=dict(in_channels=32, hid_channels=32, out_channels=16),
    head=dict(predictor=dict(in_channels=16, hid_channels=32,
                             out_channels=16)))


def _shrink_pipeline(transforms: list) -> list:
    """The stock transforms for 32x32 in-memory tiles."""
    shrunk = []
    for t in transforms:
        t = copy.deepcopy(dict(t))
        if t['type'] == 'LoadImageFromFile':
            continue  # the tiles are in memory
        if t['type'] in ('RandomResizedCrop', ):
            t['scale'] = 32
        if t['type'] == 'SimMIMMaskGenerator':
            t.update(input_size=32, mask_patch_size=8)
        if 'transforms' in t:
            inner = t['transforms']
            t['transforms'] = ([_shrink_pipeline(v) for v in inner]
                               if inner and isinstance(inner[0], list) else
                               _shrink_pipeline(inner))
        shrunk.append(t)
        if t['type'] == 'SimMIMMaskGenerator':
            # mmpretrain 1.2.0: PackInputs keeps the numpy mask, which
            # SimMIM.loss cannot stack
            shrunk.append(dict(type='ToTensor', keys=['mask']))
    return shrunk


def shrink(relpath: str, work_dir: str, model: dict,
           infobatch=None) -> Config:
    """The stock config at ``relpath``, shrunk for a CPU test."""
    cfg = load_stock(relpath, model)
    pipeline = _shrink_pipeline(cfg.train_dataloader.dataset.pipeline)
    cfg.train_dataloader = dict(
        batch_size=16,
        num_workers=0,
        persistent_workers=False,
        collate_fn=cfg.train_dataloader.get('collate_fn',
                                            dict(type='default_collate')),
        dataset=dict(type='PhotoTilesDataset', tile=32, indices=64,
                     pipeline=pipeline),
        sampler=cfg.train_dataloader.sampler)
    if cfg.optim_wrapper.get('type') == 'AmpOptimWrapper':
        cfg.optim_wrapper.type = 'OptimWrapper'  # fp16 needs CUDA
        cfg.optim_wrapper.pop('loss_scale', None)
    return finish_shrink(cfg, work_dir, infobatch)


def check_stock(relpath: str, model: dict, tmp_path, adapter: str) -> None:
    plain = run(shrink(relpath, str(tmp_path / 'plain'), model))
    ratio0 = run(
        shrink(relpath, str(tmp_path / 'r0'), model, dict(ratio=0.0)))
    losses = [
        torch.tensor([r['loss'] for r in get_hook(x, 'RecordingHook').records])
        for x in (plain, ratio0)
    ]
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-6, atol=1e-6)
    pruned = run(
        shrink(relpath, str(tmp_path / 'r5'), model,
               dict(ratio=0.5, delta=1.0)))
    hook = get_hook(pruned, 'InfoBatchHook')
    assert [type(a).__name__ for a in hook.training.recorder.adapters] == [adapter]
    assert not hook.training.recorder.unsplittable
    assert bool(hook.training.run.table.seen.all())
    assert hook.training.run.table.scores.unique().numel() > 32  # per sample, not batch
    assert hook.savings()['saved_samples'] > 0


def test_byol_cosine_similarity(tmp_path):
    check_stock(
        'byol/byol_resnet50_16xb256-coslr-200e_in1k.py',
        TINY_WITH_PREDICTOR, tmp_path, 'CosineSimilarityAdapter')


def test_mocov3_contrastive(tmp_path):
    check_stock(
        'mocov3/mocov3_resnet50_8xb512-amp-coslr-100e_in1k.py',
        TINY_WITH_PREDICTOR, tmp_path, 'ReductionAdapter')


def test_simclr_two_views_per_image(tmp_path):
    check_stock(
        'simclr/simclr_resnet50_16xb256-coslr-200e_in1k.py',
        dict(backbone=TINY_RESNET,
             neck=dict(in_channels=32, hid_channels=32, out_channels=16)),
        tmp_path, 'SimCLRContrastiveAdapter')


def test_mae_pixel_reconstruction(tmp_path):
    check_stock(
        'mae/mae_vit-base-p16_8xb512-amp-coslr-300e_in1k.py',
        dict(backbone=dict(
            arch=dict(_delete_=True, embed_dims=32, num_layers=2,
                      num_heads=2, feedforward_channels=64),
            img_size=32, patch_size=8),
             neck=dict(num_patches=16, patch_size=8, embed_dim=32,
                       decoder_embed_dim=16, decoder_depth=1,
                       decoder_num_heads=2),
             head=dict(patch_size=8)), tmp_path,
        'PixelReconstructionAdapter')


def test_simmim_pixel_reconstruction(tmp_path):
    check_stock(
        'simmim/simmim_swin-base-w6_8xb256-amp-coslr-100e_in1k-192px.py',
        dict(backbone=dict(
            arch=dict(_delete_=True, embed_dims=16, depths=[1, 1, 1, 1],
                      num_heads=[1, 1, 2, 2]),
            img_size=32,
            stage_cfgs=dict(block_cfgs=dict(window_size=2,
                                            pad_small_map=True))),
             neck=dict(in_channels=128)), tmp_path,
        'PixelReconstructionAdapter')
