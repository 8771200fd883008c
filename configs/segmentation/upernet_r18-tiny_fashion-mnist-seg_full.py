# Segmentation evidence (issue 21): the tiny UperNet of
# upernet_r18-tiny_tiny-ade20k_full.py on 2x2 mosaics of real Fashion-MNIST
# garments, labelled per pixel (class + 1 on the garment, 0 background, an
# 11th class; python tools/make_fashion_mnist_seg.py). mmseg's
# iteration-based recipe shape: IterBasedTrainLoop, the stock
# InfiniteSampler, warm-up then PolyLR. The full-data baseline; the InfoBatch
# arms of tools/benchmark/arms.py only add the hook.
_base_ = ['./upernet_r18-tiny_tiny-ade20k_full.py']

custom_imports = dict(
    imports=['mmib', 'mmib_kit', 'mmib_kit.datasets.fashion_mnist_seg'],
    allow_failed_imports=False)

num_classes = 11
data_preprocessor = dict(
    mean=[72.94, 72.94, 72.94],
    std=[90.02, 90.02, 90.02],
    bgr_to_rgb=False,
    size=(56, 56))
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))

dataset_type = 'FashionMNISTSegDataset'
data_root = 'data/fashion-mnist-seg'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=16,
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=50,
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# 20 passes over the 1,000 training mosaics (63 iterations of 16 each)
max_iters = 1260
optimizer = dict(lr=0.05)
optim_wrapper = dict(optimizer=optimizer)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=63),
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=63,
        end=max_iters,
        by_epoch=False),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(interval=max_iters))
