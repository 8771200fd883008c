"""The adapter interface, the step record, and shared reductions.

A loss adapter knows how one family of loss modules reduces its
element-wise loss. Attached to such a module (through forward hooks, so
heads, loss dicts and ``parse_losses`` stay untouched), it gives, while a
training step is recorded, every sample's score (its mean loss over its own
elements) and returns the module's own reduction of the element-wise loss
with each sample's elements multiplied by the sample's InfoBatch weight.
With all weights 1 the returned loss is the module's own.
"""
import inspect
from typing import Callable, Dict, List, Optional

import torch
from mmengine.registry import Registry
from torch import nn

from ..optional_classes import is_instance, lazy_class  # noqa: F401

#: Adapters, one per loss family. Extend it from a config's
#: ``custom_imports`` with ``@LOSS_ADAPTERS.register_module()`` on a
#: :class:`LossAdapter` subclass.
LOSS_ADAPTERS = Registry('InfoBatch loss adapter')


class StepRecord:
    """What one recorded training step knows and collects.

    Args:
        weights (Tensor): InfoBatch weight of each sample of this process's
            batch, in batch order, shape ``(B,)``.
    """

    def __init__(self, weights: torch.Tensor) -> None:
        self.weights = weights
        self.batch_size = weights.numel()
        self.scores: Optional[torch.Tensor] = None
        # the summed value of the losses weighted as a whole batch
        self.batch_loss = 0.0
        # loss module name -> how many rows (or blocks of rows) of its next
        # call each image owns, image by image; set by a head that knows it
        # (rows that are queries or matched masks)
        self.rows_per_image: Dict[str, torch.Tensor] = {}
        # the tensors returned weighted (for the coverage check)
        self.weighted: List[torch.Tensor] = []

    def mark_weighted(self, tensor: torch.Tensor) -> torch.Tensor:
        """Note ``tensor`` as a weighted loss and return it."""
        self.weighted.append(tensor)
        return tensor

    def add_scores(self, per_sample: torch.Tensor) -> None:
        """Add one loss call's per-sample losses to the batch's scores."""
        per_sample = per_sample.detach().float()
        self.scores = (per_sample if self.scores is None else
                       self.scores + per_sample)

    def weight_batch(self, loss: torch.Tensor) -> torch.Tensor:
        """A loss that has no per-sample part, weighted as batch loss
        scores weight a batch (BLS: by the batch's mean weight), its value
        added to every sample's score."""
        mean = self.weights.mean() if self.batch_size else torch.ones(())
        self.batch_loss += float(loss.detach().float().mean())
        return self.mark_weighted(loss * mean.to(loss.device, loss.dtype))

    def sample_scores(self) -> Optional[torch.Tensor]:
        """Each sample's score: its per-sample losses plus the losses
        weighted as a whole batch; None if neither was recorded."""
        if self.scores is None and not self.weighted:
            return None
        scores = (torch.zeros(self.batch_size)
                  if self.scores is None else self.scores)
        return scores + self.batch_loss if self.batch_loss else scores

    def weights_for(self, loss: torch.Tensor) -> torch.Tensor:
        """The batch's weights, shaped to broadcast over ``loss`` (whose
        first dimension is the batch)."""
        return broadcast_rows(self.weights, loss)


def broadcast_rows(row_weights: torch.Tensor,
                   loss: torch.Tensor) -> torch.Tensor:
    """One weight per row of ``loss``, on its device and dtype and shaped to
    broadcast over its other dimensions."""
    row_weights = row_weights.to(loss.device, loss.dtype)
    return row_weights if loss.ndim == 1 else row_weights.reshape(
        (-1, ) + (1, ) * (loss.ndim - 1))


