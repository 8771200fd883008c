# MAE with a tiny ViT (2 layers, 64 dims, 8x8 patches) pre-trained on 520
# 32x32 tiles of scikit-learn's two bundled photographs: mmpretrain's MAE
# (MAEViT, MAEPretrainDecoder, MAEPretrainHead with PixelReconstructionLoss)
# and its schedule shape (per-iteration warmup, cosine decay), small enough
# for a CPU. The full-data baseline; the InfoBatch twin adds the hook.
_base_ = ['../_base_/default_runtime_cpu.py']

default_scope = 'mmpretrain'
# mmib (the product) and mmib_kit (this project's demo data sets and models)
custom_imports = dict(imports=['mmib', 'mmib_kit'], allow_failed_imports=False)

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
model = dict(
    type='MAE',
    backbone=dict(
        type='MAEViT',
        arch=dict(
            embed_dims=64, num_layers=2, num_heads=4,
            feedforward_channels=128),
        img_size=32,
        patch_size=8,
        mask_ratio=0.75),
    neck=dict(
        type='MAEPretrainDecoder',
        num_patches=16,
        patch_size=8,
        in_chans=3,
        embed_dim=64,
        decoder_embed_dim=32,
        decoder_depth=1,
        decoder_num_heads=4,
        mlp_ratio=4.),
    head=dict(
        type='MAEPretrainHead',
        norm_pix=True,
        patch_size=8,
        loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,  # also under mmpretrain/mmseg tools/train.py
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='PhotoTilesDataset',
        tile=32,
        pipeline=[
            dict(
                type='RandomResizedCrop',
                scale=32,
                crop_ratio_range=(0.5, 1.0),
                backend='pillow',
                interpolation='bicubic'),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackInputs')
        ]))

max_epochs = 20
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=dict(
        custom_keys={
            'ln': dict(decay_mult=0.0),
            'bias': dict(decay_mult=0.0),
            'pos_embed': dict(decay_mult=0.),
            'mask_token': dict(decay_mult=0.),
            'cls_token': dict(decay_mult=0.)
        }))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=True,
        begin=0,
        end=2,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 2,
        eta_min=1e-5,
        by_epoch=True,
        begin=2,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs))
randomness = dict(seed=0, diff_rank_seed=True)
