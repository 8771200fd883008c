"""Adapters for mmseg losses without a ``reduction`` setting.

``OhemCrossEntropy`` (DDRNet, PIDNet): pixel cross-entropy averaged over
the *hard* pixels of the whole batch (those whose predicted probability of
the true class is below ``max(thres, the min_kept-th smallest)``). The
selection is the module's and is batch-wide; the adapter recomputes it from
the call's inputs, weights each selected pixel by its image's weight and
scores an image by the mean loss over its selected pixels (0 when it has
valid pixels but none hard: it added nothing to the loss; no score when it
has no valid pixel). The first call checks that, with weights 1, this is
the module's own output.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from .base import LOSS_ADAPTERS, RecomputingAdapter, StepRecord, lazy_class

_OHEM = lazy_class('mmseg.models.losses', 'OhemCrossEntropy')


@LOSS_ADAPTERS.register_module()
class OhemCrossEntropyAdapter(RecomputingAdapter):
    """mmseg's ``OhemCrossEntropy`` (see the module docstring)."""

    loss_class = staticmethod(_OHEM)
    recomputed = 'OHEM cross-entropy'

    def weighted_loss(self, step: StepRecord, arguments: dict,
                      output: torch.Tensor) -> Optional[torch.Tensor]:
        module = self.module
        score, target = arguments['score'], arguments['target']
        if not self.splits_batch(score, 'logits', step):
            return None
        losses, owners, valid = self.hard_pixels(score, target)
        if losses is None:
            return None  # the module returns a constant 0: nothing to weight
        if not self.agrees_once(module.loss_weight * losses.mean(), output):
            return None
        batch = score.shape[0]
        detached = losses.detach().float()
        total = torch.zeros(batch, device=detached.device).index_add_(
            0, owners, detached)
        count = torch.bincount(owners, minlength=batch)
        scores = module.loss_weight * total / count.clamp(min=1)
        step.add_scores(
            torch.where(valid.reshape(batch, -1).any(1), scores,
                        torch.full_like(scores, float('nan'))))
        weights = step.weights.to(losses.device, losses.dtype)[owners]
        # the module's own order of the hard pixels: with weights 1 the
        # loss is the module's to the last bit
        return step.mark_weighted(module.loss_weight *
                                  (losses * weights).mean())

    def hard_pixels(self, score: torch.Tensor, target: torch.Tensor
                    ) -> Tuple[Optional[torch.Tensor], torch.Tensor,
                               torch.Tensor]:
        """The module's hard pixels, in the module's own order.

        Returns:
            tuple: The hard pixels' losses (None when there is no valid
            pixel), the image each belongs to, and the valid (not ignored)
            pixels ``(N, H, W)``.
        """
        module = self.module
        class_weight = (None if module.class_weight is None else
                        score.new_tensor(module.class_weight))
        pixel_losses = F.cross_entropy(
            score,
            target,
            weight=class_weight,
            ignore_index=module.ignore_label,
            reduction='none').contiguous().view(-1)
        valid = target != module.ignore_label
        mask = valid.contiguous().view(-1)
        owners = torch.arange(
            score.shape[0], device=score.device).repeat_interleave(
                target[0].numel())[mask]
        with torch.no_grad():
            safe = torch.where(valid, target, torch.zeros_like(target))
            prob = F.softmax(score, dim=1).gather(1, safe.unsqueeze(1))
            prob, order = prob.contiguous().view(-1)[mask].contiguous().sort()
        if prob.numel() == 0:
            return None, owners, valid
        threshold = max(prob[min(module.min_kept, prob.numel() - 1)],
                        module.thresh)
        hard = prob < threshold
        return pixel_losses[mask][order][hard], owners[order][hard], valid
