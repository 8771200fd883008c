"""Per-sample losses from real OpenMMLab loss modules (plain tensors)."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import mmib  # noqa: F401
from mmib.engine import PerSampleLossRecorder, find_loss_modules


class Head(nn.Module):
    """Calls its loss module as an mmseg decode head does."""

    def __init__(self, loss):
        super().__init__()
        self.loss_decode = loss

    def forward(self, logits, label):
        return self.loss_decode(logits, label, weight=None, ignore_index=255)


def seg_batch(seed=0, n=3, classes=5, size=6):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, classes, size, size, generator=g)
    label = torch.randint(0, classes, (n, size, size), generator=g)
    label[0, :2] = 255  # some ignored pixels
    label[2] = 255  # a sample without any valid pixel
    return logits, label


@pytest.mark.parametrize('avg_non_ignore', [False, True])
def test_mmseg_cross_entropy_scores_and_weights(avg_non_ignore):
    from mmseg.models.losses import CrossEntropyLoss

    loss = CrossEntropyLoss(loss_weight=0.4, avg_non_ignore=avg_non_ignore)
    head = Head(loss)
    logits, label = seg_batch()
    own = head(logits, label)  # mmseg's loss, nothing recorded

    recorder = PerSampleLossRecorder(head)
    recorder.start_step(torch.ones(3))
    unweighted = head(logits, label)
    scores = recorder.finish_step()
    torch.testing.assert_close(unweighted, own, rtol=1e-5, atol=1e-7)
    assert loss.reduction == 'mean'  # restored

    pixel = 0.4 * F.cross_entropy(logits, label, reduction='none',
                                  ignore_index=255)
    valid = label != 255
    for i in (0, 1):
        expected = pixel[i][valid[i]].mean()
        torch.testing.assert_close(scores[i], expected)
    assert torch.isnan(scores[2])  # no valid pixel: no score

    recorder.start_step(torch.tensor([2.0, 1.0, 1.0]))
    weighted = head(logits, label)
    recorder.finish_step()
    denom = valid.sum() if avg_non_ignore else pixel.numel()
    expected = (2 * pixel[0].sum() + pixel[1].sum() + pixel[2].sum()) / denom
    torch.testing.assert_close(weighted, expected, rtol=1e-5, atol=1e-7)


def test_mmpretrain_cross_entropy_with_avg_factor():
    from mmpretrain.models.losses import CrossEntropyLoss

    class ClsHead(nn.Module):

        def __init__(self):
            super().__init__()
            self.loss_module = CrossEntropyLoss(loss_weight=1.0)

        def forward(self, score, target):
            return self.loss_module(score, target, avg_factor=score.size(0))

    head = ClsHead()
    score, target = torch.randn(4, 3), torch.tensor([0, 2, 1, 1])
    own = head(score, target)
    recorder = PerSampleLossRecorder(head)
    recorder.start_step(torch.tensor([1.0, 2.0, 1.0, 2.0]))
    weighted = head(score, target)
    scores = recorder.finish_step()
    per_sample = F.cross_entropy(score, target, reduction='none')
    torch.testing.assert_close(scores, per_sample)
    torch.testing.assert_close(
        weighted, (per_sample * torch.tensor([1., 2., 1., 2.])).mean())
    assert own.ndim == 0


def test_nested_loss_modules_are_hooked_once():
    from mmpretrain.models.losses import LabelSmoothLoss

    model = nn.Module()
    model.loss = LabelSmoothLoss(label_smooth_val=0.1)
    assert [n for n, _, _ in find_loss_modules(model)] == ['loss']


def test_unsplittable_output_is_kept_and_named_once(caplog):

    class AlwaysScalar(nn.Module):
        reduction = 'mean'

        def forward(self, x):
            return x.mean()

    model = nn.Module()
    model.scalar = AlwaysScalar()
    recorder = PerSampleLossRecorder(model)
    recorder.start_step(torch.ones(2))
    out = model.scalar(torch.ones(2, 3))
    assert out.ndim == 0
    assert recorder.finish_step() is None
    assert 'scalar' in recorder._unsplittable


@pytest.mark.parametrize('channel', [None, 3])
def test_mae_pixel_reconstruction_loss_per_sample(channel):
    from mmpretrain.models.losses import PixelReconstructionLoss

    model = nn.Module()
    model.loss = PixelReconstructionLoss(criterion='L2', channel=channel)
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(3, 16, 12, generator=g)
    target = torch.randn(3, 16, 12, generator=g)
    mask = (torch.rand(3, 16, generator=g) < 0.75).float()
    own = model.loss(pred, target, mask)

    recorder = PerSampleLossRecorder(model)
    assert recorder.module_names == ['loss']
    recorder.start_step(torch.ones(3))
    same = model.loss(pred, target, mask)
    scores = recorder.finish_step()
    torch.testing.assert_close(same, own)
    per_patch = ((pred - target)**2).mean(-1)
    ch = channel or 1
    expected = (per_patch * mask).sum(1) / mask.sum(1) / ch
    torch.testing.assert_close(scores, expected)

    w = torch.tensor([2.0, 1.0, 0.5])
    recorder.start_step(w)
    weighted = model.loss(pred, target, mask)
    recorder.finish_step()
    torch.testing.assert_close(
        weighted, (per_patch * mask * w[:, None]).sum() / mask.sum() / ch)


def test_simmim_shaped_reconstruction_loss_per_sample():
    """SimMIM: pixel-level (B, 3, H, W) loss, (B, 1, H, W) mask, channel=3."""
    from mmpretrain.models.losses import PixelReconstructionLoss

    model = nn.Module()
    model.loss = PixelReconstructionLoss(criterion='L1', channel=3)
    g = torch.Generator().manual_seed(1)
    pred = torch.randn(2, 3, 8, 8, generator=g)
    target = torch.randn(2, 3, 8, 8, generator=g)
    mask = (torch.rand(2, 1, 8, 8, generator=g) < 0.6).float()
    own = model.loss(pred, target, mask)
    recorder = PerSampleLossRecorder(model)
    recorder.start_step(torch.tensor([1.0, 3.0]))
    weighted = model.loss(pred, target, mask)
    scores = recorder.finish_step()
    l1 = (pred - target).abs()
    expected = (l1 * mask).sum((1, 2, 3)) / mask.sum((1, 2, 3)) / 3
    torch.testing.assert_close(scores, expected)
    w = torch.tensor([1.0, 3.0]).reshape(2, 1, 1, 1)
    torch.testing.assert_close(weighted,
                               (l1 * w * mask).sum() / mask.sum() / 3)
    recorder.start_step(torch.ones(2))
    torch.testing.assert_close(model.loss(pred, target, mask), own)
    recorder.finish_step()


class NanMeanLoss(nn.Module):
    """A custom loss whose own reduction skips NaN elements."""

    def __init__(self, reduction='mean', skip_nan=True):
        super().__init__()
        self.reduction = reduction
        self.skip_nan = skip_nan

    def forward(self, pred, target):
        loss = (pred - target)**2
        if self.reduction == 'none':
            return loss
        if self.skip_nan:
            return loss.nanmean() if self.reduction == 'mean' else \
                loss.nansum()
        return loss.mean() if self.reduction == 'mean' else loss.sum()


class Regressor(nn.Module):

    def __init__(self, loss):
        super().__init__()
        self.loss = loss

    def forward(self, pred, target):
        return self.loss(pred, target)


@pytest.mark.parametrize('reduction', ['mean', 'sum'])
def test_nan_skipping_reduction_keeps_its_semantics(reduction):
    pred = torch.tensor([[1., 2., float('nan')], [0., 1., 1.],
                         [float('nan')] * 3])
    target = torch.zeros(3, 3)
    model = Regressor(NanMeanLoss(reduction))
    own = model(pred, target)
    recorder = PerSampleLossRecorder(model)
    recorder.start_step(torch.ones(3))
    torch.testing.assert_close(model(pred, target), own)  # nanmean kept
    scores = recorder.finish_step()
    torch.testing.assert_close(scores[:2], torch.tensor([2.5, 2 / 3]))
    assert torch.isnan(scores[2])  # nothing finite: no score
    recorder.start_step(torch.tensor([2.0, 1.0, 1.0]))
    weighted = model(pred, target)
    recorder.finish_step()
    total = 2 * 5.0 + 2.0
    expected = total / 5 if reduction == 'mean' else torch.tensor(total)
    torch.testing.assert_close(weighted, torch.as_tensor(expected))


def test_nan_propagating_reduction_stays_nan():
    pred = torch.tensor([[1., float('nan')], [0., 1.]])
    model = Regressor(NanMeanLoss('mean', skip_nan=False))
    recorder = PerSampleLossRecorder(model)
    recorder.start_step(torch.ones(2))
    assert torch.isnan(model(pred, torch.zeros(2, 2)))
    scores = recorder.finish_step()
    assert torch.isnan(scores[0]) and scores[1] == 0.5


class ClsHead(nn.Module):
    """Calls its loss module as mmpretrain's ClsHead does."""

    def __init__(self, loss):
        super().__init__()
        self.loss_module = loss

    def forward(self, score, target):
        return self.loss_module(score, target, avg_factor=score.size(0))


