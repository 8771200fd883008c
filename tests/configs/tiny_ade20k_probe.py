# The tiny UperNet InfoBatch config with the probe hook (tests/ddp_probe.py);
# the tests set train/val data_root with --cfg-options.
_base_ = ['../../configs/segmentation/upernet_r18-tiny_tiny-ade20k_infobatch.py']

custom_imports = dict(imports=['mmib', 'mmib_kit', 'ddp_probe'], allow_failed_imports=False)
custom_hooks = [
    dict(type='InfoBatchHook', ratio=0.5),
    dict(type='InfoBatchProbeHook'),
]
