"""Run inside the mmdet environment (full mmcv): mmseg's stock Mask2Former
R-50 ADE20K config, shrunk, trains on the tiny ADE20K set with the
InfoBatch line; prints one JSON line of what happened.

Usage: python mask2former_probe.py DATA_ROOT WORK_DIR HOOK_JSON
(with per-sample scores, first one batch's loss terms under chosen weights,
through the loss adapters, against the model's own loss)
"""
import json
import os.path as osp
import sys

import mmib  # noqa: F401  (first: the CPU-stack fixes)
import mmseg
from mmengine.config import Config
from mmengine.runner import Runner
from probe_common import check_weights as check_weights_of
from probe_common import train_and_report

STOCK = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs',
                 'mask2former', 'mask2former_r50_8xb2-160k_ade20k-512x512.py')
REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
TINY = osp.join(REPO, 'configs', 'segmentation',
                'upernet_r18-tiny_tiny-ade20k_full.py')


def shrunk(data_root: str, work_dir: str, hook: dict) -> Config:
    cfg = Config.fromfile(STOCK)
    model = cfg.model
    model.backbone.update(depth=18, stem_channels=16, base_channels=16,
                          init_cfg=None)
    model.data_preprocessor.size = (64, 64)
    head = model.decode_head
    head.update(in_channels=[16, 32, 64, 128], feat_channels=32,
                out_channels=32, num_queries=10)
    head.pixel_decoder.encoder.num_layers = 1
    for part in (head.pixel_decoder.encoder.layer_cfg,
                 head.transformer_decoder.layer_cfg):
        for attn in ('self_attn_cfg', 'cross_attn_cfg'):
            if attn in part:
                part[attn].update(embed_dims=32, num_heads=2)
        part.ffn_cfg.update(embed_dims=32, feedforward_channels=64)
    head.pixel_decoder.positional_encoding.num_feats = 16
    head.positional_encoding.num_feats = 16
    head.transformer_decoder.num_layers = 1
    head.train_cfg.num_points = 64
    tiny = Config.fromfile(TINY).train_dataloader
    tiny.dataset.data_root = data_root
    cfg.train_dataloader = tiny
    cfg.train_dataloader.update(batch_size=4, num_workers=0,
                                persistent_workers=False)
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator',
                'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=30,
                         val_interval=10**6)
    cfg.param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9,
                                begin=0, end=30, by_epoch=False)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        by_epoch=False, interval=10**6)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10)
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook')
    cfg.custom_imports = dict(imports=['mmib'], allow_failed_imports=False)
    cfg.custom_hooks = [dict(type='InfoBatchHook', **hook)]
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=0)
    return cfg


def check_weights(data_root: str, work_dir: str) -> dict:
    """:func:`probe_common.check_weights` on one batch of the shrunk
    recipe."""
    cfg = shrunk(data_root, work_dir, dict(ratio=0.5))
    return check_weights_of(Runner.from_cfg(cfg))


def main() -> None:
    data_root, work_dir = sys.argv[1], sys.argv[2]
    hook = json.loads(sys.argv[3])
    out = dict(error=None)
    if hook.get('scores', 'sample') == 'sample':
        out['weights'] = check_weights(data_root, work_dir + '_weights')
    runner = Runner.from_cfg(shrunk(data_root, work_dir, hook))
    train_and_report(runner, out)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