@pytest.mark.parametrize('mode,target_kind', [
    ('original', 'index'),
    ('classy_vision', 'index'),
    ('original', 'soft'),  # Mixup/CutMix targets
    ('multi_label', 'multi'),
])
def test_label_smooth_loss_runs_scores_and_weights(mode, target_kind):
    """LabelSmoothLoss reduces through an inner CrossEntropyLoss: the
    reduction reaches it as ``reduction_override`` (it used to crash)."""
    from mmpretrain.models.losses import LabelSmoothLoss

    g = torch.Generator().manual_seed(0)
    score = torch.randn(4, 5, generator=g)
    if target_kind == 'index':
        target = torch.tensor([0, 3, 1, 4])
    elif target_kind == 'soft':
        target = torch.softmax(torch.randn(4, 5, generator=g), dim=1)
    else:
        target = (torch.rand(4, 5, generator=g) > 0.5).long()
    loss = LabelSmoothLoss(label_smooth_val=0.1, num_classes=5, mode=mode,
                           loss_weight=0.7)
    head = ClsHead(loss)
    own = head(score, target)
    per_sample = loss(score, target, reduction_override='none')
    per_sample = per_sample.reshape(4, -1).mean(1)

    recorder = PerSampleLossRecorder(head)
    recorder.start_step(torch.ones(4))
    torch.testing.assert_close(head(score, target), own)
    torch.testing.assert_close(recorder.finish_step(), per_sample)
    assert loss.reduction == 'mean' and loss.ce.reduction == 'mean'

    weights = torch.tensor([2.0, 1.0, 0.0, 1.0])
    recorder.start_step(weights)
    weighted = head(score, target)
    recorder.finish_step()
    elementwise = loss(score, target, reduction_override='none')
    # the head's avg_factor (4 images): sum over every element / 4
    expected = (elementwise * weights.reshape(
        (-1, ) + (1, ) * (elementwise.ndim - 1))).sum() / 4
    torch.testing.assert_close(weighted, expected)
