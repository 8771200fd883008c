"""One test per loss adapter, on the real OpenMMLab loss modules, and the
recorder's per-sample losses from them (plain tensors, no Runner).

For weights ``w``: the loss the adapter returns equals the module's own
loss of the ``w``-weighted element-wise loss (the module's ``weight``
argument where it has one, else computed here), and each sample's score
equals the module's own loss of that sample alone (or the per-sample
reduction computed here).
"""
from unittest.mock import patch

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import mmib  # noqa: F401
from mmib.engine import (LOSS_ADAPTERS, LossAdapter, PerSampleLossRecorder,
                         find_loss_modules)
from mmib.engine.loss_adapters import (CosineSimilarityAdapter,
                                       LovaszAdapter,
                                       OhemCrossEntropyAdapter,
                                       ReductionAdapter,
                                       SimCLRContrastiveAdapter)

WEIGHTS = torch.tensor([2.0, 1.0, 0.5, 1.0])


class Holder(nn.Module):
    """A model whose only module is the loss (called as heads call it)."""

    def __init__(self, loss: nn.Module) -> None:
        super().__init__()
        self.loss_module = loss

    def forward(self, *args, **kwargs):
        return self.loss_module(*args, **kwargs)


def record(model: nn.Module, weights: torch.Tensor, *args, **kwargs):
    recorder = PerSampleLossRecorder(model)
    recorder.start_step(weights)
    loss = model(*args, **kwargs)
    scores = recorder.finish_step()
    recorder.remove()
    return recorder, loss, scores


def classification_batch(n=4, classes=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, classes, generator=g, requires_grad=True)
    label = torch.randint(0, classes, (n, ), generator=g)
    return logits, label


def mmpretrain_losses():
    from mmpretrain.models.losses import (AsymmetricLoss, CrossEntropyLoss,
                                          FocalLoss)
    logits, label = classification_batch()
    soft = torch.softmax(torch.randn(4, 5), 1)  # Mixup/CutMix targets
    one_hot = F.one_hot(label, 5).float()
    return [
        ('ce', CrossEntropyLoss(loss_weight=0.7), logits, label),
        ('ce-soft', CrossEntropyLoss(use_soft=True), logits, soft),
        ('bce', CrossEntropyLoss(use_sigmoid=True), logits, one_hot),
        # LabelSmoothLoss (all modes, index/soft/multi-label targets, the
        # head's avg_factor): the recorder tests below
        ('focal', FocalLoss(gamma=2.0, alpha=0.25), logits, one_hot),
        ('asymmetric', AsymmetricLoss(gamma_pos=0.0, gamma_neg=4.0), logits,
         one_hot),
    ]


@pytest.mark.parametrize('case', mmpretrain_losses(), ids=lambda c: c[0])
def test_mmpretrain_losses_with_a_weight_argument(case):
    _, loss, logits, label = case
    model = Holder(loss)
    recorder, weighted, scores = record(model, WEIGHTS, logits, label)
    assert type(recorder.adapters[0]) is ReductionAdapter
    assert not recorder.unsplittable
    own_weighted = loss(logits, label, weight=WEIGHTS)  # its own reduction
    torch.testing.assert_close(weighted, own_weighted, rtol=1e-5, atol=1e-6)
    alone = torch.stack(
        [loss(logits[i:i + 1], label[i:i + 1]) for i in range(4)])
    torch.testing.assert_close(scores, alone.detach(), rtol=1e-5, atol=1e-6)
    # weights 1: exactly the module's own loss
    _, unweighted, _ = record(model, torch.ones(4), logits, label)
    torch.testing.assert_close(unweighted, loss(logits, label))


def seg_batch(n=4, classes=4, size=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, classes, size, size, generator=g,
                         requires_grad=True)
    label = torch.randint(0, classes, (n, size, size), generator=g)
    label[0, :2] = 255
    return logits, label


