# ResNet-18 on CIFAR-100 with InfoBatch. mmpretrain ships ResNet-18 only for
# CIFAR-10, so this takes its ResNet-50 CIFAR-100 recipe (data, schedule)
# with the ResNet-18 CIFAR model, as the paper's ResNet-18/CIFAR-100 runs do.
_base_ = ['mmpretrain::resnet/resnet50_8xb16_cifar100.py']

model = dict(
    backbone=dict(depth=18),
    head=dict(in_channels=512, num_classes=100))

custom_imports = dict(imports=['mmib'], allow_failed_imports=False)
custom_hooks = [dict(type='InfoBatchHook', ratio=0.5, delta=0.875)]
