# The tiny SimMIM baseline plus InfoBatch: the one line a user adds.
_base_ = ['./simmim_swin-tiny_photo-tiles_full.py']

custom_hooks = [dict(type='InfoBatchHook', ratio=0.5)]
