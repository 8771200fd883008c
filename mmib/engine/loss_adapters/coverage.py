"""No silently partial weighting: the first training step's check."""
from typing import Any, Callable, Optional, Sequence

from torch import nn

from .recorder import PerSampleLossRecorder


class LossCoverageCheck:
    """At the first training step, every loss term that carries gradient
    must reach a weighted loss (per sample, or for a loss module that
    cannot be split, as a whole by the batch's mean weight: weighting only
    part of the loss biases the gradient), unless it is listed in
    ``unweighted_losses``. A term no loss module computes (a regulariser
    the head adds itself) reaches none.

    Args:
        unweighted_losses (Sequence[str]): Terms allowed to stay unweighted
            (each must be a term of the model's loss dict; the names are
            checked with the other options:
            :class:`mmib.core.InfoBatchOptions`).
    """

    def __init__(self, unweighted_losses: Sequence[str] = ()) -> None:
        self.unweighted_losses = tuple(unweighted_losses)
        self._handle = None
        self._recorder: Optional[PerSampleLossRecorder] = None
        self._warn: Callable[[str], Any] = print

    def attach(self, model: nn.Module, recorder: PerSampleLossRecorder,
               warn: Callable[[str], Any]) -> None:
        """Check the model's next training forward (``mode='loss'``)."""
        self.remove()
        self._recorder, self._warn = recorder, warn
        self._handle = model.register_forward_hook(self._check,
                                                   with_kwargs=True)

    def remove(self) -> None:
        """Take the check off the model."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _check(self, model, args, kwargs, output) -> None:
        recorder = self._recorder
        if kwargs.get('mode') != 'loss' or not isinstance(output, dict) or \
                not recorder.recording:
            return
        self.remove()
        unknown = [n for n in self.unweighted_losses if n not in output]
        if unknown:
            raise ValueError(
                f'InfoBatchHook(unweighted_losses={list(unknown)}): no such '
                "term in the model's loss dict, whose terms are "
                f'{sorted(output)}.')
        missing = recorder.unweighted_terms(output)
        allowed = [m for m in missing if m in self.unweighted_losses]
        refused = [m for m in missing if m not in self.unweighted_losses]
        unsplit = ''.join(f'; `{name}` {why}'
                          for name, why in recorder.unsplittable.items())
        if refused:
            raise RuntimeError(
                f'InfoBatch: the loss terms {refused} carry gradient but '
                'reach no loss module InfoBatch weights (the loss modules '
                f'found are {recorder.module_names}{unsplit}). Weighting '
                'only part of the loss biases the gradient. Compute the '
                'term with a loss module (any nn.Module with '
                "reduction='mean'/'sum', or one served by an adapter in "
                'mmib.engine.LOSS_ADAPTERS: README, "Loss adapters"), or '
                'accept the bias knowingly with InfoBatchHook('
                f'unweighted_losses={refused}).')
        if allowed:
            self._warn(
                f'InfoBatch: the loss terms {allowed} stay unweighted '
                '(unweighted_losses): their samples are still pruned, so '
                f'their gradient is biased{unsplit}.')
