# The benchmark's and demo's baseline: a 5-layer CNN (mmib's SmallCNN,
# 3 convolutions + linear head) on the first 4,000 Fashion-MNIST training
# images (mmpretrain's stock FashionMNIST data set; prepare the folder with
# tools/prepare_fashion_mnist.py), tested on all 10,000 test images. SGD,
# one warm-up epoch, cosine decay, all in iterations. The InfoBatch twin only
# adds the hook.
_base_ = ['../_base_/default_runtime_cpu.py']

default_scope = 'mmpretrain'
# mmib (the product) and mmib_kit (this project's demo data sets and models)
custom_imports = dict(imports=['mmib', 'mmib_kit'], allow_failed_imports=False)

data_root = 'data/fashion-mnist'
num_train = 4000

data_preprocessor = dict(
    num_classes=10, mean=[72.94], std=[90.02], to_rgb=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='SmallCNN', in_channels=1, widths=(16, 32, 64)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

train_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,  # also under mmpretrain/mmseg tools/train.py
    dataset=dict(
        type='FashionMNIST',
        data_root=data_root,
        split='train',
        download=False,
        indices=num_train,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=500,
    num_workers=0,
    persistent_workers=False,  # also under mmpretrain/mmseg tools/train.py
    dataset=dict(
        type='FashionMNIST',
        data_root=data_root,
        split='test',
        # mmpretrain 1.2.0's MNIST reads the test files only with
        # test_mode=True; split='test' alone loads the 60,000 training images
        test_mode=True,
        download=False,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

max_epochs = 25
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
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
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs),
    visualization=dict(type='VisualizationHook', enable=False))
randomness = dict(seed=0, deterministic=False)