@pytest.mark.parametrize('name', ['dice', 'lovasz', 'focal'])
def test_mmseg_losses_with_a_weight_argument(name):
    from mmseg.models.losses import DiceLoss, FocalLoss, LovaszLoss
    logits, label = seg_batch()
    if name == 'dice':
        loss = DiceLoss(loss_weight=0.5)
    elif name == 'lovasz':
        loss = LovaszLoss(loss_type='multi_class', per_image=True)
    else:  # mmseg's CPU focal loss takes one-hot targets of pred's shape
        loss = FocalLoss(use_sigmoid=True)
        label = F.one_hot(label.clamp(max=3), 4).permute(0, 3, 1, 2).float()
    model = Holder(loss)
    recorder, weighted, scores = record(model, WEIGHTS, logits, label)
    assert not recorder.unsplittable
    expected_type = LovaszAdapter if name == 'lovasz' else ReductionAdapter
    assert type(recorder.adapters[0]) is expected_type
    alone = torch.stack(
        [loss(logits[i:i + 1], label[i:i + 1]) for i in range(4)])
    torch.testing.assert_close(scores, alone.detach(), rtol=1e-5, atol=1e-6)
    if name == 'lovasz':  # mmseg's per-image Lovasz ignores `weight`
        own_weighted = (alone * WEIGHTS).mean()
    else:
        own_weighted = loss(
            logits, label,
            weight=(WEIGHTS.repeat_interleave(36)  # per pixel, flattened
                    if name == 'focal' else WEIGHTS))
    torch.testing.assert_close(weighted, own_weighted, rtol=1e-5, atol=1e-6)


def test_lovasz_batch_mode_is_named_and_weighted_as_a_whole():
    """per_image=False has no per-image part: named, weighted by the
    batch's mean weight, its value every sample's score."""
    from mmseg.models.losses import LovaszLoss
    loss = LovaszLoss(loss_type='multi_class', per_image=False,
                      reduction='none')
    logits, label = seg_batch()
    recorder, value, scores = record(Holder(loss), WEIGHTS, logits, label)
    own = loss(logits, label)
    assert 'per_image=False' in recorder.unsplittable['loss_module']
    assert 'per_image=True' in recorder.unsplittable['loss_module']
    torch.testing.assert_close(value, own * WEIGHTS.mean())
    torch.testing.assert_close(scores, own.detach().expand(4))


def test_ohem_pixel_sampler_weight_selects_the_scored_pixels():
    from mmseg.models.losses import CrossEntropyLoss
    logits, label = seg_batch()
    seg_weight = (torch.rand(label.shape,
                             generator=torch.Generator().manual_seed(1)) >
                  0.5).float()
    seg_weight[3] = 0  # an image without a selected pixel
    loss = CrossEntropyLoss()
    model = Holder(loss)
    recorder, weighted, scores = record(
        model, WEIGHTS, logits, label, weight=seg_weight, ignore_index=255)
    own = loss(logits, label, weight=seg_weight *
               WEIGHTS.reshape(-1, 1, 1), ignore_index=255)
    torch.testing.assert_close(weighted, own, rtol=1e-5, atol=1e-6)
    pixel = F.cross_entropy(logits, label, reduction='none',
                            ignore_index=255).detach()
    chosen = (seg_weight > 0) & (label != 255)
    for i in range(3):
        torch.testing.assert_close(scores[i], pixel[i][chosen[i]].mean())
    assert torch.isnan(scores[3])  # nothing selected: no score


def ohem_reference(logits, label, weights, thres, min_kept, loss_weight):
    """OHEM cross-entropy written out: hard pixels of the whole batch."""
    pixel = F.cross_entropy(logits, label, ignore_index=255,
                            reduction='none')
    valid = label != 255
    prob = F.softmax(logits, 1).gather(
        1, label.clamp(max=logits.shape[1] - 1).unsqueeze(1)).squeeze(1)
    ordered = prob[valid].sort().values
    threshold = max(float(ordered[min(min_kept, ordered.numel() - 1)]),
                    thres)
    hard = valid & (prob < threshold)
    weighted = pixel * weights.reshape(-1, 1, 1)
    total = loss_weight * weighted[hard].sum() / hard.sum()
    per_image = torch.stack([
        pixel[i][hard[i]].mean() if hard[i].any() else pixel.new_zeros(())
        for i in range(len(label))
    ]) * loss_weight
    return total, per_image.detach()


