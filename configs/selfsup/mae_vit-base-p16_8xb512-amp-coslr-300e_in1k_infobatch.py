# mmpretrain's MAE ViT-B/16 300-epoch ImageNet pre-training with InfoBatch
# (default ratio 0.5, delta 0.875; the score of an image is its latest
# reconstruction loss over its masked patches).
_base_ = ['mmpretrain::mae/mae_vit-base-p16_8xb512-amp-coslr-300e_in1k.py']

custom_imports = dict(imports=['mmib'], allow_failed_imports=False)
custom_hooks = [dict(type='InfoBatchHook', ratio=0.5)]
