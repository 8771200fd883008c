# ResNet-50 on CIFAR-10 (mmpretrain's config, 200 epochs) with InfoBatch.
_base_ = ['mmpretrain::resnet/resnet50_8xb16_cifar10.py']

custom_imports = dict(imports=['mmib'], allow_failed_imports=False)
custom_hooks = [dict(type='InfoBatchHook', ratio=0.5, delta=0.875)]
