"""The plan of each pass: the run's policy, with a savings budget's count."""
from typing import Optional

from .budget import SavingsBudget
from .geometry import PassGeometry
from .plan import BatchLayout, PassPlan
from .policies import PassPolicy
from .scores import ScoreTable
from .validation import check_plan


class PassPlanner:
    """Plans each pass with the run's policy; with a savings budget, the
    policy's ratios of each pass are set for the count the budget leaves it
    (:meth:`SavingsBudget.policy_for_pass`).

    Args:
        policy (PassPolicy): The run's policy.
        budget (SavingsBudget, optional): The saved fraction to aim at;
            None prunes by the policy's ratios.

    Raises:
        ValueError: A budget with a policy that never prunes.
    """

    def __init__(self, policy: PassPolicy,
                 budget: Optional[SavingsBudget] = None) -> None:
        if budget is not None and not policy.prunes:
            raise ValueError('target_saving needs a ratio above 0 (its '
                             'bands set the shape the budget scales).')
        self.policy = policy
        self.budget = budget

    def check_run(self, num_passes: float, num_repeats: int = 1) -> None:
        """Raise if the budget cannot be followed in this run
        (:meth:`SavingsBudget.check` over the policy's shortened passes;
        repeated-augmentation copies are not supported)."""
        if self.budget is None:
            return
        if num_repeats > 1:
            raise ValueError('target_saving does not support '
                             "RepeatAugSampler's repeated copies yet; set "
                             'ratio instead.')
        self.budget.check(num_passes,
                          self.policy.shortened_passes(num_passes))

    def plan(self, table: ScoreTable, pass_index: int,
             geometry: PassGeometry, samples_trained: int, seed: int,
             layout: Optional[BatchLayout] = None,
             full_samples: Optional[float] = None) -> PassPlan:
        """The plan of pass ``pass_index``.

        Args:
            table (ScoreTable): The scores.
            pass_index (int): The pass about to start.
            geometry (PassGeometry): The run's passes.
            samples_trained (int): Samples trained so far (the budget's
                account).
            seed (int): Seed of the pruning draws.
            layout (BatchLayout, optional): Batches of the pass, to avoid a
                one-sample last batch (BatchNorm).
            full_samples (float, optional): Samples the full run trains
                (the budget's reference); None: ``num_passes`` times the
                data set.
        """
        policy, num_passes = self.policy, geometry.num_passes
        if self.budget is not None:
            policy = self.budget.policy_for_pass(
                policy, table, pass_index, num_passes,
                geometry.num_pruning_passes,
                samples_trained, full_samples)
        plan = policy.plan(table, pass_index, num_passes, seed, layout)
        check_plan(plan, len(table), self.policy.name)
        return plan

    def describe_target(self) -> str:
        """What the savings line adds: the target, with a budget."""
        if self.budget is None:
            return ''
        return f' against a target saving of {self.budget.target:.1%}'

    def shortfall(self, saved: float) -> Optional[str]:
        """A warning when the run missed the budget's target (see
        :meth:`SavingsBudget.shortfall`)."""
        return None if self.budget is None else self.budget.shortfall(saved)
