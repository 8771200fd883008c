"""Adapters for mmpretrain's self-supervised losses.

* ``PixelReconstructionLoss`` (MAE, SimMIM, ...): no ``reduction``; it
  computes the element-wise loss with an inner ``penalty`` module and
  averages it over the masked patches of the whole batch.
* ``CosineSimilarityLoss`` (BYOL, MILAN, EVA, ...): no ``reduction``; the
  mean over the batch (or the masked tokens) of
  ``shift - scale * cos(pred, target)``.
* SimCLR's contrastive loss: the ``CrossEntropyLoss`` of its head sees
  ``2N`` rows for ``N`` images (rows ``2i`` and ``2i+1`` are image ``i``'s
  two views; under DDP the rows of all processes, gathered).
"""
from typing import Callable, List, Optional, Tuple

import torch
from mmengine.dist import all_gather, get_rank, get_world_size
from torch import nn

from .base import (LOSS_ADAPTERS, LossAdapter, RecomputingAdapter,
                   StepRecord, broadcast_rows, is_instance, lazy_class,
                   per_sample_mean)
from .reduction import ReductionAdapter

_RECONSTRUCTION = lazy_class('mmpretrain.models.losses',
                             'PixelReconstructionLoss')
_COSINE = lazy_class('mmpretrain.models.losses', 'CosineSimilarityLoss')
_SIMCLR = lazy_class('mmpretrain.models', 'SimCLR')


@LOSS_ADAPTERS.register_module()
class PixelReconstructionAdapter(LossAdapter):
    """mmpretrain's ``PixelReconstructionLoss``.

    A pre-hook keeps the call's ``mask``; a forward hook on ``penalty``
    multiplies each sample's element-wise loss by its weight and scores
    the sample by its mean over its own masked patches; the module's own
    reduction then runs on the weighted values, so with all weights 1 the
    loss is exactly mmpretrain's.
    """

    priority = 20

    @classmethod
    def matches(cls, module: nn.Module, name: str, model: nn.Module) -> bool:
        return is_instance(module, _RECONSTRUCTION)

    def attach(self) -> List:
        self._mask = False
        return [
            self.module.register_forward_pre_hook(
                self._keep_mask, with_kwargs=True),
            self.module.penalty.register_forward_hook(self._weight_penalty)
        ]

    def _keep_mask(self, module, args, kwargs):
        if self.step is not None:
            self._mask = self.call_arguments(args, kwargs).get('mask')
        return None

    def _weight_penalty(self, penalty, args, output):
        mask, self._mask = self._mask, False
        step = self.step
        if step is None or mask is False:
            return None
        if output.ndim < 2 or output.shape[0] != step.batch_size:
            self.note_unsplittable(
                f'computes shape {tuple(output.shape)} whose first '
                f'dimension is not the batch ({step.batch_size})')
            return None
        step.add_scores(
            reconstruction_scores(output, mask, self.module.channel))
        return step.mark_weighted(output * step.weights_for(output))


def reconstruction_scores(output: torch.Tensor, mask: Optional[torch.Tensor],
                          channel: int) -> torch.Tensor:
    """``PixelReconstructionLoss``'s reduction, per sample.

    Mirrors mmpretrain: mean over the last dimension of 3-d losses (MAE's
    per-patch pixels), then ``sum(loss * mask) / sum(mask) / channel``
    (the mask broadcasts, e.g. SimMIM's ``(B, 1, H, W)`` over channels).
    """
    loss = output.detach().float()
    if loss.ndim == 3:
        loss = loss.mean(-1)
    batch = loss.shape[0]
    if mask is None:
        return loss.reshape(batch, -1).mean(1)
    mask = mask.detach().to(loss.dtype)
    total = (loss * mask).reshape(batch, -1).sum(1)
    count = mask.reshape(batch, -1).sum(1)
    return torch.where(count > 0, total / count.clamp(min=1e-12),
                       torch.full_like(total, float('nan'))) / channel


@LOSS_ADAPTERS.register_module()
class CosineSimilarityAdapter(RecomputingAdapter):
    """mmpretrain's ``CosineSimilarityLoss``.

    The forward hook computes the element-wise loss
    ``shift - scale * cos(pred, target)`` (one value per sample, or per
    token with a ``mask``) from the call's inputs, scores each sample by
    its mean over its (masked) tokens and returns the module's reduction
    of the weighted values. The first call checks that, with weights 1,
    this is the module's own output.
    """

    loss_class = staticmethod(_COSINE)
    recomputed = 'cosine-similarity loss'

    def weighted_loss(self, step: StepRecord, arguments: dict,
                      output: torch.Tensor) -> Optional[torch.Tensor]:
        module = self.module
        pred, target = arguments['pred'], arguments['target']
        mask = arguments.get('mask')
        if pred.ndim < 2 or not self.splits_batch(pred, 'features', step):
            return None
        cosine = (nn.functional.normalize(pred, dim=-1) *
                  nn.functional.normalize(target, dim=-1)).sum(dim=-1)
        loss = module.shift_factor - module.scale_factor * cosine
        if not self.agrees_once(self._reduce(loss, mask), output):
            return None
        valid = None if mask is None else mask.detach() > 0
        step.add_scores(per_sample_mean(loss, valid))
        return step.mark_weighted(
            self._reduce(loss * step.weights_for(loss), mask))

    @staticmethod
    def _reduce(loss: torch.Tensor,
                mask: Optional[torch.Tensor]) -> torch.Tensor:
        if mask is None:
            return loss.mean()
        return (loss * mask).sum() / mask.sum()


@LOSS_ADAPTERS.register_module()
class SimCLRContrastiveAdapter(ReductionAdapter):
    """The cross-entropy of SimCLR's ``ContrastiveHead``: ``2N`` rows.

    Rows ``2i`` and ``2i+1`` are image ``i``'s two views; under DDP the
    rows are those of all processes in rank order (SimCLR gathers the
    features), so each process weights every row with its image's weight
    (the weights are gathered too) and scores its own images by the mean
    of their two rows.
    """

    priority = 10
    views = 2

    @classmethod
    def matches(cls, module: nn.Module, name: str, model: nn.Module) -> bool:
        return (is_instance(model, _SIMCLR) and name == 'head.loss_module'
                and ReductionAdapter.matches(module, name, model))

    def rows(self, step: StepRecord, output: torch.Tensor
             ) -> Optional[Tuple[torch.Tensor, Callable]]:
        world, rank = get_world_size(), get_rank()
        batch = step.batch_size
        if output.shape[0] != self.views * batch * world:
            return None
        weights = step.weights
        if world > 1:
            weights = torch.cat(all_gather(weights.to(output.device)))
        row_weights = broadcast_rows(weights.repeat_interleave(self.views),
                                     output)

        def to_samples(scores: torch.Tensor) -> torch.Tensor:
            own = scores.reshape(-1, self.views)[rank * batch:(rank + 1) *
                                                 batch]
            return own.mean(1)

        return row_weights, to_samples