@pytest.mark.parametrize('thres,min_kept', [(0.7, 10), (0.05, 3)])
def test_ohem_cross_entropy(thres, min_kept):
    from mmseg.models.losses import OhemCrossEntropy
    loss = OhemCrossEntropy(thres=thres, min_kept=min_kept, loss_weight=0.8)
    logits, label = seg_batch()
    recorder, weighted, scores = record(Holder(loss), WEIGHTS, logits, label)
    assert type(recorder.adapters[0]) is OhemCrossEntropyAdapter
    assert not recorder.unsplittable
    total, per_image = ohem_reference(logits, label, WEIGHTS, thres,
                                      min_kept, 0.8)
    torch.testing.assert_close(weighted, total)
    torch.testing.assert_close(scores, per_image)
    _, unweighted, _ = record(Holder(loss), torch.ones(4), logits, label)
    torch.testing.assert_close(unweighted, loss(logits, label))


@pytest.mark.parametrize('masked', [False, True])
def test_cosine_similarity(masked):
    from mmpretrain.models.losses import CosineSimilarityLoss
    loss = CosineSimilarityLoss(shift_factor=2.0, scale_factor=2.0)
    g = torch.Generator().manual_seed(0)
    shape = (4, 5, 8) if masked else (4, 8)
    pred = torch.randn(shape, generator=g, requires_grad=True)
    target = torch.randn(shape, generator=g)
    mask = (torch.rand(4, 5, generator=g) > 0.4).float() if masked else None
    if masked:
        mask[0, 0] = 1
    recorder, weighted, scores = record(Holder(loss), WEIGHTS, pred, target,
                                        mask)
    assert type(recorder.adapters[0]) is CosineSimilarityAdapter
    element = 2.0 - 2.0 * F.cosine_similarity(pred, target, dim=-1)
    w = WEIGHTS.reshape((-1, ) + (1, ) * (element.ndim - 1))
    if masked:
        expected = (element * w * mask).sum() / mask.sum()
        per_sample = (element * mask).sum(1) / mask.sum(1)
    else:
        expected = (element * w).mean()
        per_sample = element
    torch.testing.assert_close(weighted, expected)
    torch.testing.assert_close(scores, per_sample.detach())
    _, unweighted, _ = record(Holder(loss), torch.ones(4), pred, target, mask)
    torch.testing.assert_close(unweighted, loss(pred, target, mask))


TINY_SIMCLR = dict(
    type='SimCLR',
    backbone=dict(type='ResNet', depth=18, base_channels=4, out_indices=[3]),
    neck=dict(type='NonLinearNeck', in_channels=32, hid_channels=16,
              out_channels=8, num_layers=2, with_avg_pool=True),
    head=dict(type='ContrastiveHead',
              loss=dict(type='mmpretrain.CrossEntropyLoss'),
              temperature=0.1))


def test_simclr_rows_map_to_images():
    from mmpretrain.registry import MODELS
    model = MODELS.build(TINY_SIMCLR)
    recorder = PerSampleLossRecorder(model)
    assert [type(a) for a in recorder.adapters] == [SimCLRContrastiveAdapter]
    head = model.head
    g = torch.Generator().manual_seed(0)
    pos = torch.randn(8, 1, generator=g, requires_grad=True)  # 2N rows
    neg = torch.randn(8, 6, generator=g)
    recorder.start_step(WEIGHTS)
    weighted = head.loss(pos, neg)
    scores = recorder.finish_step()
    logits = torch.cat((pos, neg), 1) / 0.1
    rows = F.cross_entropy(logits, torch.zeros(8, dtype=torch.long),
                           reduction='none')
    torch.testing.assert_close(
        weighted, (rows * WEIGHTS.repeat_interleave(2)).mean())
    torch.testing.assert_close(scores, rows.detach().reshape(4, 2).mean(1))


