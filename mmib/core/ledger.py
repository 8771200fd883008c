"""The savings ledger: what a run trained against what the full data takes.

Savings count forward/backward passes actually run: every sample of every
training batch, all ranks together. Padding repeats (the copies that
``DefaultSampler``-style sharding appends so that every rank gets as many
samples) are counted apart.
"""
from dataclasses import asdict, dataclass
from typing import Dict, Optional


@dataclass
class SavingsLedger:
    """Counts of the whole run.

    Args:
        samples_trained (int): Samples trained (all ranks, padding
            excluded).
        padding_samples (int): Padding repeats trained.
        iters_trained (int): Iterations run.
        iters_full (int): Full-data iterations the run stood for.
        passes_done (int): Passes over the data completed.
        unscored (int): Losses not stored as scores (NaN/inf, no valid
            pixel), counted when the scores are stored.
    """

    samples_trained: int = 0
    padding_samples: int = 0
    iters_trained: int = 0
    iters_full: int = 0
    passes_done: int = 0
    unscored: int = 0

    def record_step(self, samples: int, padding: int,
                    full_steps: int) -> None:
        """Count one iteration.

        Args:
            samples (int): Real samples of the step (all ranks).
            padding (int): Padding repeats of the step (all ranks).
            full_steps (int): Full-data iterations the step stood for.
        """
        self.samples_trained += samples
        self.padding_samples += padding
        self.iters_trained += 1
        self.iters_full += full_steps

    def end_pass(self) -> None:
        """Count a completed pass over the data."""
        self.passes_done += 1

    def savings(self, num_samples: int,
                current_pass_fraction: float = 0.0,
                full_per_iter: Optional[int] = None) -> Dict[str, float]:
        """The run so far against the full data.

        Args:
            num_samples (int): Samples of the data set (one full pass).
            current_pass_fraction (float): Share of the current pass already
                trained (0 between passes).
            full_per_iter (int, optional): Samples of one iteration of the
                full run. Given (iteration-based runs, whose endless
                sampler has no short last batch), the full run's count is
                ``iters_full * full_per_iter``; None: ``passes *
                num_samples`` (an epoch trains the data set once).

        Returns:
            dict: ``samples_trained``, ``padding_samples``, ``samples_full``
            (what the full data takes for the same passes),
            ``iters_trained``, ``iters_full`` and the saved fractions
            ``saved_samples`` and ``saved_iters``.
        """
        passes = self.passes_done + current_pass_fraction
        samples_full = (round(passes * num_samples) if full_per_iter is None
                        else self.iters_full * full_per_iter)
        result = dict(
            samples_trained=self.samples_trained,
            padding_samples=self.padding_samples,
            samples_full=samples_full,
            iters_trained=self.iters_trained,
            iters_full=self.iters_full)
        result['saved_samples'] = (1 - self.samples_trained / samples_full
                                   if samples_full else 0.0)
        result['saved_iters'] = (1 - self.iters_trained / self.iters_full
                                 if self.iters_full else 0.0)
        return result

    def state_dict(self) -> Dict[str, int]:
        """Plain integers to checkpoint."""
        return asdict(self)

    def load_state_dict(self, state: Dict[str, int]) -> None:
        """Restore from :meth:`state_dict` (missing counts stay 0)."""
        for name in self.__dataclass_fields__:
            setattr(self, name, int(state.get(name, 0)))
