"""The schedule clock: maps iterations of a shortened pass onto the full one.

A *pass* is one sweep over the data (an epoch). With InfoBatch a pass trains
``pass_len`` iterations where the full data would take ``full_len``. The
parameter schedules of the config are written in full-data iterations, so
after ``done`` iterations of the shortened pass the schedule should stand at
``full_data_steps(done, pass_len, full_len)``; at the end of the pass it
stands exactly at ``full_len``, and the schedule ends with the training.
"""
import math
from dataclasses import asdict, dataclass
from typing import Dict, Optional


def full_data_steps(done: int, pass_len: int, full_len: int) -> int:
    """Full-data iterations covered after ``done`` iterations of a pass.

    Args:
        done (int): Iterations of the current pass already trained,
            ``0 <= done <= pass_len``.
        pass_len (int): Iterations of the current (possibly pruned) pass.
        full_len (int): Iterations the pass takes on the full data.

    Returns:
        int: ``floor(done * full_len / pass_len)``; ``full_len`` when
        ``done == pass_len``.
    """
    if pass_len <= 0:
        raise ValueError(f'pass_len must be positive, got {pass_len}')
    if not 0 <= done <= pass_len:
        raise ValueError(f'done={done} is outside [0, pass_len={pass_len}]')
    return done * full_len // pass_len


def scheduler_steps_for_iter(batch_idx: int, pass_len: int,
                             full_len: int) -> int:
    """Number of scheduler steps that iteration ``batch_idx`` stands for.

    Args:
        batch_idx (int): 0-based index of the iteration inside its pass.
        pass_len (int): Iterations of the current pass.
        full_len (int): Iterations the pass takes on the full data.

    Returns:
        int: At least 1 when ``pass_len <= full_len``; the steps of all
        iterations of a pass add up to ``full_len``.
    """
    return (full_data_steps(batch_idx + 1, pass_len, full_len) -
            full_data_steps(batch_idx, pass_len, full_len))


def iterations_to_cover(full_steps: int, pass_len: int,
                        full_len: int) -> Optional[int]:
    """Iterations of a pass after which ``full_steps`` are covered.

    Args:
        full_steps (int): Full-data iterations to cover from the start of
            the pass, ``>= 0``.
        pass_len (int): Iterations of the pass.
        full_len (int): Iterations the pass takes on the full data.

    Returns:
        int or None: The smallest ``j`` with
        ``full_data_steps(j, pass_len, full_len) >= full_steps``
        (``floor(j * F / L) >= s`` exactly when ``j >= ceil(s * L / F)``),
        or None if the whole pass covers fewer.
    """
    if full_steps > full_len:
        return None
    return -(-full_steps * pass_len // full_len)  # integer ceil


@dataclass
class PassClock:
    """Where training stands: the pass, the iteration inside it, and the
    full-data iterations covered so far (the schedule clock).

    Args:
        pass_index (int): 0-based current pass.
        pass_iter (int): Iterations of the current pass already trained.
        pass_samples (int): Samples (all ranks, padding excluded) of the
            current pass already trained.
        pass_unscored (int): Losses of the current pass not stored as scores.
        full_iters (int): Full-data iterations the run has covered.
    """

    pass_index: int = 0
    pass_iter: int = 0
    pass_samples: int = 0
    pass_unscored: int = 0
    full_iters: int = 0

    def reset_to_pass(self, pass_index: int) -> None:
        """Begin pass ``pass_index`` at its first iteration."""
        self.pass_index = pass_index
        self.pass_iter = self.pass_samples = self.pass_unscored = 0

    def step(self, pass_len: int, full_len: int, target: int) -> int:
        """Count one trained iteration of the current pass.

        Args:
            pass_len (int): Iterations of the current pass.
            full_len (int): Iterations of a full-data pass.
            target (int): Full-data iterations of the whole schedule; the
                clock never goes past it.

        Returns:
            int: Scheduler steps this iteration stands for (0 once the
            target is reached).
        """
        steps = scheduler_steps_for_iter(self.pass_iter, pass_len, full_len)
        steps = max(0, min(steps, target - self.full_iters))
        self.full_iters += steps
        self.pass_iter += 1
        return steps

    def pass_start_full_iters(self, pass_len: int, full_len: int) -> int:
        """Full-data iterations covered when the current pass began."""
        return self.full_iters - full_data_steps(self.pass_iter, pass_len,
                                                 full_len)

    def end_in_pass(self, target: int, pass_len: int,
                    full_len: int) -> Optional[int]:
        """The pass iteration count after which the clock reaches
        ``target``, if that happens in the current pass."""
        start = self.pass_start_full_iters(pass_len, full_len)
        return iterations_to_cover(target - start, pass_len, full_len)

    def remaining_iters(self, pass_len: int, full_len: int, target: int,
                        pruning_passes: int, pass_is_pruned: bool) -> int:
        """Iterations left in the run (an estimate past this pass).

        The current pass's remaining iterations, the remaining pruning
        passes at the current pass's length, the annealing passes at full
        length.

        Args:
            pass_len (int): Iterations of the current pass.
            full_len (int): Iterations of a full-data pass.
            target (int): Full-data iterations of the whole schedule.
            pruning_passes (int): Passes that prune (``floor(delta *
                passes)``).
            pass_is_pruned (bool): Whether the current pass prunes.

        Returns:
            int: The estimate (exact from the last pass on).
        """
        after_pass = self.pass_start_full_iters(pass_len, full_len) + full_len
        passes_left = max(0.0, (target - after_pass) / full_len)
        pruning_left = min(passes_left,
                           max(0, pruning_passes - (self.pass_index + 1)))
        shrink = pass_len / full_len if pass_is_pruned else 1.0
        future = (pruning_left * shrink + passes_left - pruning_left) * \
            full_len
        return pass_len - self.pass_iter + math.ceil(future)

    def state_dict(self) -> Dict[str, int]:
        """Plain integers to checkpoint."""
        return asdict(self)

    def load_state_dict(self, state: Dict[str, int]) -> None:
        """Restore from :meth:`state_dict`."""
        for name in self.__dataclass_fields__:
            setattr(self, name, int(state[name]))
