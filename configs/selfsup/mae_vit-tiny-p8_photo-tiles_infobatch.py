# The tiny MAE baseline plus InfoBatch: the one line a user adds.
_base_ = ['./mae_vit-tiny-p8_photo-tiles_full.py']

custom_hooks = [dict(type='InfoBatchHook', ratio=0.5)]
