# LeNet5 (no BatchNorm) on 32x32 digits with lr=0: every sample's loss is
# fixed, so runs with different process counts prune identically.
_base_ = ['./digits_probe.py']

model = dict(
    backbone=dict(_delete_=True, type='LeNet5'), head=dict(in_channels=120))
train_dataloader = dict(
    batch_size=8,
    dataset=dict(pipeline=[
        dict(type='Resize', scale=32),
        dict(type='PackInputs')
    ]))
optim_wrapper = dict(optimizer=dict(lr=0.0))
param_scheduler = []
