"""Stock mmpretrain recipes with the InfoBatch line added, shrunk for CPU.

Each test loads a config shipped inside the installed mmpretrain package
(found through the package, ``.mim/configs``), keeps its model family, loss,
batch augments, optimizer and schedule, and shrinks what a CPU cannot run:
tiny widths, 32x32 digits instead of ImageNet, SyncBN to BN, a few epochs.
Each runs through the Runner twice: ``ratio=0`` gives the plain config's
per-iteration losses, ``ratio=0.5`` prunes and saves.
"""

import torch
from conftest import EPOCHS, get_hook, run, shrink

def _losses(runner):
    return torch.tensor(
        [r['loss'] for r in get_hook(runner, 'RecordingHook').records])


def check_stock(relpath: str, model: dict, tmp_path) -> None:
    plain = run(shrink(relpath, str(tmp_path / 'plain'), model))
    ratio0 = run(shrink(relpath, str(tmp_path / 'r0'), model,
                        dict(ratio=0.0)))
    torch.testing.assert_close(_losses(ratio0), _losses(plain), rtol=1e-6,
                               atol=1e-6)
    pruned = run(shrink(relpath, str(tmp_path / 'r5'), model,
                        dict(ratio=0.5, delta=1.0)))
    assert get_hook(pruned, 'InfoBatchHook').savings()['saved_samples'] > 0


TINY_VIT = dict(
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=32, num_layers=2, num_heads=2,
                  feedforward_channels=64),
        img_size=32, patch_size=8, in_channels=1),
    head=dict(num_classes=10, in_channels=32))


def test_deit_tiny_label_smooth_mixup_cutmix(tmp_path):
    """LabelSmoothLoss (it crashed before) with Mixup/CutMix targets."""
    check_stock('deit/deit-tiny_4xb256_in1k.py', TINY_VIT, tmp_path)


def test_resnet50_rsb_a3_bce_mixup_cutmix(tmp_path):
    """CrossEntropyLoss(use_sigmoid=True), Mixup+CutMix, SyncBN -> BN."""
    check_stock(
        'resnet/resnet50_8xb256-rsb-a3-100e_in1k.py',
        dict(backbone=dict(depth=18, in_channels=1, stem_channels=8,
                           base_channels=8, drop_path_rate=0.0),
             head=dict(num_classes=10, in_channels=64)), tmp_path)


def test_vit_base_p16_label_smooth(tmp_path):
    check_stock('vision_transformer/vit-base-p16_64xb64_in1k.py', TINY_VIT,
                tmp_path)


def test_swin_tiny_label_smooth(tmp_path):
    check_stock(
        'swin_transformer/swin-tiny_16xb64_in1k.py',
        dict(backbone=dict(
            arch=dict(_delete_=True, embed_dims=16, depths=[2, 2],
                      num_heads=[1, 2]),
            img_size=32, patch_size=4, window_size=4, in_channels=1,
            drop_path_rate=0.0, out_indices=(1, )),
             head=dict(num_classes=10, in_channels=32)), tmp_path)


def test_convnext_tiny_label_smooth_with_its_ema_hook(tmp_path):
    check_stock(
        'convnext/convnext-tiny_32xb128_in1k.py',
        dict(backbone=dict(
            arch=dict(_delete_=True, depths=[1, 1], channels=[16, 32]),
            in_channels=1, drop_path_rate=0.0, out_indices=(1, )),
             head=dict(num_classes=10, in_channels=32)), tmp_path)


def test_resnet50_rsb_a2_repeat_aug_sampler(tmp_path):
    """RepeatAugSampler (3 repeats): at ratio=0 exactly the stock indices
    and losses; pruned, each kept sample is trained as often as the stock
    sampler repeats it and its repeats give one score."""
    model = dict(backbone=dict(depth=18, in_channels=1, stem_channels=8,
                               base_channels=8, drop_path_rate=0.0),
                 head=dict(num_classes=10, in_channels=64))
    relpath = 'resnet/resnet50_8xb256-rsb-a2-300e_in1k.py'
    assert shrink(relpath, str(tmp_path), model).train_dataloader.sampler[
        'type'] == 'RepeatAugSampler'
    check_stock(relpath, model, tmp_path)
    pruned = run(shrink(relpath, str(tmp_path / 'again'), model,
                        dict(ratio=0.5, delta=1.0)))
    hook = get_hook(pruned, 'InfoBatchHook')
    assert hook.training.driver.sampler.num_repeats == 3
    records = get_hook(pruned, 'RecordingHook').records
    last_pass = [i for r in records if r['epoch'] == EPOCHS - 1
                 for i in r['indices']]
    kept = set(hook.training.run.plan.kept_indices.tolist())
    assert set(last_pass) <= kept
    counts = torch.bincount(torch.tensor(last_pass))
    assert int(counts.max()) == 3  # each kept sample up to 3 times
