"""What a resumed run must still do, and when."""
from dataclasses import dataclass
from typing import Any, Dict, Optional

from ..core import EpochPlan


@dataclass
class PendingResume:
    """The parts of a restored state applied later than ``before_train``.

    MMEngine resumes an epoch-based run at the start of the epoch after the
    checkpoint's, and an iteration-based one at the next iteration. InfoBatch
    resumes exactly where the checkpoint stood: in the middle of a pass
    (``plan`` continues), or, when the checkpoint was taken at the last
    iteration of an epoch, with an empty repeat of that epoch
    (``skip_whole_pass``). torch's random state is set once the resumed
    pass's iterator exists (``torch_rng_at_first_iter``) or right before the
    next pass's iterator is made (``torch_rng_before_next_pass``), so that
    both draw as the uninterrupted run did.

    Args:
        plan (EpochPlan, optional): The interrupted pass's plan.
        skip_whole_pass (bool): Whether the next epoch is a repeat to skip.
        torch_rng_at_first_iter (dict, optional): RNG state for the first
            iteration.
        torch_rng_before_next_pass (dict, optional): RNG state for the start
            of the next pass.
    """

    plan: Optional[EpochPlan] = None
    skip_whole_pass: bool = False
    torch_rng_at_first_iter: Optional[Dict[str, Any]] = None
    torch_rng_before_next_pass: Optional[Dict[str, Any]] = None

    def take_plan(self) -> Optional[EpochPlan]:
        """The interrupted pass's plan, once."""
        plan, self.plan = self.plan, None
        return plan

    def take_skip(self) -> bool:
        """Whether to skip the next pass, once."""
        skip, self.skip_whole_pass = self.skip_whole_pass, False
        return skip

    def take_rng_at_first_iter(self) -> Optional[Dict[str, Any]]:
        """The RNG state for the first iteration, once."""
        rng, self.torch_rng_at_first_iter = self.torch_rng_at_first_iter, None
        return rng

    def take_rng_before_next_pass(self) -> Optional[Dict[str, Any]]:
        """The RNG state for the next pass's start, once."""
        rng = self.torch_rng_before_next_pass
        self.torch_rng_before_next_pass = None
        return rng
