# The tiny UperNet baseline plus InfoBatch: the one line a user adds.
_base_ = ['./upernet_r18-tiny_tiny-ade20k_full.py']

custom_hooks = [dict(type='InfoBatchHook', ratio=0.5)]
