"""Per-sample losses out of OpenMMLab loss modules, weighted per sample.

OpenMMLab heads call loss modules (mmpretrain's and mmseg's
``CrossEntropyLoss``, ``LabelSmoothLoss``, ...) that reduce over the batch
according to their ``reduction`` attribute (``'mean'`` or ``'sum'``, with an
optional ``avg_factor``). :class:`PerSampleLossRecorder` puts a forward
pre-hook and a forward hook on each such module. While a training step is
being recorded:

1. the pre-hook switches the module to ``reduction='none'``;
2. the forward hook receives the element-wise loss (first dimension = the
   batch), adds each sample's mean over its *valid* elements to that
   sample's score, and returns the reduction the module would have
   returned, with every element multiplied by its sample's InfoBatch
   weight.

Valid elements: when the call passes a ``label`` of the loss's shape and an
``ignore_index`` (mmseg's decode heads do, with 255 on ADE20K), the pixels
labelled ``ignore_index`` take no part in a sample's score, and a sample
without valid pixels gets no score this step. The reduction follows the
module: mmseg's ``CrossEntropyLoss`` averages over all pixels of the batch
by default and over the valid pixels of the batch with
``avg_non_ignore=True``; both are kept, each pixel weighted by its sample's
weight.

So the head, the loss dict and ``parse_losses`` stay untouched and, with all
weights 1, the back-propagated loss equals the model's own (to float
rounding). Module hooks survive ``deepcopy`` (EMA) and DDP wrapping.

mmpretrain's ``PixelReconstructionLoss`` (MAE, SimMIM, ...) has no
``reduction``: it computes the element-wise loss with an inner
``penalty`` module (``MSELoss``/``L1Loss`` with ``reduction='none'``) and
averages it over the masked patches of the whole batch. For it, a pre-hook
keeps the call's ``mask`` and a forward hook on ``penalty`` multiplies each
sample's element-wise loss by its weight and scores the sample by its mean
over its own masked patches; the module's own reduction then runs on the
weighted values, so with all weights 1 the loss is exactly mmpretrain's.

A module whose output is not split by sample (still a scalar with
``reduction='none'``, or a first dimension that is not the batch) is left
as it is: its loss is neither weighted nor scored, and it is named once in
the log.
"""
import inspect
import logging
from typing import Callable, Dict, List, Optional, Tuple

import torch
from mmengine.logging import print_log
from torch import nn

REDUCTIONS = ('mean', 'sum')


def _is_reconstruction_loss(module: nn.Module) -> bool:
    try:
        from mmpretrain.models.losses import PixelReconstructionLoss
    except ImportError:  # mmpretrain is optional for this check
        return False
    return isinstance(module, PixelReconstructionLoss)


