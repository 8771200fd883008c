"""Finds the model's loss modules, attaches their adapters, records steps."""
import logging
from typing import Dict, List, Optional, Tuple, Type

import torch
from mmengine.logging import print_log
from torch import nn

from .base import LOSS_ADAPTERS, LossAdapter, StepRecord


def adapter_classes() -> List[Type[LossAdapter]]:
    """The registered adapters, in the order they are asked (priority)."""
    return sorted(LOSS_ADAPTERS.module_dict.values(),
                  key=lambda cls: cls.priority)


def find_loss_modules(
        model: nn.Module) -> List[Tuple[str, nn.Module, Type[LossAdapter]]]:
    """The outermost loss modules an adapter serves, with the adapter.

    Args:
        model (nn.Module): The model (unwrapped).

    Returns:
        list[tuple]: ``(name, module, adapter class)``; a loss module nested
        in another found one (e.g. the ``CrossEntropyLoss`` inside a
        ``LabelSmoothLoss``) is left to its parent.
    """
    classes = adapter_classes()
    found = []
    for name, module in model.named_modules():
        if any(name.startswith(parent + '.') and not cls.nests
               for parent, _, cls in found):
            continue
        adapter = next(
            (cls for cls in classes if cls.matches(module, name, model)),
            None)
        if adapter is not None:
            found.append((name, module, adapter))
    return found


