"""Run inside the mmdet environment (full mmcv): one of mmdet's stock
detection configs, shrunk, trains on the Fashion-MNIST COCO set
(``tools/make_fashion_mnist_coco.py``) with the InfoBatch line; prints one
JSON line of what happened.

Usage: python detection_probe.py DATA_ROOT WORK_DIR CONFIG HOOK_JSON
       python detection_probe.py DATA_ROOT WORK_DIR CONFIG --exact
(CONFIG relative to mmdet's configs). The first compares one batch's loss
terms under chosen weights with the model's own loss, then trains; the
second checks ratio=0 against the plain run and a resumed run against a
straight one, weight for weight.
"""
import json
import os.path as osp
import sys

import mmib  # noqa: F401  (first: the CPU-stack fixes)
import mmdet
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from probe_common import check_weights as check_weights_of
from probe_common import train_and_report

STOCK = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs')
CLASSES = ('T-shirt/top', 'trouser', 'pullover', 'dress', 'coat', 'sandal',
           'shirt', 'sneaker', 'bag', 'ankle boot')
ITERS = 20


def _small_resnet(model) -> None:
    model.backbone.update(depth=18, base_channels=16, init_cfg=None,
                          num_stages=4, out_indices=(0, 1, 2, 3)
                          if 'neck' in model else (3, ))
    model.backbone.pop('stem_channels', None)
    model.backbone.norm_cfg = dict(type='BN', requires_grad=True)
    if model.get('neck'):
        model.neck.update(in_channels=[16, 32, 64, 128], out_channels=32)


def shrunk(data_root: str, work_dir: str, relpath: str,
           hook) -> Config:
    cfg = Config.fromfile(osp.join(STOCK, relpath))
    model = cfg.model
    _small_resnet(model)
    if 'bbox_head' in model and 'roi_head' not in model:
        head = model.bbox_head
        head.num_classes = 10
        if head.type == 'DETRHead':
            model.backbone.out_indices = (3, )
            model.neck.update(in_channels=[128], out_channels=32)
            model.num_queries = 10
            model.positional_encoding.num_feats = 16
            for part in ('encoder', 'decoder'):
                model[part].num_layers = 1
                layer = model[part].layer_cfg
                for attn in ('self_attn_cfg', 'cross_attn_cfg'):
                    if attn in layer:
                        layer[attn].update(embed_dims=32, num_heads=2)
                layer.ffn_cfg.update(embed_dims=32, feedforward_channels=64)
            head.embed_dims = 32
        else:
            head.update(in_channels=32, feat_channels=32, stacked_convs=1)
    if 'rpn_head' in model:
        model.rpn_head.update(in_channels=32, feat_channels=32)
        model.roi_head.bbox_roi_extractor.out_channels = 32
        model.roi_head.bbox_head.update(in_channels=32, fc_out_channels=64,
                                        num_classes=10)
        for stage in ('rpn', 'rcnn'):
            model.train_cfg[stage].sampler.num = 64
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=(128, 128), keep_ratio=False),
        dict(type='PackDetInputs')
    ]
    cfg.train_dataloader = dict(
        batch_size=4, num_workers=0, persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=True),
        batch_sampler=None,
        dataset=dict(type='CocoDataset', data_root=data_root,
                     metainfo=dict(classes=CLASSES),
                     ann_file='annotations/train.json',
                     data_prefix=dict(img='images/train/'),
                     filter_cfg=dict(filter_empty_gt=False),
                     pipeline=pipeline))
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator',
                'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2,
                         val_interval=10**6)
    cfg.param_scheduler = []
    cfg.optim_wrapper = dict(type='OptimWrapper', optimizer=dict(
        type='SGD', lr=0.002, momentum=0.9, weight_decay=1e-4),
        clip_grad=dict(max_norm=10))
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10)
    cfg.custom_imports = dict(imports=['mmib'], allow_failed_imports=False)
    cfg.custom_hooks = [dict(type='InfoBatchHook', **hook)]
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=0)
    return cfg


def check_weights(data_root: str, work_dir: str, relpath: str) -> dict:
    """:func:`probe_common.check_weights` on one batch of the shrunk
    recipe."""
    cfg = shrunk(data_root, work_dir, relpath, dict(ratio=0.5))
    return check_weights_of(Runner.from_cfg(cfg))


class _StopAfterFirstEpoch(Hook):
    """Ends training after the first epoch (as an interruption would),
    after its checkpoint is saved."""

    def after_train_epoch(self, runner) -> None:
        runner.train_loop.stop_training = True


def _weights(runner) -> dict:
    return {k: v.detach().clone() for k, v in runner.model.state_dict().items()}


def _train(data_root, work_dir, relpath, hook, resume=False):
    cfg = shrunk(data_root, work_dir, relpath, hook or dict(ratio=0.0))
    if hook is None:
        cfg.custom_hooks = []
    cfg.resume = resume
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def check_exact(data_root: str, work_dir: str, relpath: str) -> dict:
    """ratio=0 trains what the plain run trains; a pruned run stopped after
    its first epoch and resumed ends with the weights of a straight one."""
    import torch
    plain = _weights(_train(data_root, work_dir + '_plain', relpath, None))
    zero = _weights(_train(data_root, work_dir + '_zero', relpath,
                           dict(ratio=0.0)))
    hook = dict(ratio=0.5, delta=1.0)
    straight = _weights(_train(data_root, work_dir + '_straight', relpath,
                               hook))
    resumed_dir = work_dir + '_resumed'
    first = Runner.from_cfg(shrunk(data_root, resumed_dir, relpath, hook))
    first.register_hook(_StopAfterFirstEpoch(), priority='LOWEST')
    first.train()
    resumed = _weights(_train(data_root, resumed_dir, relpath, hook,
                              resume=True))
    return dict(
        zero_equals_plain=all(torch.equal(plain[k], zero[k]) for k in plain),
        resumed_equals_straight=all(
            torch.equal(straight[k], resumed[k]) for k in straight))


def main() -> None:
    data_root, work_dir, relpath = sys.argv[1:4]
    if sys.argv[4] == '--exact':
        print(json.dumps(check_exact(data_root, work_dir, relpath)))
        return
    hook = json.loads(sys.argv[4])
    out = dict(error=None,
               weights=check_weights(data_root, work_dir + '_weights',
                                     relpath))
    runner = Runner.from_cfg(shrunk(data_root, work_dir, relpath, hook))
    train_and_report(runner, out)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
