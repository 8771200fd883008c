# The demo baseline plus InfoBatch: the one line a user adds.
_base_ = ['./resnet18-tiny_digits_full.py']

custom_hooks = [dict(type='InfoBatchHook', ratio=0.5)]
