# The paper's regime on real data (issue 29): the whole 60,000-image
# Fashion-MNIST training set, many passes, tested on all 10,000 test images.
# The same pipeline and schedule shape as smallcnn_fashion-mnist-4k_full.py
# (SGD, one warm-up epoch, cosine decay); tuned on the full run only, before
# any pruned run (docs/en/benchmarks.md, "The whole training set").
_base_ = ['./smallcnn_fashion-mnist-4k_full.py']

num_train = 60000
max_epochs = 20

train_dataloader = dict(batch_size=128, dataset=dict(indices=None))
optim_wrapper = dict(optimizer=dict(lr=0.1))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        eta_min=1e-4,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs))
