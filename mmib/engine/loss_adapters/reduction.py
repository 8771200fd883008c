"""Adapters for losses with a ``reduction`` setting (OpenMMLab's protocol).

OpenMMLab loss modules (mmpretrain's and mmseg's ``CrossEntropyLoss``,
``LabelSmoothLoss``, ``FocalLoss``, ``AsymmetricLoss``, mmseg's
``DiceLoss``, ``LovaszLoss``, ...) reduce according to ``reduction``
(``'mean'``/``'sum'``, with an optional ``avg_factor``) and take a
``reduction_override`` in ``forward``. While a step is recorded the adapter
asks for ``reduction='none'``:

* through ``reduction_override`` when ``forward`` takes it: the override
  reaches every module the loss delegates to (``LabelSmoothLoss`` -> its
  inner ``CrossEntropyLoss``), where switching one attribute would not;
* else (third-party losses) by switching the ``reduction`` attribute.

The element-wise loss (first dimension = the batch) gives each sample's
mean over its valid elements as its score (pixels labelled
``ignore_index`` and, with an OHEM pixel sampler, pixels of ``weight`` 0
take no part), and the adapter returns the reduction the module would have
returned, every element multiplied by its sample's weight (mmseg's
``avg_non_ignore`` and NaN-skipping reductions kept).

The first recorded call of each module is checked: its own reduction
(computed once more, without gradient) must equal the reduction of the
element-wise loss; otherwise the module is named as not split per sample
and its own loss is used unweighted (the coverage check then stops
training unless the user accepts it).
"""
import logging
from typing import Callable, List, Optional, Tuple

import torch
from mmengine.logging import print_log
from torch import nn

from .base import (LOSS_ADAPTERS, LossAdapter, StepRecord, broadcast_rows,
                   is_instance, lazy_class, per_sample_mean, reduce_loss,
                   same_loss)

REDUCTIONS = ('mean', 'sum')

_LOVASZ = lazy_class('mmseg.models.losses', 'LovaszLoss')