class LossAdapter:
    """Base class: scores and weights one loss module's loss per sample.

    Subclasses say which modules they serve (:meth:`matches`) and put
    their hooks on the module (:meth:`attach`). ``priority``: lower is
    asked first; the generic fallbacks come last.

    Args:
        name (str): The module's name in the model.
        module (nn.Module): The loss module.
        recorder: The :class:`PerSampleLossRecorder`; ``recorder.step`` is
            the :class:`StepRecord` while a step is recorded, else None.
    """

    priority: int = 50
    #: whether the loss modules inside this one get adapters of their own
    #: (a head adapter that only tells them which image owns each row)
    nests: bool = False

    def __init__(self, name: str, module: nn.Module, recorder) -> None:
        self.name = name
        self.module = module
        self.recorder = recorder
        # the loss's ``forward`` signature, read once: positional parameter
        # names and defaults
        params = inspect.signature(module.forward).parameters.values()
        self.positional_names: List[str] = [
            p.name for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        self._defaults = {
            p.name: p.default
            for p in params if p.default is not inspect.Parameter.empty
        }

    @classmethod
    def matches(cls, module: nn.Module, name: str, model: nn.Module) -> bool:
        """Whether this adapter serves ``module``.

        Args:
            module (nn.Module): A module of the model.
            name (str): Its name in the model.
            model (nn.Module): The model (unwrapped).
        """
        raise NotImplementedError

    def attach(self) -> List:
        """Register the hooks on the module; return their handles."""
        raise NotImplementedError

    def restore(self) -> None:
        """Undo any change to the module left by an interrupted forward."""

    @property
    def step(self) -> Optional[StepRecord]:
        """The step being recorded, or None."""
        return self.recorder.step

    def note_unsplittable(self, why: str) -> None:
        """Name this module as not split per sample (the coverage check
        and the log say so)."""
        self.recorder.note_unsplittable(self.name, why)

    def call_arguments(self, args: tuple, kwargs: dict) -> dict:
        """The loss call's arguments by name, defaults included."""
        arguments = dict(self._defaults)
        arguments.update(zip(self.positional_names, args))
        arguments.update(kwargs)
        return arguments


class RecomputingAdapter(LossAdapter):
    """Base for losses without a ``reduction`` setting: a forward hook
    recomputes the element-wise loss from the call's inputs and returns
    the module's reduction of the weighted values.

    Subclasses set ``loss_class`` (a :func:`lazy_class` getter) and write
    :meth:`weighted_loss`. The first recorded call is checked: with weights
    1 the recomputed loss must be the module's own output, else the module
    is named as not split per sample and keeps its own loss.
    """

    priority = 20
    loss_class: Callable[[], Optional[type]] = staticmethod(lambda: None)
    #: what the check calls the recomputed loss, in its message
    recomputed: str = 'loss'

    @classmethod
    def matches(cls, module: nn.Module, name: str, model: nn.Module) -> bool:
        return is_instance(module, cls.loss_class)

    def attach(self) -> List:
        self._verified = False
        return [
            self.module.register_forward_hook(
                self._post_hook, with_kwargs=True)
        ]

    def _post_hook(self, module, args, kwargs, output):
        step = self.step
        if step is None:
            return None
        return self.weighted_loss(step, self.call_arguments(args, kwargs),
                                  output)

    def weighted_loss(self, step: StepRecord, arguments: dict,
                      output: torch.Tensor) -> Optional[torch.Tensor]:
        """Score the batch's samples; return the weighted loss (or None to
        keep the module's output).

        Args:
            step (StepRecord): The step being recorded.
            arguments (dict): The loss call's arguments by name.
            output (Tensor): The module's own output.
        """
        raise NotImplementedError

    def splits_batch(self, tensor: torch.Tensor, what: str,
                     step: StepRecord) -> bool:
        """Whether ``tensor``'s first dimension is the batch (else the
        module is named as not split)."""
        if tensor.ndim >= 1 and tensor.shape[0] == step.batch_size:
            return True
        self.note_unsplittable(
            f'gets {what} of shape {tuple(tensor.shape)} whose first '
            f'dimension is not the batch ({step.batch_size})')
        return False

    def agrees_once(self, unweighted: torch.Tensor,
                    output: torch.Tensor) -> bool:
        """At the first call: whether the recomputed, unweighted loss is
        the module's own output (else the module is named as not split)."""
        if self._verified:
            return True
        self._verified = True
        if same_loss(unweighted, output):
            return True
        self.note_unsplittable(
            f'gives a different loss than the {self.recomputed} the adapter '
            'recomputes (register a loss adapter for it in '
            'mmib.engine.LOSS_ADAPTERS)')
        return False


def per_sample_mean(loss: torch.Tensor,
                    valid: Optional[torch.Tensor]) -> torch.Tensor:
    """Each sample's mean loss over its (valid) elements; NaN for none.

    Args:
        loss (Tensor): Element-wise loss, first dimension the batch.
        valid (Tensor, optional): Boolean mask of ``loss``'s shape (or
            broadcastable to it); None: all elements.
    """
    if valid is None and loss.ndim == 1:  # one loss per sample already
        return loss.detach().float()
    flat = loss.detach().float().reshape(loss.shape[0], -1)
    if valid is None:
        return flat.mean(1)
    valid = valid.expand_as(loss).reshape(loss.shape[0], -1)
    count = valid.sum(1)
    total = (flat * valid).sum(1)
    return torch.where(count > 0, total / count.clamp(min=1),
                       torch.full_like(total, float('nan')))


def reduce_loss(loss: torch.Tensor, reduction: str,
                avg_factor: Optional[float]) -> torch.Tensor:
    """Reduce an element-wise loss as OpenMMLab's ``weight_reduce_loss``."""
    if reduction == 'sum':
        return loss.sum()
    if avg_factor is None:
        return loss.mean()
    return loss.sum() / avg_factor


def same_loss(ours: torch.Tensor, own: torch.Tensor) -> bool:
    """Whether two reductions agree to float rounding (NaN equals NaN)."""
    if not isinstance(own, torch.Tensor) or ours.shape != own.shape:
        return False
    return bool(
        torch.allclose(ours.detach().float(), own.detach().float(),
                       rtol=1e-4, atol=1e-6, equal_nan=True))
