# SimMIM with a tiny Swin (16 dims, 4 stages) pre-trained on the 520 32x32
# photo tiles: mmpretrain's SimMIM (SimMIMSwinTransformer,
# SimMIMLinearDecoder, SimMIMHead with PixelReconstructionLoss over masked
# pixels), small enough for a CPU. The full-data baseline.
_base_ = ['./mae_vit-tiny-p8_photo-tiles_full.py']

model = dict(
    _delete_=True,
    type='SimMIM',
    backbone=dict(
        type='SimMIMSwinTransformer',
        arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2]),
        img_size=32,
        stage_cfgs=dict(block_cfgs=dict(window_size=2, pad_small_map=True))),
    neck=dict(type='SimMIMLinearDecoder', in_channels=16 * 2**3,
              encoder_stride=32),
    head=dict(
        type='SimMIMHead',
        patch_size=4,
        loss=dict(type='PixelReconstructionLoss', criterion='L1', channel=3)))
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(
            type='RandomResizedCrop',
            scale=32,
            crop_ratio_range=(0.67, 1.0),
            backend='pillow',
            interpolation='bicubic'),
        dict(type='RandomFlip', prob=0.5),
        dict(
            type='SimMIMMaskGenerator',
            input_size=32,
            mask_patch_size=8,
            model_patch_size=4,
            mask_ratio=0.6),
        # SimMIM.loss stacks the masks as tensors; the generator makes numpy
        dict(type='ToTensor', keys=['mask']),
        dict(type='PackInputs', algorithm_keys=['mask'])
    ]))
