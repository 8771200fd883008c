"""Run inside the mmdet environment (full mmcv): mmseg's stock Mask2Former
R-50 ADE20K config, shrunk, trains on the tiny ADE20K set with the
InfoBatch line; prints one JSON line of what happened.

Usage: python mask2former_probe.py DATA_ROOT WORK_DIR HOOK_JSON
       python mask2former_probe.py DATA_ROOT WORK_DIR --exact
The first (with per-sample scores) compares one batch's loss terms under
chosen weights, through the loss adapters, with the model's own loss and
with a hand computation, then trains; the second checks ratio=0 against the
plain run and a resumed run against a straight one, weight for weight.
"""
import json
import os.path as osp
import sys

import mmib  # noqa: F401  (first: the CPU-stack fixes)
import mmseg
from mmengine.config import Config
from mmengine.runner import Runner
import torch
from probe_common import block_rows
from probe_common import check_exact
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
    recipe, with the shares by hand: the class loss has a row per query,
    image by image; the dice loss a row per matched mask (one per
    ground-truth mask up to the number of queries: the matching is one to
    one), image by image; the mask loss as many rows (its sampled points)
    per matched mask."""
    runner = Runner.from_cfg(shrunk(data_root, work_dir, dict(ratio=0.5)))
    head = runner.model.decode_head

    def image_of_rows(name, arguments, before, batch, watched):
        pred = arguments[list(arguments)[1]]
        size = len(batch['inputs'])
        if name.endswith('loss_cls'):
            return block_rows(pred, size)
        gts, _ = head._seg_data_to_instance_data(batch['data_samples'])
        masks = torch.tensor([min(len(g), head.num_queries) for g in gts])
        per_mask = len(pred) // int(masks.sum())
        return torch.arange(size).repeat_interleave(masks * per_mask)

    return check_weights_of(runner, image_of_rows)


def main() -> None:
    data_root, work_dir = sys.argv[1], sys.argv[2]
    if sys.argv[3] == '--exact':  # 16 iterations, a checkpoint at 8
        def build(folder, hook):
            cfg = shrunk(data_root, folder, hook)
            cfg.train_cfg.max_iters = 16
            cfg.param_scheduler[0].end = 16
            cfg.default_hooks.checkpoint.interval = 8
            return cfg
        print(json.dumps(check_exact(build, work_dir, stop_at=8)))
        return
    hook = json.loads(sys.argv[3])
    out = dict(error=None)
    if hook.get('scores', 'sample') == 'sample':
        out['weights'] = check_weights(data_root, work_dir + '_weights')
    runner = Runner.from_cfg(shrunk(data_root, work_dir, hook))
    train_and_report(runner, out)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
