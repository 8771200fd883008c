# The tiny MAE InfoBatch config, 6 epochs on 256 tiles, with the probe hook.
_base_ = ['../../configs/selfsup/mae_vit-tiny-p8_photo-tiles_infobatch.py']

custom_imports = dict(imports=['mmib', 'mmib_kit', 'ddp_probe'], allow_failed_imports=False)
custom_hooks = [
    dict(type='InfoBatchHook', ratio=0.5, delta=0.84),
    dict(type='InfoBatchProbeHook'),
]
train_dataloader = dict(dataset=dict(indices=256))
train_cfg = dict(max_epochs=6)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=5, eta_min=1e-5, by_epoch=True,
         begin=1, end=6, convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(interval=6))
