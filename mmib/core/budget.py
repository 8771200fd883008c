"""A savings budget: ``InfoBatchHook(target_saving=0.4)``.

Instead of a ratio, the user says how much to save: the whole run (its first,
scoring pass and its annealing passes included) trains ``1 - target_saving``
of the full run's forward/backward passes. Before each pruning pass the
budget gives the number of samples that pass keeps: what is left of the
budget, less the passes that train everything, shared by the pruning passes
left. Adapting pass by pass lands within one batch per pass of the target
whatever each pass's rounding or BatchNorm un-pruning did. The policy then
sets its own ratio for that count (:meth:`PassPolicy.ratios_for`) and weights
by its own rule.
"""
import math
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class SavingsBudget:
    """The saved fraction a run aims at.

    Args:
        target (float): Fraction of the full run's forward/backward passes
            to save, in ``(0, 1)``.
    """

    target: float

    def __post_init__(self) -> None:
        if isinstance(self.target, bool) or not isinstance(
                self.target, (int, float)) or not 0 < self.target < 1:
            raise ValueError(
                f'target_saving={self.target!r} must be a fraction in (0, 1) '
                'of the full run\'s forward/backward passes, e.g. 0.4.')

    def check(self, num_passes: float, num_pruning_passes: int,
              full_passes: float = 1.0) -> None:
        """Raise if the schedule cannot save this much.

        Args:
            num_passes (float): Passes of the run.
            num_pruning_passes (int): Passes that may prune (``delta``).
            full_passes (float): Passes that train everything besides the
                annealing ones (the first, scoring pass).
        """
        prunable = num_pruning_passes - full_passes
        best = max(0.0, prunable) / num_passes
        if self.target >= best:
            raise ValueError(
                f'target_saving={self.target} cannot be reached: of '
                f'{num_passes:g} passes, {max(0, prunable):g} may prune '
                f'(the first only scores the samples and the last '
                f'{num_passes - num_pruning_passes:g} anneal), so even '
                f'pruning all of them saves at most {best:.1%}. Lower '
                'target_saving, raise delta, or train longer.')

    def kept_for_pass(self, pass_index: int, num_samples: int,
                      num_passes: float, num_pruning_passes: int,
                      samples_trained: int,
                      full_samples: Optional[float] = None) -> int:
        """Samples pruning pass ``pass_index`` keeps.

        Args:
            pass_index (int): The pass (0-based), a pruning one.
            num_samples (int): Samples of one full pass.
            num_passes (float): Passes of the run.
            num_pruning_passes (int): Passes that may prune.
            samples_trained (int): Samples trained so far.
            full_samples (float, optional): Samples the full run trains
                (an iteration-based run's ``max_iters * batch``); None:
                ``num_passes * num_samples``.
        """
        if full_samples is None:
            full_samples = num_samples * num_passes
        budget = (1 - self.target) * full_samples
        annealing = max(0.0, num_passes - num_pruning_passes)
        pruning_left = max(1, num_pruning_passes - pass_index)
        share = (budget - samples_trained - annealing * num_samples) / \
            pruning_left
        return int(min(num_samples, max(1, math.floor(share + 0.5))))

    def policy_for_pass(self, policy, table, pass_index: int,
                        num_passes: float, num_pruning_passes: int,
                        samples_trained: int,
                        full_samples: Optional[float] = None):
        """``policy`` with its ratios set for the count this pass keeps.

        Args:
            policy (PassPolicy): The run's policy.
            table (ScoreTable): The scores.
            pass_index (int): The pass about to start.
            num_passes (float): Passes of the run.
            num_pruning_passes (int): Passes that may prune (``delta``).
            samples_trained (int): Samples trained so far.
            full_samples (float, optional): See :meth:`kept_for_pass`.

        Returns:
            PassPolicy: The policy of this pass (``policy`` itself before
            the first scores and after the budget's last pass).
        """
        last = policy.shortened_passes(num_passes)
        if not bool(table.seen.any()) or pass_index >= last:
            return policy
        kept = self.kept_for_pass(pass_index, len(table), num_passes, last,
                                  samples_trained, full_samples)
        return policy.with_ratios(policy.ratios_for(
            table, kept, pass_index, pass_index >= num_pruning_passes))

    def shortfall(self, saved: float) -> Optional[str]:
        """A warning when the run ended more than a point off the target,
        worded for a run that saved too little or too much.

        Args:
            saved (float): Fraction the run saved.
        """
        if abs(saved - self.target) <= 0.01:
            return None
        if saved > self.target:
            return (f'InfoBatch: saved {saved:.1%} where target_saving='
                    f'{self.target} was asked: the policy pruned more than '
                    "the budget's share in some passes (e.g. SeTa's window "
                    'drops a whole loss group, however large), so the run '
                    'trained fewer samples than the target allows.')
        return (f'InfoBatch: saved {saved:.1%} where target_saving='
                f'{self.target} was asked: the policy could not prune as '
                'many samples in some passes (InfoBatch prunes only '
                'below-threshold samples, each band keeps one).')
