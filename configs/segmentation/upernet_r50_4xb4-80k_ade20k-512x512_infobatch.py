# mmseg's UperNet R50 ADE20K 80k config with InfoBatch (the paper's
# default: prune half of the below-mean-loss images each pass).
_base_ = ['mmseg::upernet/upernet_r50_4xb4-80k_ade20k-512x512.py']

custom_imports = dict(imports=['mmib'], allow_failed_imports=False)
custom_hooks = [dict(type='InfoBatchHook', ratio=0.5)]
