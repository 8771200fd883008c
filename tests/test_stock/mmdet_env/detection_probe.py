"""Run inside the mmdet environment (full mmcv): one of mmdet's stock
detection configs, shrunk, trains on the Fashion-MNIST COCO set
(``tools/make_fashion_mnist_coco.py``) with the InfoBatch line; prints one
JSON line of what happened.

Usage: python detection_probe.py DATA_ROOT WORK_DIR CONFIG HOOK_JSON
       python detection_probe.py DATA_ROOT WORK_DIR CONFIG --exact
(CONFIG relative to mmdet's configs). The first compares one batch's loss
terms under chosen weights with the model's own loss and with a hand
computation (:func:`image_of_rows`), then trains; the
second checks ratio=0 against the plain run and a resumed run against a
straight one, weight for weight.
"""
import json
import os.path as osp
import sys

import mmib  # noqa: F401  (first: the CPU-stack fixes)
import mmdet
from mmengine.config import Config
from mmengine.runner import Runner
from probe_common import block_rows
from probe_common import check_exact as check_exact_of
from probe_common import check_weights as check_weights_of
from probe_common import train_and_report

STOCK = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs')
CLASSES = ('T-shirt/top', 'trouser', 'pullover', 'dress', 'coat', 'sandal',
           'shirt', 'sneaker', 'bag', 'ankle boot')
ITERS = 20
#: heads that compute their losses in their own row order (batch scores for
#: those terms): no hand computation of image shares for them
OWN_ROW_ORDER = ('atss/', 'fcos/', 'gfl/')


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
    recipe, with the shares by hand of :func:`image_of_rows` (not for a
    head no adapter serves, :data:`OWN_ROW_ORDER`: its rows are not
    mapped)."""
    cfg = shrunk(data_root, work_dir, relpath, dict(ratio=0.5))
    watch = ('roi_head.bbox_roi_extractor', ) if 'rpn_head' in cfg.model \
        else ()
    served = not relpath.startswith(OWN_ROW_ORDER)
    return check_weights_of(Runner.from_cfg(cfg),
                            image_of_rows if served else None, watch)


def image_of_rows(name, arguments, before, batch, watched):
    """The image of each row of a loss module's call, from what the heads
    do: anchor heads (RetinaNet, the RPN) and DETR flatten their rows image
    by image, the same number each; the RoI box head's class loss has a
    row per RoI (its first column is the image index), its box loss a row
    per positive RoI (label below the background class)."""
    pred = arguments[list(arguments)[1]]
    if not name.startswith('roi_head.bbox_head.'):
        return block_rows(pred, len(batch['inputs']))
    rois = watched['roi_head.bbox_roi_extractor'][-1][1]
    image = rois[:, 0].long()
    if name.endswith('loss_cls'):
        return image
    cls_call = [a for n, _, a in before if n == 'roi_head.bbox_head.loss_cls']
    labels = cls_call[-1][list(cls_call[-1])[2]]
    num_classes = int(cls_call[-1][list(cls_call[-1])[1]].shape[1]) - 1
    return image[(labels >= 0) & (labels < num_classes)]


def check_exact(data_root: str, work_dir: str, relpath: str) -> dict:
    """:func:`probe_common.check_exact` on the shrunk recipe (2 epochs, a
    checkpoint after each: interrupted after the first)."""
    return check_exact_of(
        lambda folder, hook: shrunk(data_root, folder, relpath, hook),
        work_dir)


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
