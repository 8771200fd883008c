"""Finds the model's loss modules, attaches their adapters, records steps."""
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
        if any(name.startswith(parent + '.') for parent, _, _ in found):
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
        return None if step is None else step.scores

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
        tensor that an adapter returned weighted lies on it.

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
                        and not _reaches(tensor.grad_fn, weighted)):
                    missing.append(key)
                    break
        return missing

    @property
    def unsplittable(self) -> Dict[str, str]:
        """Loss modules whose output could not be split, and why."""
        return dict(self._unsplittable)

    def note_unsplittable(self, name: str, why: str) -> None:
        """Name a loss module whose loss stays unweighted, once."""
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
