# The demo's baseline: a small ResNet-18 (CIFAR stem, 16 base channels) on
# scikit-learn's digits (1437 train / 360 test 8x8 images, shipped offline),
# trained on the full data. Its InfoBatch twin only adds the hook.
_base_ = ['../_base_/default_runtime_cpu.py']

default_scope = 'mmpretrain'
# mmib (the product) and mmib_kit (this project's demo data sets and models)
custom_imports = dict(imports=['mmib', 'mmib_kit'], allow_failed_imports=False)

data_preprocessor = dict(
    num_classes=10, mean=[127.5], std=[127.5], to_rgb=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet_CIFAR',
        depth=18,
        in_channels=1,
        stem_channels=16,
        base_channels=16,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

train_pipeline = [
    dict(type='RandomCrop', crop_size=8, padding=1),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,  # also under mmpretrain/mmseg tools/train.py
    dataset=dict(type='DigitsDataset', split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=120,
    num_workers=0,
    persistent_workers=False,  # also under mmpretrain/mmseg tools/train.py
    dataset=dict(type='DigitsDataset', split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

max_epochs = 40
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
# an iteration-based warmup and cosine decay (converted from epochs): with
# InfoBatch the schedule still ends at the end of the shortened run
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        eta_min=1e-4,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=max_epochs),
    visualization=dict(type='VisualizationHook', enable=False))
randomness = dict(seed=0, deterministic=False)
