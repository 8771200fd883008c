"""The pass geometry of a run: how long a pass is and how many there are."""
from dataclasses import dataclass

from .settings import num_pruning_passes


@dataclass
class PassGeometry:
    """How many passes a run makes, how long each is, and which prune.

    The numbers travel together from the loop glue to the planner, the
    clock and the log text. ``pass_len`` is the one that changes: the pass
    driver sets it when a pass (pruned or not) starts.

    Args:
        full_pass_len (int): Iterations of a pass over the full data.
        target_full_iters (int): Full-data iterations the schedule covers.
        delta (float): Fraction of the passes that may prune.
        pass_len (int): Iterations of the current pass; 0 (the default):
            ``full_pass_len``.
    """

    full_pass_len: int
    target_full_iters: int
    delta: float = 1.0
    pass_len: int = 0

    def __post_init__(self) -> None:
        if self.full_pass_len <= 0:
            raise ValueError(
                f'full_pass_len must be positive, got {self.full_pass_len}')
        if not self.pass_len:
            self.pass_len = self.full_pass_len

    @property
    def num_passes(self) -> float:
        """Passes of the run (a fraction for an iteration-based run that
        ends inside a pass)."""
        return self.target_full_iters / self.full_pass_len

    @property
    def num_pruning_passes(self) -> int:
        """Passes that may prune (:func:`num_pruning_passes`)."""
        return num_pruning_passes(self.num_passes, self.delta)
