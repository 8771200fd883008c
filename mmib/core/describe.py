"""The log text of a run: policy, schedule, pass, savings (plain strings).

Kept next to the policy and the ledger they describe, so that the hook only
logs what these functions return.
"""
import math
from typing import Dict, Optional, Tuple

from .geometry import PassGeometry
from .plan import PassPlan
from .settings import PruningSettings


def describe_policy(policy: PruningSettings, uniform: bool = False) -> str:
    """What the policy prunes, e.g. ``ratio=0.5 of the samples below the
    mean score (weight 2)``; ``uniform``: the random baseline's draw."""
    if uniform:
        return ('random pruning baseline: as many samples as '
                f'ratio={list(policy.ratios)} prunes below the '
                f'{policy.threshold} threshold(s), drawn from all scored '
                'samples, ' + ('kept ones rescaled' if policy.rescale else
                               'weight 1'))
    if policy.threshold == 'mean':
        return (f'ratio={policy.ratios[0]} of the samples below the mean '
                f'score (weight {policy.weights[0]:g})')
    bands = ', '.join(
        f'below q{q:g}: ratio={r} (weight {w:g})'
        for q, r, w in zip(policy.quantiles, policy.ratios, policy.weights))
    return f'quantile bands [{bands}]'


def describe_schedule(policy: PruningSettings, num_passes: float,
                      num_pruning_passes: int,
                      prunes: Optional[bool] = None) -> str:
    """Which passes really prune: the first only scores (no sample has a
    score yet), the last ``1 - delta`` anneal. Starts with ``'no pass'``
    when none prunes (the hook logs that as a warning)."""
    if not (policy.prunes if prunes is None else prunes):
        return 'ratio 0: nothing is pruned'
    last, total = num_pruning_passes, math.ceil(num_passes)

    def span(first: int, end: int) -> str:
        return f'pass {first}' if first == end else f'passes {first}-{end}'

    if last < 2:
        return (f'no pass prunes: pass 1 only scores the samples and '
                f'delta={policy.delta} of {num_passes:g} passes leaves '
                f'{last} pruning pass(es); at least 2 are needed (raise '
                'delta or train longer)')
    text = f'pass 1 scores all samples, {span(2, last)} prune'
    if total > last:
        text += f', {span(last + 1, total)} anneal on all samples'
    return text


def describe_pass(pass_index: int, plan: PassPlan, any_scored: bool,
                  geometry: PassGeometry, resumed_at: int = 0) -> str:
    """The line logged before each pass."""
    if plan.annealing and plan.num_kept == plan.num_samples:
        what = 'all samples (annealing)'
    elif plan.annealing:
        what = f'{plan.num_kept}/{plan.num_samples} samples (annealing)'
    elif plan.num_kept == plan.num_samples:
        what = 'all samples' if any_scored else 'all samples (no scores yet)'
    elif plan.thresholds.numel():
        what = (f'{plan.num_kept}/{plan.num_samples} samples, '
                f'{plan.num_pruned} pruned below thresholds '
                f'{[round(t, 6) for t in plan.thresholds.tolist()]}')
    else:  # a policy without thresholds (random pool, groups, draws)
        what = (f'{plan.num_kept}/{plan.num_samples} samples, '
                f'{plan.num_pruned} pruned by the policy')
    resumed = f', resumed at iteration {resumed_at}' if resumed_at else ''
    return (f'InfoBatch pass {pass_index + 1}/{geometry.num_passes:g}: '
            f'training {what} in {geometry.pass_len} iterations (full data: '
            f'{geometry.full_pass_len}){resumed}.')


def describe_savings(savings: Dict[str, float]) -> str:
    """One line on :meth:`SavingsLedger.savings`."""
    s = savings
    padding = (f" (+{s['padding_samples']} padding repeats)"
               if s['padding_samples'] else '')
    return (f"trained {s['samples_trained']} samples{padding} of "
            f"{s['samples_full']} for the full data "
            f"(saved {100 * s['saved_samples']:.1f}%), "
            f"{s['iters_trained']} iterations of {s['iters_full']} "
            f"(saved {100 * s['saved_iters']:.1f}%)")


def describe_run(policy, num_samples: int, geometry: PassGeometry,
                 losses, batch_momentum: Optional[float] = None
                 ) -> Tuple[str, bool]:
    """The line logged when training starts, and whether it is a warning
    (no pass prunes).

    Args:
        policy (PassPolicy): The run's policy.
        num_samples (int): Training samples.
        geometry (PassGeometry): The run's passes.
        losses: Where the per-sample losses come from.
        batch_momentum (float, optional): With batch scores, their
            momentum; None for per-sample scores.
    """
    num_passes = geometry.num_passes
    if type(policy).__module__ != 'mmib.core.policies':
        schedule = ('pass 1 scores all samples; the policy plans every '
                    'pass after it')
    elif policy.prunes_when_annealing:  # SeTa, OrderDP: no full passes
        schedule = describe_schedule(policy.pruning, num_passes,
                                     policy.shortened_passes(num_passes),
                                     policy.prunes)
    else:
        schedule = describe_schedule(policy.pruning, num_passes,
                                     geometry.num_pruning_passes,
                                     policy.prunes)
    if batch_momentum is not None:
        scores = ('batch scores (BLS: the mean loss of each batch, averaged '
                  f'with momentum {batch_momentum:g}), from the losses of')
    else:
        scores = 'per-sample losses from'
    return (f'InfoBatch: {num_samples} training samples, '
            f'{policy.describe()}; {num_passes:g} passes over the data '
            f'({geometry.full_pass_len} iterations each on the full data); '
            f'{schedule}; {scores} {losses}.',
            schedule.startswith('no pass'))


def describe_unscored(num_unscored: int) -> str:
    """The warning for a pass some of whose losses were not stored."""
    return (f'InfoBatch: {num_unscored} per-sample losses of this pass were '
            'not stored as scores (NaN/inf, or no valid pixel): those '
            'samples keep their previous score.')
