# The baseline config plus the one InfoBatch line.
_base_ = ['./smallcnn_fashion-mnist-4k_full.py']

custom_hooks = [dict(type='InfoBatchHook', ratio=0.5)]