def test_generic_fallback_is_verified_against_the_modules_own_reduction():

    class Switchable(nn.Module):
        """Third-party loss: only a ``reduction`` attribute (no override)."""

        def __init__(self):
            super().__init__()
            self.reduction = 'mean'

        def forward(self, pred, target):
            loss = (pred - target)**2
            return loss.mean() if self.reduction == 'mean' else loss

    class Inconsistent(Switchable):
        """Its 'none' output does not reduce to its own loss."""

        def forward(self, pred, target):
            loss = (pred - target)**2
            return loss.max() if self.reduction == 'mean' else loss

    pred = torch.randn(4, 3, requires_grad=True)
    target = torch.randn(4, 3)
    recorder, weighted, scores = record(Holder(Switchable()), WEIGHTS, pred,
                                        target)
    square = (pred - target)**2
    torch.testing.assert_close(weighted, (square * WEIGHTS[:, None]).mean())
    torch.testing.assert_close(scores, square.detach().mean(1))

    recorder, value, scores = record(Holder(Inconsistent()), WEIGHTS, pred,
                                     target)
    assert 'different loss' in recorder.unsplittable['loss_module']
    # its own loss, weighted as a whole
    torch.testing.assert_close(value, square.max() * WEIGHTS.mean())
    torch.testing.assert_close(scores, square.detach().max().expand(4))
    assert value.requires_grad


def test_a_registered_adapter_takes_precedence_and_is_removable():

    class Triple(nn.Module):

        def forward(self, x):
            return 3 * x.mean()

    @LOSS_ADAPTERS.register_module(force=True)
    class TripleAdapter(LossAdapter):
        priority = 30

        @classmethod
        def matches(cls, module, name, model):
            return isinstance(module, Triple)

        def attach(self):

            def hook(module, args, output):
                step = self.step
                if step is None:
                    return None
                per_sample = 3 * args[0].mean(1)
                step.add_scores(per_sample)
                return step.mark_weighted((per_sample * step.weights).mean())

            return [self.module.register_forward_hook(hook)]

    try:
        x = torch.randn(4, 2)
        recorder, weighted, scores = record(Holder(Triple()), WEIGHTS, x)
        assert type(recorder.adapters[0]) is TripleAdapter
        torch.testing.assert_close(scores, 3 * x.mean(1))
        torch.testing.assert_close(weighted, (3 * x.mean(1) * WEIGHTS).mean())
    finally:
        LOSS_ADAPTERS.module_dict.pop('TripleAdapter')


def _simclr_rank(rank: int, init_file: str, queue) -> None:
    import torch.distributed as dist
    from mmpretrain.registry import MODELS
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=2)
    try:
        model = MODELS.build(TINY_SIMCLR)
        recorder = PerSampleLossRecorder(model)
        g = torch.Generator().manual_seed(0)  # all ranks: the gathered rows
        pos = torch.randn(8, 1, generator=g)  # 2 ranks x 2 images x 2 views
        neg = torch.randn(8, 6, generator=g)
        recorder.start_step(WEIGHTS[2 * rank:2 * rank + 2])  # own images
        weighted = model.head.loss(pos, neg)
        queue.put((rank, float(weighted), recorder.finish_step().tolist()))
    finally:
        dist.destroy_process_group()


