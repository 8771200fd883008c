# ResNet-50 on ImageNet-1k (mmpretrain's config, 100 epochs, 8 GPUs x 32)
# with InfoBatch.
_base_ = ['mmpretrain::resnet/resnet50_8xb32_in1k.py']

custom_imports = dict(imports=['mmib'], allow_failed_imports=False)
custom_hooks = [dict(type='InfoBatchHook', ratio=0.5, delta=0.875)]
