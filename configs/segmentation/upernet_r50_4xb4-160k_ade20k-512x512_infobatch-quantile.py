# mmseg's UperNet R50 ADE20K 160k config with InfoBatch's quantile bands,
# the setting of the authors' mmseg fork: below the 20th percentile keep 25%
# (weight 4), between the 20th and 85th keep 50% (weight 2), the top 15%
# always kept.
_base_ = ['mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py']

custom_imports = dict(imports=['mmib'], allow_failed_imports=False)
custom_hooks = [
    dict(
        type='InfoBatchHook',
        threshold='quantile',
        quantiles=[0.2, 0.85],
        ratio=[0.75, 0.5])
]