class PerSampleLossRecorder:
    """Hooks the model's loss modules to score samples and weight losses.

    Each loss module gets the first registered adapter (by priority) that
    serves it (:data:`LOSS_ADAPTERS`).

    A loss module whose loss cannot be split per sample (it returns a
    scalar, its rows are not the batch's, its element-wise reduction is not
    its own) is weighted as a whole instead: by the batch's mean weight,
    its value added to every sample's score, as batch loss scores treat
    every loss (BLS: Zhou et al., CVPR 2026); a WARNING names it and why,
    once. No recipe is refused for such a loss.

    Args:
        model (nn.Module): The model (unwrapped) whose loss modules to hook.

    Raises:
        ValueError: If no adapter serves any module of the model.
    """

    def __init__(self, model: nn.Module) -> None:
        found = find_loss_modules(model)
        if not found:
            seen = [
                f'{name} ({type(m).__name__})'
                for name, m in model.named_modules()
                if name and (type(m).__name__.endswith(('Loss', 'Entropy'))
                             or 'loss' in name.rsplit('.', 1)[-1].lower())
            ]
            raise ValueError(
                'InfoBatchHook found no loss module in the model that it can '
                'make per-sample; the loss modules it saw: '
                f'{seen or "none"}. Supported: modules with '
                "reduction='mean'/'sum' (OpenMMLab's loss protocol) and the "
                'loss families of mmib.engine.LOSS_ADAPTERS ('
                f'{", ".join(LOSS_ADAPTERS.module_dict)}). A loss that is '
                'already reduced to a scalar cannot be split per sample: '
                'compute it with such a module, or register an adapter for '
                'your loss (see README, "Loss adapters").')
        self.step: Optional[StepRecord] = None
        self._unsplittable: Dict[str, str] = {}
        self.adapters: List[LossAdapter] = [
            cls(name, module, self) for name, module, cls in found
        ]
        self._handles = [h for a in self.adapters for h in a.attach()]
        # after the adapters' hooks: sees their output
        self._handles += [
            a.module.register_forward_hook(self._batch_weighting(a.name))
            for a in self.adapters
        ]

    @property
    def recording(self) -> bool:
        """Whether a training step is being recorded."""
        return self.step is not None

    @property
    def module_names(self) -> List[str]:
        """Names of the hooked loss modules."""
        return [adapter.name for adapter in self.adapters]

    def describe(self) -> List[str]:
        """``name (LossType via Adapter)`` of each hooked module."""
        return [
            f'{a.name} ({type(a.module).__name__} via {type(a).__name__})'
            for a in self.adapters
        ]

    def remove(self) -> None:
        """Leave the model as it was: stop recording, undo any reduction
        switched by a call that raised mid-way, remove the hooks."""
        self.step = None
        for adapter in self.adapters:
            adapter.restore()
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def start_step(self, weights: torch.Tensor) -> None:
        """Record the coming training step.

        Args:
            weights (Tensor): InfoBatch weight of each sample of the batch,
                in batch order, shape ``(B,)``.
        """
        for adapter in self.adapters:  # in case a forward raised mid-way
            adapter.restore()
        self.step = StepRecord(weights.float())

    def finish_step(self) -> Optional[torch.Tensor]:
        """Stop recording and return the batch's per-sample scores.

        Returns:
            Tensor or None: Shape ``(B,)`` float32, the sum over the hooked
            loss calls of each sample's mean loss; None if no hooked loss
            could be split per sample.
        """
        step, self.step = self.step, None
        return None if step is None else step.sample_scores()

    def finish_step_losses(self) -> torch.Tensor:
        """:meth:`finish_step`, for a step that must have been scored.

        Raises:
            RuntimeError: No hooked loss returned per-sample losses.
        """
        losses = self.finish_step()
        if losses is None:
            raise RuntimeError(
                'InfoBatchHook got no per-sample losses: none of the loss '
                f'modules {self.module_names} returned a loss with the batch '
                "as first dimension under reduction='none'. InfoBatch needs "
                'a loss that can be split per sample; a loss that the head '
                'already reduces to a scalar cannot be.')
        return losses

    def unweighted_terms(self, losses: dict) -> List[str]:
        """Loss terms of the model's loss dict that carry gradient but
        reach no per-sample-weighted loss of the current step.

        Follows each term's autograd graph back; a term is weighted when a
        tensor that an adapter returned weighted lies on it. A tensor that
        is zero whatever the parameters (:func:`_zero_by_construction`) is
        no part of the loss to weight: mmdet's heads return
        ``pred.sum() * 0`` (ATSS, GFL) or the sum of no rows (FCOS) for a
        level without positive samples, which keeps the level's parameters
        in the graph without calling the loss module. A term that is merely
        zero at this step (a regulariser of zero-initialised weights) is
        still missing.

        Args:
            losses (dict): The model's ``mode='loss'`` output.

        Returns:
            list[str]: Names of the unweighted terms.
        """
        weighted = {t.grad_fn for t in (self.step.weighted if self.step
                                        else []) if t.grad_fn is not None}
        missing = []
        for key, value in losses.items():
            if 'loss' not in key:
                continue  # MMEngine's parse_losses sums only 'loss' keys
            tensors = value if isinstance(value, (list, tuple)) else [value]
            for tensor in tensors:
                if (isinstance(tensor, torch.Tensor) and tensor.requires_grad
                        and not _reaches(tensor.grad_fn, weighted)
                        and not _zero_by_construction(tensor.grad_fn)):
                    missing.append(key)
                    break
        return missing

    @property
    def unsplittable(self) -> Dict[str, str]:
        """Loss modules whose output could not be split, and why."""
        return dict(self._unsplittable)

    def note_unsplittable(self, name: str, why: str) -> None:
        """Name a loss module whose loss cannot be split per sample, once."""
        if name not in self._unsplittable:
            self._unsplittable[name] = why
            print_log(
                f'InfoBatch: loss module `{name}` {why}; it is not split '
                "per sample: its loss is weighted by the batch's mean "
                'weight and its value is added to the score of every '
                'sample of the batch (batch loss scores for this term).',
                logger='current', level=logging.WARNING)

    def _batch_weighting(self, name: str):
        """The forward hook that weights module ``name``'s loss as a whole
        when it could not be split (see the class doc)."""

        def hook(module, args, output):
            step = self.step
            if (step is None or name not in self._unsplittable
                    or not isinstance(output, torch.Tensor)
                    or not output.is_floating_point()
                    or any(output is t for t in step.weighted)):
                return None
            return step.weight_batch(output)

        return hook


def _constant_zero(value) -> bool:
    """Whether ``value`` (an autograd node's saved operand) is a constant
    zero: a number or a one-element tensor without gradient."""
    if isinstance(value, (int, float)):
        return value == 0
    return (isinstance(value, torch.Tensor) and not value.requires_grad
            and value.numel() == 1 and bool(value.eq(0).all()))


def _zero_by_construction(node) -> bool:
    """Whether the tensor of autograd node ``node`` is zero whatever the
    parameters: a product with a constant zero (``pred.sum() * 0``) or a
    sum over no elements (``pos_pred.sum()`` without positives), seen
    through products and quotients with constants (``/ avg_factor``)."""
    while node is not None:
        name = type(node).__name__
        if name == 'SumBackward0':
            return 0 in tuple(getattr(node, '_saved_self_sym_sizes', ()))
        if name not in ('MulBackward0', 'DivBackward0'):
            return False
        if name == 'MulBackward0' and _constant_zero(
                getattr(node, '_saved_other', None)):
            return True
        inputs = [n for n, _ in node.next_functions if n is not None]
        if len(inputs) != 1:  # both factors carry gradient
            return False
        node = inputs[0]
    return False


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