def find_loss_modules(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """The outermost loss modules that can be made per-sample.

    Those with a ``reduction`` of ``'mean'`` or ``'sum'``, and mmpretrain's
    ``PixelReconstructionLoss``.

    Args:
        model (nn.Module): The model (unwrapped).

    Returns:
        list[tuple[str, nn.Module]]: ``(name, module)`` pairs; a loss module
        nested in another found one (e.g. the ``CrossEntropyLoss`` inside a
        ``LabelSmoothLoss``) is left to its parent.
    """
    found: List[Tuple[str, nn.Module]] = []
    for name, module in model.named_modules():
        if (getattr(module, 'reduction', None) not in REDUCTIONS
                and not _is_reconstruction_loss(module)):
            continue
        if any(name.startswith(parent + '.') for parent, _ in found):
            continue
        found.append((name, module))
    return found


class _Step:
    """What one recorded training step knows and collects."""

    def __init__(self, weights: torch.Tensor) -> None:
        self.weights = weights
        self.batch_size = weights.numel()
        self.scores: Optional[torch.Tensor] = None
        # the tensors the hooks returned weighted (for the coverage check)
        self.weighted: List[torch.Tensor] = []

    def mark_weighted(self, tensor: torch.Tensor) -> torch.Tensor:
        self.weighted.append(tensor)
        return tensor

    def add_scores(self, per_sample: torch.Tensor) -> None:
        per_sample = per_sample.detach().float()
        self.scores = (per_sample if self.scores is None else
                       self.scores + per_sample)


class PerSampleLossRecorder:
    """Hooks loss modules to score samples and weight their losses.

    Args:
        model (nn.Module): The model (unwrapped) whose loss modules to hook.

    Raises:
        ValueError: If the model has no loss module with a ``reduction``.
    """

    def __init__(self, model: nn.Module) -> None:
        self.loss_modules = find_loss_modules(model)
        if not self.loss_modules:
            seen = [
                f'{name} ({type(m).__name__})'
                for name, m in model.named_modules()
                if name and (type(m).__name__.endswith(('Loss', 'Entropy'))
                             or 'loss' in name.rsplit('.', 1)[-1].lower())
            ]
            raise ValueError(
                'InfoBatchHook found no loss module in the model that it can '
                "make per-sample (a module with reduction='mean' or 'sum', "
                "like mmpretrain/mmseg's CrossEntropyLoss); the loss modules "
                f'it saw: {seen or "none"}. A loss that is already reduced to '
                'a scalar cannot be split per sample: compute the loss with a '
                "loss module whose `reduction` can be set to 'none'.")
        self._step: Optional[_Step] = None
        self._unsplittable: Dict[str, str] = {}
        # per loss type: its positional parameter names and defaults
        self._signatures: Dict[type, Tuple[List[str], dict]] = {}
        # per module: does its own reduction skip NaN elements (nanmean)?
        self._nan_aware: Dict[str, bool] = {}
        self._handles = []
        for name, module in self.loss_modules:
            if _is_reconstruction_loss(module):
                self._hook_reconstruction_loss(name, module)
                continue
            self._handles.append(
                module.register_forward_pre_hook(
                    self._make_pre_hook(), with_kwargs=True))
            self._handles.append(
                module.register_forward_hook(
                    self._make_post_hook(name), with_kwargs=True))

    @property
    def recording(self) -> bool:
        """Whether a training step is being recorded."""
        return self._step is not None

    @property
    def module_names(self) -> List[str]:
        """Names of the hooked loss modules."""
        return [name for name, _ in self.loss_modules]

    def remove(self) -> None:
        """Remove the hooks from the model."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def start_step(self, weights: torch.Tensor) -> None:
        """Record the coming training step.

        Args:
            weights (Tensor): InfoBatch weight of each sample of the batch,
                in batch order, shape ``(B,)``.
        """
        self._restore_reductions()  # in case a forward raised mid-way
        self._step = _Step(weights.float())

    def finish_step(self) -> Optional[torch.Tensor]:
        """Stop recording and return the batch's per-sample scores.

        Returns:
            Tensor or None: Shape ``(B,)`` float32, the sum over the hooked
            loss calls of each sample's mean loss; None if no hooked loss
            could be split per sample.
        """
        step, self._step = self._step, None
        return None if step is None else step.scores

    def unweighted_terms(self, losses: dict) -> List[str]:
        """Loss terms of the model's loss dict that carry gradient but
        reach no per-sample-weighted loss of the current step.

        Follows each term's autograd graph back; a term is weighted when a
        tensor that a hook returned weighted lies on it.

        Args:
            losses (dict): The model's ``mode='loss'`` output.

        Returns:
            list[str]: Names of the unweighted terms.
        """
        weighted = {t.grad_fn for t in (self._step.weighted if self._step
                                        else []) if t.grad_fn is not None}
        missing = []
        for key, value in losses.items():
            if 'loss' not in key:
                continue  # MMEngine's parse_losses sums only 'loss' keys
            tensors = value if isinstance(value, (list, tuple)) else [value]
            for tensor in tensors:
                if (isinstance(tensor, torch.Tensor) and tensor.requires_grad
                        and not _reaches(tensor.grad_fn, weighted)):
                    missing.append(key)
                    break
        return missing

    @property
    def unsplittable(self) -> Dict[str, str]:
        """Loss modules whose output could not be split, and why."""
        return dict(self._unsplittable)

    def _restore_reductions(self) -> None:
        for _, module in self.loss_modules:
            reduction = module.__dict__.pop('_infobatch_reduction', None)
            if module.__dict__.pop('_infobatch_switched', False):
                module.reduction = reduction

    # -- hooks -------------------------------------------------------------
    def _make_pre_hook(self) -> Callable:

        def pre_hook(module, args, kwargs):
            if self._step is None:
                return None
            positional, _ = self._spec(module)
            if 'reduction_override' in positional:
                at = positional.index('reduction_override')
                given = (args[at] if len(args) > at else
                         kwargs.get('reduction_override'))
                if given is not None:
                    return None  # the caller chose a reduction
                # OpenMMLab's protocol: the override reaches every module
                # the loss delegates to (LabelSmoothLoss -> its inner
                # CrossEntropyLoss), where switching one attribute would not
                module._infobatch_reduction = module.reduction
                if len(args) > at:
                    args = args[:at] + ('none', ) + args[at + 1:]
                    return args, kwargs
                return args, dict(kwargs, reduction_override='none')
            if kwargs.get('reduction_override'):
                return None
            module._infobatch_reduction = module.reduction
            module._infobatch_switched = True
            module.reduction = 'none'
            return None

        return pre_hook

    def _spec(self, module: nn.Module) -> Tuple[List[str], dict]:
        """The loss type's positional parameter names and defaults."""
        spec = self._signatures.get(type(module))
        if spec is None:
            params = inspect.signature(module.forward).parameters.values()
            positional = [
                p.name for p in params
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            defaults = {
                p.name: p.default
                for p in params if p.default is not inspect.Parameter.empty
            }
            spec = self._signatures[type(module)] = (positional, defaults)
        return spec

    def _call_arguments(self, module: nn.Module, args: tuple,
                        kwargs: dict) -> dict:
        """The loss call's arguments by name, defaults included."""
        positional, defaults = self._spec(module)
        arguments = dict(defaults)
        arguments.update(zip(positional, args))
        arguments.update(kwargs)
        return arguments

    def _make_post_hook(self, name: str) -> Callable:

        def post_hook(module, args, kwargs, output):
            reduction = module.__dict__.pop('_infobatch_reduction', None)
            if reduction is None:
                return None  # not recording, or the caller chose a reduction
            if module.__dict__.pop('_infobatch_switched', False):
                module.reduction = reduction
            step = self._step
            arguments = self._call_arguments(module, args, kwargs)
            avg_factor = arguments.get('avg_factor')
            if not isinstance(output, torch.Tensor):
                self._note_unsplittable(
                    name, f'returns a {type(output).__name__}, not a tensor')
                return None
            if output.ndim == 0:
                self._note_unsplittable(
                    name, "returns a scalar even with reduction='none'")
                return output
            valid = _valid_mask(output, arguments)
            if output.shape[0] != step.batch_size:
                self._note_unsplittable(
                    name, f'returns shape {tuple(output.shape)} whose first '
                    f'dimension is not the batch ({step.batch_size})')
                return _reduce(output, reduction, avg_factor)
            scores = _per_sample_mean(output, valid)
            # a NaN element makes its sample's score NaN: only then ask
            # whether the module's own reduction skips NaN
            if (bool(torch.isnan(scores).any())
                    and bool(torch.isnan(output.detach()).any())
                    and self._skips_nan(name, module, args, kwargs)):
                finite = ~torch.isnan(output.detach())
                valid = finite if valid is None else valid & finite
                output = torch.where(finite, output, torch.zeros_like(output))
                scores = _per_sample_mean(output, valid)
                if reduction == 'mean' and avg_factor is None:
                    avg_factor = valid.sum().item()  # as nanmean counts
            if (reduction == 'mean' and avg_factor is None
                    and valid is not None
                    and getattr(module, 'avg_non_ignore', False)):
                avg_factor = valid.sum().item()  # as mmseg's cross_entropy
            step.add_scores(scores)
            weights = step.weights.to(output.device, output.dtype)
            weighted = output * (weights if output.ndim == 1 else
                                 weights.reshape((-1, ) + (1, ) *
                                                 (output.ndim - 1)))
            return step.mark_weighted(_reduce(weighted, reduction,
                                              avg_factor))

        return post_hook

    def _skips_nan(self, name: str, module: nn.Module, args: tuple,
                   kwargs: dict) -> bool:
        """Whether the module's own reduction skips NaN elements.

        Asked the first time the module's element-wise loss holds a NaN:
        the module's own reduction (``forward`` with its reduction restored,
        no hooks, no gradient) is finite exactly when it skips them (e.g.
        ``nanmean``). The module's semantics win: NaN elements then count
        neither in the weighted reduction nor in the scores.
        """
        known = self._nan_aware.get(name)
        if known is None:
            arguments = self._call_arguments(module, args, kwargs)
            if 'reduction_override' in arguments:
                arguments['reduction_override'] = None  # its own reduction
            with torch.no_grad():
                own = module.forward(**arguments)
            known = isinstance(own, torch.Tensor) and bool(
                torch.isfinite(own).all())
            self._nan_aware[name] = known
            if known:
                print_log(
                    f'InfoBatch: {name!r} ({type(module).__name__}) skips '
                    'NaN elements in its own reduction; its weighted '
                    'reduction and the scores skip them too.',
                    logger='current', level=logging.WARNING)
        return known

    def _hook_reconstruction_loss(self, name: str, module: nn.Module) -> None:
        """Hooks for mmpretrain's ``PixelReconstructionLoss``."""
        call = {}

        def keep_mask(module, args, kwargs):
            if self._step is not None:
                arguments = self._call_arguments(module, args, kwargs)
                call['mask'] = arguments.get('mask')
            return None

        def weight_penalty(penalty, args, output):
            mask = call.pop('mask', False)
            if self._step is None or mask is False:
                return None
            step = self._step
            if output.ndim < 2 or output.shape[0] != step.batch_size:
                self._note_unsplittable(
                    name, f'computes shape {tuple(output.shape)} whose first '
                    f'dimension is not the batch ({step.batch_size})')
                return None
            step.add_scores(
                _reconstruction_scores(output, mask, module.channel))
            weights = step.weights.to(output.device, output.dtype)
            return step.mark_weighted(
                output * weights.reshape((-1, ) + (1, ) * (output.ndim - 1)))

        self._handles.append(
            module.register_forward_pre_hook(keep_mask, with_kwargs=True))
        self._handles.append(
            module.penalty.register_forward_hook(weight_penalty))

    def _note_unsplittable(self, name: str, why: str) -> None:
        if name not in self._unsplittable:
            self._unsplittable[name] = why
            print_log(
                f'InfoBatch: loss module `{name}` {why}; its loss is kept '
                'as it is (not weighted, not part of the scores).',
                logger='current')


def _reaches(node, targets: set) -> bool:
    """Whether the autograd graph from ``node`` contains a target node."""
    if not targets:
        return False
    seen, stack = set(), [node]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        if node in targets:
            return True
        seen.add(node)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return False


def _valid_mask(output: torch.Tensor,
                arguments: dict) -> Optional[torch.Tensor]:
    """Elements whose label is not ``ignore_index``, if the call says so."""
    label = arguments.get('label')
    ignore_index = arguments.get('ignore_index')
    if (ignore_index is None or not isinstance(label, torch.Tensor)
            or label.shape != output.shape or label.is_floating_point()):
        return None
    return label != ignore_index


def _per_sample_mean(output: torch.Tensor,
                     valid: Optional[torch.Tensor]) -> torch.Tensor:
    """Each sample's mean loss over its (valid) elements; NaN for none."""
    if valid is None and output.ndim == 1:  # one loss per sample already
        return output.detach().float()
    flat = output.detach().float().reshape(output.shape[0], -1)
    if valid is None:
        return flat.mean(1)
    valid = valid.reshape(output.shape[0], -1)
    count = valid.sum(1)
    total = (flat * valid).sum(1)
    return torch.where(count > 0, total / count.clamp(min=1),
                       torch.full_like(total, float('nan')))


def _reconstruction_scores(output: torch.Tensor, mask: Optional[torch.Tensor],
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


def _reduce(loss: torch.Tensor, reduction: str,
            avg_factor: Optional[float]) -> torch.Tensor:
    """Reduce an element-wise loss as ``weight_reduce_loss`` does."""
    if reduction == 'sum':
        return loss.sum()
    if avg_factor is None:
        return loss.mean()
    return loss.sum() / avg_factor
