"""The plan of each pass: the run's policy, with a savings budget's count."""
from typing import Optional, Sequence, Union

from .budget import SavingsBudget
from .policies import PassPolicy, build_policy
from .pruning import BatchLayout, EpochPlan, PruningPolicy, ScoreTable
from .validation import check_plan, check_quantiles, large_weight_warning


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

    @classmethod
    def from_options(cls,
                     ratio: Union[float, Sequence[float]] = 0.5,
                     delta: float = 0.875,
                     threshold: str = 'mean',
                     quantiles: Optional[Sequence[float]] = None,
                     rescale: bool = True,
                     policy: str = 'infobatch',
                     policy_options: Optional[dict] = None,
                     target_saving: Optional[float] = None) -> 'PassPlanner':
        """The planner of ``InfoBatchHook``'s options (see there), each
        checked with an error naming it."""
        ratios = (tuple(ratio) if isinstance(ratio, (list, tuple)) else
                  (ratio, ))
        pruning = PruningPolicy(
            ratios=ratios, delta=delta, threshold=threshold,
            quantiles=check_quantiles(quantiles), rescale=rescale)
        return cls(
            build_policy(policy, pruning, policy_options),
            None if target_saving is None else SavingsBudget(target_saving))

    @property
    def weight_warning(self) -> Optional[str]:
        """A warning for loss weights large enough to destabilise training
        (:func:`~mmib.core.validation.large_weight_warning`), or None."""
        pruning = self.policy.pruning
        return large_weight_warning(pruning.ratios, pruning.rescale)

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

    def plan(self, table: ScoreTable, pass_index: int, num_passes: float,
             num_pruning_passes: int, samples_trained: int, seed: int,
             layout: Optional[BatchLayout] = None,
             full_samples: Optional[float] = None) -> EpochPlan:
        """The plan of pass ``pass_index``.

        Args:
            table (ScoreTable): The scores.
            pass_index (int): The pass about to start.
            num_passes (float): Passes of the run.
            num_pruning_passes (int): Passes that may prune (``delta``).
            samples_trained (int): Samples trained so far (the budget's
                account).
            seed (int): Seed of the pruning draws.
            layout (BatchLayout, optional): Batches of the pass, to avoid a
                one-sample last batch (BatchNorm).
            full_samples (float, optional): Samples the full run trains
                (the budget's reference); None: ``num_passes`` times the
                data set.
        """
        policy = self.policy
        if self.budget is not None:
            policy = self.budget.policy_for_pass(
                policy, table, pass_index, num_passes, num_pruning_passes,
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