def test_simclr_rows_of_all_ranks_under_ddp(tmp_path):
    """Two gloo processes: every rank weights all gathered rows with their
    images' weights (gathered) and scores only its own images."""
    import torch.multiprocessing as mp
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    init_file = str(tmp_path / 'init')
    procs = [
        ctx.Process(target=_simclr_rank, args=(r, init_file, queue))
        for r in range(2)
    ]
    for p in procs:
        p.start()
    results = dict((r, (loss, scores))
                   for r, loss, scores in (queue.get(timeout=120)
                                           for _ in procs))
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    g = torch.Generator().manual_seed(0)
    pos, neg = torch.randn(8, 1, generator=g), torch.randn(8, 6, generator=g)
    rows = F.cross_entropy(torch.cat((pos, neg), 1) / 0.1,
                           torch.zeros(8, dtype=torch.long), reduction='none')
    expected = float((rows * WEIGHTS.repeat_interleave(2)).mean())
    per_image = rows.reshape(4, 2).mean(1)
    for rank in range(2):
        loss, scores = results[rank]
        assert loss == pytest.approx(expected, rel=1e-5)
        torch.testing.assert_close(torch.tensor(scores),
                                   per_image[2 * rank:2 * rank + 2])


def test_the_first_call_check_leaves_a_counting_loss_unchanged():
    """mmpretrain's SeesawLoss accumulates class counts in a buffer on
    every call: the check's extra call must not count twice."""
    from mmpretrain.models.losses import SeesawLoss
    logits, label = classification_batch(classes=5)
    plain, hooked = SeesawLoss(num_classes=5), SeesawLoss(num_classes=5)
    own = plain(logits, label)
    recorder, weighted, scores = record(Holder(hooked), torch.ones(4), logits,
                                        label)
    assert not recorder.unsplittable
    torch.testing.assert_close(hooked.cum_samples, plain.cum_samples)
    torch.testing.assert_close(weighted, own)


# -- the recorder on real loss modules (was test_per_sample_loss.py) ------
class Head(nn.Module):
    """Calls its loss module as an mmseg decode head does."""

    def __init__(self, loss):
        super().__init__()
        self.loss_decode = loss

    def forward(self, logits, label):
        return self.loss_decode(logits, label, weight=None, ignore_index=255)


def seg_batch_with_empty_sample(seed=0, n=3, classes=5, size=6):
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
    logits, label = seg_batch_with_empty_sample()
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


def test_unsplittable_output_is_weighted_whole_and_named_once():

    class AlwaysScalar(nn.Module):
        reduction = 'mean'

        def forward(self, x):
            return x.mean()

    model = nn.Module()
    model.scalar = AlwaysScalar()
    recorder = PerSampleLossRecorder(model)
    with patch('mmib.engine.loss_adapters.recorder.print_log') as warning:
        for weights in (torch.tensor([1.0, 3.0]), torch.tensor([2.0, 2.0])):
            recorder.start_step(weights)
            out = model.scalar(torch.full((2, 3), 0.5))
            assert out.ndim == 0 and float(out) == 0.5 * 2.0
            assert recorder.finish_step().tolist() == [0.5, 0.5]
    assert 'scalar' in recorder.unsplittable
    assert warning.call_count == 1


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


def test_a_zero_term_without_a_loss_module_is_not_missing():
    """mmdet's ``pred.sum() * 0`` (ATSS, GFL, then divided by the average
    factor) or sum of no rows (FCOS) for a level without positives reaches
    no loss module and is zero whatever the parameters: not a missing term;
    a term that reaches none is, also when it is zero at this step only."""
    from mmseg.models.losses import CrossEntropyLoss
    model = Holder(CrossEntropyLoss())
    logits, label = classification_batch()
    recorder = PerSampleLossRecorder(model)
    recorder.start_step(WEIGHTS)
    weighted = model(logits, label)
    zero_init = torch.zeros(3, requires_grad=True)
    terms = dict(loss_cls=[weighted, logits.sum() * 0 / torch.tensor(4.)],
                 loss_zero=logits.sum() * 0,
                 loss_empty=logits[:0].sum() / 4,
                 loss_l2=logits.pow(2).sum() * 1e-4,
                 loss_reg=zero_init.pow(2).sum())
    assert recorder.unweighted_terms(terms) == ['loss_l2', 'loss_reg']
    recorder.finish_step()
    recorder.remove()
