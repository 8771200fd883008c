# The demo's InfoBatch config, shortened, with the probe hook; CPU DDP needs
# device_ids=None (MMEngine passes [LOCAL_RANK], which torch rejects on CPU).
_base_ = ['../../configs/demo/resnet18-tiny_digits_infobatch.py']

custom_imports = dict(imports=['mmib', 'mmib_kit', 'ddp_probe'], allow_failed_imports=False)
custom_hooks = [
    dict(type='InfoBatchHook', ratio=0.5, delta=0.75),
    dict(type='InfoBatchProbeHook'),
]
train_dataloader = dict(batch_size=16, dataset=dict(indices=200))
train_cfg = dict(max_epochs=4, val_interval=100)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=3, eta_min=1e-4, by_epoch=True,
         begin=1, end=4, convert_to_iter_based=True),
]
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=5))
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False)