@LOSS_ADAPTERS.register_module()
class ReductionAdapter(LossAdapter):
    """Any loss module with ``reduction`` ``'mean'``/``'sum'`` (the generic
    fallback; see the module docstring)."""

    priority = 90

    def __init__(self, name: str, module: nn.Module, recorder) -> None:
        super().__init__(name, module, recorder)
        # where forward takes reduction_override (None: it does not)
        self._override_at: Optional[int] = (
            self.positional_names.index('reduction_override')
            if 'reduction_override' in self.positional_names else None)
        self._verified = False
        # while a recorded call runs: its own reduction, and whether the
        # module's attribute was switched to 'none' for it
        self._reduction: Optional[str] = None
        self._switched = False
        self._buffers_before: Optional[list] = None
        self._nan_aware: Optional[bool] = None

    @classmethod
    def matches(cls, module: nn.Module, name: str, model: nn.Module) -> bool:
        return getattr(module, 'reduction', None) in REDUCTIONS

    def attach(self) -> List:
        return [
            self.module.register_forward_pre_hook(
                self._pre_hook, with_kwargs=True),
            self.module.register_forward_hook(
                self._post_hook, with_kwargs=True)
        ]

    def restore(self) -> None:
        if self._switched:
            self.module.reduction = self._reduction
        self._reduction, self._switched = None, False

    # -- hooks -------------------------------------------------------------
    def _pre_hook(self, module, args, kwargs):
        if self.step is None:
            return None
        if not self._verified:  # the check re-runs this call as it was
            self._buffers_before = [(b, b.detach().clone())
                                    for b in module.buffers()]
        at = self._override_at
        if at is not None:
            given = (args[at] if len(args) > at else
                     kwargs.get('reduction_override'))
            if given is not None:
                return None  # the caller chose a reduction
            self._reduction = module.reduction
            if len(args) > at:
                return args[:at] + ('none', ) + args[at + 1:], kwargs
            return args, dict(kwargs, reduction_override='none')
        if kwargs.get('reduction_override'):
            return None
        self._reduction, self._switched = module.reduction, True
        module.reduction = 'none'
        return None

    def _post_hook(self, module, args, kwargs, output):
        reduction = self._reduction  # the reduction the call would have had
        self.restore()
        if reduction is None:
            return None  # not recording, or the caller chose a reduction
        step = self.step
        arguments = self.call_arguments(args, kwargs)
        if not isinstance(output, torch.Tensor):
            self.note_unsplittable(
                f'returns a {type(output).__name__}, not a tensor')
            return self._own_loss(arguments)
        if output.ndim == 0:
            weight = arguments.get('weight')
            if isinstance(weight, torch.Tensor) and not bool(
                    (weight > 0).any()):
                # mmdet's losses return ``(pred * weight).sum()`` when no
                # element has weight (a level without positive anchors):
                # zero for every sample, whatever its weight
                step.add_scores(torch.zeros(step.batch_size))
                return step.mark_weighted(output)
            self.note_unsplittable(
                "returns a scalar even with reduction='none'")
            return self._own_loss(arguments)
        mapping = self.rows(step, output)
        if mapping is None:
            self.note_unsplittable(
                f'returns shape {tuple(output.shape)} whose first dimension '
                f'is not the batch ({step.batch_size})')
            return self._own_loss(arguments)
        row_weights, to_samples = mapping
        avg_factor = arguments.get('avg_factor')
        reduce_valid = ignore_mask(output, arguments)
        score_valid = self.score_mask(output, arguments, reduce_valid)
        scores = to_samples(per_sample_mean(output, score_valid))
        # a NaN element makes its sample's score NaN: only then look closer
        if (bool(torch.isnan(scores).any())
                and bool(torch.isnan(output.detach()).any())
                and self._skips_nan(arguments, output, reduction,
                                    avg_factor)):
            finite = ~torch.isnan(output.detach())
            reduce_valid = finite if reduce_valid is None else (
                reduce_valid & finite)
            score_valid = finite if score_valid is None else (
                score_valid & finite)
            output = torch.where(finite, output, torch.zeros_like(output))
            scores = to_samples(per_sample_mean(output, score_valid))
            if reduction == 'mean' and avg_factor is None:
                avg_factor = reduce_valid.sum().item()  # as nanmean counts
        if (reduction == 'mean' and avg_factor is None
                and reduce_valid is not None
                and getattr(module, 'avg_non_ignore', False)):
            avg_factor = reduce_valid.sum().item()  # as mmseg's cross_entropy
        if not self._verified:
            self._verified = True
            own = self._own_loss(arguments, grad=False)
            self._buffers_before = None
            if not same_loss(reduce_loss(output, reduction, avg_factor), own):
                self.note_unsplittable(
                    "gives, with reduction='none' reduced as OpenMMLab's "
                    'weight_reduce_loss does, a different loss than its own '
                    'reduction (register a loss adapter for it in '
                    'mmib.engine.LOSS_ADAPTERS)')
                return self._own_loss(arguments)
        step.add_scores(scores)
        weighted = output * row_weights.to(output.device, output.dtype)
        return step.mark_weighted(reduce_loss(weighted, reduction,
                                              avg_factor))

    # -- what subclasses may change ------------------------------------------
    def rows(self, step: StepRecord, output: torch.Tensor
             ) -> Optional[Tuple[torch.Tensor, Callable]]:
        """How the element-wise loss's rows map to the batch's samples.

        Rows that are the batch map one to one; other rows map through the
        counts a head set for this module
        (:attr:`StepRecord.rows_per_image`: e.g. each image's queries or
        matched masks, the rows image by image, each count possibly
        repeated a whole number of times, as points per mask): a row weighs
        its image's weight, and an image's score is the mean over its rows
        (0 for an image without rows: it added nothing to this loss).

        Returns:
            tuple or None: The weight of each row (broadcastable over
            ``output``) and a function from per-row to per-sample losses;
            None when the rows are not the batch.
        """
        counts = step.rows_per_image.pop(self.name, None)
        rows, batch = output.shape[0], step.batch_size
        if rows == batch and counts is None:
            return step.weights_for(output), lambda scores: scores
        total = 0 if counts is None else int(counts.sum())
        if counts is None or counts.numel() != batch or total == 0 or \
                rows % total:
            return None
        owners = torch.arange(batch).repeat_interleave(
            counts * (rows // total)).to(output.device)

        def to_samples(per_row: torch.Tensor) -> torch.Tensor:
            per_row = per_row.float()
            total = torch.zeros(batch, device=per_row.device).index_add_(
                0, owners, torch.nan_to_num(per_row))
            count = torch.bincount(owners, minlength=batch)
            return (total / count.clamp(min=1)).cpu()

        return (broadcast_rows(step.weights.to(output.device)[owners],
                               output), to_samples)

    def score_mask(self, output: torch.Tensor, arguments: dict,
                   valid: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
        """Elements that count in a sample's score: the valid ones, and
        with an elementwise ``weight`` (mmseg's OHEM pixel sampler's
        ``seg_weight``) only those it selects."""
        weight = arguments.get('weight')
        if (isinstance(weight, torch.Tensor) and weight.shape == output.shape
                and output.ndim > 1):
            selected = weight > 0
            return selected if valid is None else valid & selected
        return valid

    # -- the module's own loss -----------------------------------------------
    def _own_loss(self, arguments: dict, grad: bool = True) -> torch.Tensor:
        """The module's own reduction of this call (computed again).

        Without ``grad`` (a check), the module's buffers are put back
        afterwards: a loss that counts what it sees (mmpretrain's
        ``SeesawLoss`` accumulates class counts) must not count twice.
        """
        arguments = dict(arguments)
        if 'reduction_override' in arguments:
            arguments['reduction_override'] = None
        if grad:
            return self.module.forward(**arguments)
        after = [(b, b.detach().clone()) for b in self.module.buffers()]
        with torch.no_grad():
            for buffer, value in self._buffers_before or ():
                buffer.copy_(value)  # as the module saw this call
            own = self.module.forward(**arguments)
            for buffer, value in after:
                buffer.copy_(value)
        return own

    def _skips_nan(self, arguments: dict, output: torch.Tensor,
                   reduction: str, avg_factor) -> bool:
        """Whether the module's own reduction skips NaN elements.

        Asked the first time the module's element-wise loss holds a NaN:
        its own reduction is finite while the plain reduction is not
        exactly when it skips them (e.g. ``nanmean``). The module's
        semantics win: NaN elements then count neither in the weighted
        reduction nor in the scores.
        """
        if self._nan_aware is None:
            own = self._own_loss(arguments, grad=False)
            self._nan_aware = isinstance(own, torch.Tensor) and bool(
                torch.isfinite(own).all())
            if self._nan_aware:
                print_log(
                    f'InfoBatch: {self.name!r} ({type(self.module).__name__})'
                    ' skips NaN elements in its own reduction; its weighted '
                    'reduction and the scores skip them too.',
                    logger='current', level=logging.WARNING)
        return self._nan_aware


@LOSS_ADAPTERS.register_module()
class LovaszAdapter(ReductionAdapter):
    """mmseg's ``LovaszLoss``: per image with ``per_image=True``.

    ``per_image=False`` computes one Lovász extension over all pixels of
    the batch; it has no per-image part, and the module is named as not
    split per sample.
    """

    priority = 40

    @classmethod
    def matches(cls, module: nn.Module, name: str, model: nn.Module) -> bool:
        return is_instance(module, _LOVASZ)

    def attach(self) -> List:
        if not getattr(self.module, 'per_image', False):
            self.note_unsplittable(
                'is a LovaszLoss with per_image=False: it computes one loss '
                'over all pixels of the batch, which has no per-image part '
                '(set per_image=True to score and weight each image)')
            return []
        return super().attach()


def ignore_mask(output: torch.Tensor,
                arguments: dict) -> Optional[torch.Tensor]:
    """Elements whose label is not ``ignore_index``, if the call says so."""
    label = arguments.get('label')
    ignore_index = arguments.get('ignore_index')
    if (ignore_index is None or not isinstance(label, torch.Tensor)
            or label.shape != output.shape or label.is_floating_point()):
        return None
    return label != ignore_index
