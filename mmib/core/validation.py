"""Checks of the hook's saved state, before anything trains on it.

A checkpoint is input: its InfoBatch state decides which samples train and
with which loss weights. :func:`validate_state` checks every field of what
:meth:`InfoBatchSnapshot.to_dict` writes, and raises :class:`StateError`
naming the field, the value found and what was expected: kept indices
unique, sorted and in range; weights finite, non-negative, positive exactly
for the kept samples; scores finite where seen; counters non-negative
integers within what the data set size allows; tensors contiguous (no
stretched, stride-0 views) of the declared size.
"""
import math
from typing import Any, Dict, Optional, Sequence

import numpy as np
import torch


class StateError(ValueError):
    """The InfoBatch state of a checkpoint is not what mmib writes."""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + '...'


def fail(field: str, value: Any, expected: str) -> None:
    raise StateError(
        f"checkpoint['infobatch'].{field} = {_short(value)}: expected "
        f'{expected}. The checkpoint was not written by this mmib or is '
        'damaged; resume from another checkpoint, or start without --resume.')


def need_int(state: Dict[str, Any], key: str, field: str, low: int = 0,
             high: Optional[int] = None) -> int:
    value = state.get(key) if isinstance(state, dict) else None
    if key not in state:
        fail(field, '<missing>', 'an integer')
    if isinstance(value, bool) or not isinstance(value, int):
        fail(field, value, 'an integer')
    if value < low or (high is not None and value > high):
        fail(field, value, f'an integer in [{low}, {high}]'
             if high is not None else f'an integer >= {low}')
    return value


def need_dict(state: Any, key: str, field: str,
              keys: Sequence[str] = ()) -> Dict[str, Any]:
    if not isinstance(state, dict) or key not in state:
        fail(field, '<missing>', 'a dict')
    value = state[key]
    if not isinstance(value, dict):
        fail(field, value, 'a dict')
    for name in keys:
        if name not in value:
            fail(f'{field}.{name}', '<missing>', 'present')
    return value


def need_tensor(state: Dict[str, Any], key: str, field: str,
                dtypes: Sequence[torch.dtype], length: Optional[int] = None,
                max_length: Optional[int] = None) -> torch.Tensor:
    """A 1-D contiguous tensor of one of ``dtypes``."""
    if key not in state:
        fail(field, '<missing>', 'a tensor')
    value = state[key]
    if not isinstance(value, torch.Tensor):
        fail(field, value, 'a tensor')
    if value.dtype not in dtypes:
        fail(field, value.dtype, f'dtype in {list(dtypes)}')
    if value.dim() != 1:
        fail(field, tuple(value.shape), 'a 1-D tensor')
    if value.device.type == 'meta' or value.requires_grad:
        fail(field, f'a tensor on {value.device.type}'
             + (' that requires grad' if value.requires_grad else ''),
             'a plain tensor of values')
    if not value.is_contiguous():  # e.g. a stretched, stride-0 view
        fail(field, f'stride {value.stride()}', 'a contiguous tensor')
    if length is not None and value.numel() != length:
        fail(field, f'{value.numel()} elements', f'{length} elements')
    if max_length is not None and value.numel() > max_length:
        fail(field, f'{value.numel()} elements', f'at most {max_length}')
    return value


def validate_state(state: Any, num_samples: Optional[int] = None,
                   max_passes: Optional[float] = None,
                   max_full_iters: Optional[int] = None) -> None:
    """Check an InfoBatch checkpoint state (as :meth:`to_dict` writes it).

    Args:
        state: ``checkpoint['infobatch']``.
        num_samples (int, optional): The training set's size now (not
            used: the state is checked against its own layout's
            ``num_samples``, and a changed data set is the resume plan's
            to handle).
        max_passes (float, optional): Passes of the run's schedule; the
            ledger and clock may not count more.
        max_full_iters (int, optional): Full-data iterations of the run's
            schedule; the clock and the ledger may not stand for more.

    Raises:
        StateError: Naming the first field that is wrong.
    """
    if not isinstance(state, dict):
        fail('', type(state).__name__, 'a dict')
    from .state import READABLE_VERSIONS
    version = state.get('version')
    if type(version) is not int or version not in READABLE_VERSIONS:
        fail('version', state.get('version', '<missing>'),
             f'one of {READABLE_VERSIONS} (the mmib that wrote it)')
    ratios = state.get('ratios', [])
    if not isinstance(ratios, (list, tuple)) or len(ratios) > 64 or not all(
            isinstance(r, (int, float)) and not isinstance(r, bool)
            and math.isfinite(r) and 0 <= r < 1 for r in ratios):
        fail('ratios', ratios, 'a list of numbers in [0, 1)')
    layout = need_dict(state, 'layout', 'layout', ('num_samples', ))
    n = need_int(layout, 'num_samples', 'layout.num_samples', 1)
    if layout.get('batch_size') is not None:
        need_int(layout, 'batch_size', 'layout.batch_size', 1)
    if 'world_size' in layout:
        need_int(layout, 'world_size', 'layout.world_size', 1)
    # another data set (num_samples != n) is handled by the resume plan,
    # once the whole state is known to be sound: every field is checked
    # against the state's own layout here, whatever the data set now

    table = need_dict(state, 'table', 'table', ('scores', 'seen'))
    scores = need_tensor(table, 'scores', 'table.scores',
                         (torch.float32, torch.float64), length=n)
    seen = need_tensor(table, 'seen', 'table.seen', (torch.bool, ), length=n)
    if not bool(torch.isfinite(scores[seen]).all()):
        bad = int((~torch.isfinite(scores) & seen).nonzero()[0])
        fail(f'table.scores[{bad}]', float(scores[bad]),
             'a finite score (the sample is marked seen)')

    plan = need_dict(state, 'plan', 'plan',
                     ('epoch', 'kept_indices', 'weights', 'thresholds',
                      'annealing'))
    need_int(plan, 'epoch', 'plan.epoch')
    kept = need_tensor(plan, 'kept_indices', 'plan.kept_indices',
                       (torch.int64, torch.int32), max_length=n)
    weights = need_tensor(plan, 'weights', 'plan.weights',
                          (torch.float32, torch.float64), length=n)
    need_tensor(plan, 'thresholds', 'plan.thresholds',
                (torch.float32, torch.float64), max_length=64)
    if not isinstance(plan['annealing'], bool):
        fail('plan.annealing', plan['annealing'], 'True or False')
    if kept.numel():
        if int(kept.min()) < 0 or int(kept.max()) >= n:
            fail('plan.kept_indices', f'values in [{int(kept.min())}, '
                 f'{int(kept.max())}]', f'indices in [0, {n - 1}]')
        if kept.numel() > 1 and not bool((kept[1:] > kept[:-1]).all()):
            fail('plan.kept_indices', 'repeated or unsorted indices',
                 'unique indices in increasing order')
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        fail('plan.weights', 'a negative or non-finite weight',
             'finite weights >= 0')
    # the largest weight a policy gives: 1/(1-ratio) (InfoBatch) or
    # n_scored/n_kept <= n (random pruning with rescaling)
    top = max([n] + [1 / (1 - r) for r in ratios])
    if weights.numel() and float(weights.max()) > top * (1 + 1e-6):
        fail('plan.weights', f'max {float(weights.max()):g}',
             f'weights <= {top:g}')
    positive = weights > 0
    if int(positive.sum()) != kept.numel() or (
            kept.numel() and not bool(positive[kept.long()].all())):
        fail('plan.weights', f'{int(positive.sum())} positive weights for '
             f'{kept.numel()} kept samples',
             'a weight > 0 exactly for the kept samples')

    ledger = need_dict(state, 'ledger', 'ledger')
    passes = need_int(
        ledger, 'passes_done', 'ledger.passes_done', 0,
        None if max_passes is None else math.ceil(max_passes))
    bound = (passes + 1) * n * 64  # repeated augmentation, world padding
    for key in ('samples_trained', 'padding_samples', 'unscored'):
        if key in ledger:
            need_int(ledger, key, f'ledger.{key}', 0, bound)
    for key in ('iters_trained', 'iters_full'):
        if key in ledger:
            need_int(ledger, key, f'ledger.{key}', 0,
                     bound if max_full_iters is None else max_full_iters)

    # counts and stamps (absent before mmib 0.2: zeros)
    if 'counts' in table:
        counts = need_tensor(table, 'counts', 'table.counts',
                             (torch.int32, torch.int64), length=n)
        if n and (int(counts.min()) < 0 or int(counts.max()) > 64 *
                  (passes + 1)):
            fail('table.counts', f'values in [{int(counts.min())}, '
                 f'{int(counts.max())}]',
                 f'counts in [0, {64 * (passes + 1)}] (times scored)')
    if 'stamps' in table:
        stamps = need_tensor(table, 'stamps', 'table.stamps',
                             (torch.int64, ), length=n)
        from .scores import stamp_pass
        if n and (int(stamps.min()) < 0 or
                  int(stamp_pass(stamps).max()) > passes + 1):
            fail('table.stamps', 'a negative stamp or one of a later pass',
                 f'stamps of passes 0..{passes + 1}')

    clock = need_dict(state, 'clock', 'clock')
    need_int(clock, 'pass_index', 'clock.pass_index', 0, passes + 1)
    # the iterations of the current plan on the checkpoint's layout (times
    # 3: mmpretrain's RepeatAugSampler repeats each sample)
    batch, world = layout.get('batch_size'), layout.get('world_size') or 1
    pass_iters = (n if not batch else 3 * math.ceil(
        math.ceil(max(1, kept.numel()) / world) / batch))
    need_int(clock, 'pass_iter', 'clock.pass_iter', 0, pass_iters)
    need_int(clock, 'pass_samples', 'clock.pass_samples', 0, 64 * n)
    need_int(clock, 'pass_unscored', 'clock.pass_unscored', 0, 64 * n)
    need_int(clock, 'full_iters', 'clock.full_iters', 0,
             bound if max_full_iters is None else max_full_iters)
    if clock['pass_iter'] and plan['epoch'] != clock['pass_index']:
        # a checkpoint inside a pass holds that pass's plan: another would
        # make the resume plan the pass anew and train it again
        fail('plan.epoch', plan['epoch'],
             f"the interrupted pass {clock['pass_index']} (clock.pass_index; "
             f"the checkpoint stands at its iteration {clock['pass_iter']})")

    from .setting_changes import check_settings
    for key in ('settings', 'plan_settings'):
        if state.get(key) is not None:
            why = check_settings(state[key])
            if why is not None:
                fail(key, type(state[key]).__name__, why)
    of_plan = state.get('plan_settings') or state.get('settings')
    if of_plan is not None:
        _check_weights_of_policy(of_plan, weights, n, max_passes)


# -- settings of InfoBatchHook, checked when the runner is built -------------
def check_quantiles(quantiles: Any) -> tuple:
    """``quantiles`` as a tuple; a scalar is named."""
    if quantiles is None:
        return ()
    if not isinstance(quantiles, (list, tuple)):
        raise ValueError(
            f'quantiles={quantiles!r} must be a list, one quantile per ratio, '
            f'e.g. quantiles=[{quantiles!r}].')
    for q in quantiles:
        if isinstance(q, bool) or not isinstance(q, (int, float)):
            raise ValueError(
                f'quantiles={list(quantiles)} holds {q!r}: each quantile is '
                'a number in (0, 1), e.g. quantiles=[0.2, 0.85].')
    return tuple(quantiles)


def check_seed(seed: Any) -> Optional[int]:
    """``seed`` must be an integer or None (bools and floats are named)."""
    if seed is not None and (isinstance(seed, bool)
                             or not isinstance(seed, int)):
        raise ValueError(f"seed={seed!r} must be an integer or None (None: "
                         "the training sampler's seed).")
    return seed


def large_weight_warning(ratios: Sequence[float],
                         rescale: bool) -> Optional[str]:
    """A warning for loss weights above 20 (``ratio >= 0.95``), or None."""
    top = max(ratios)
    if not rescale or top < 0.95:
        return None
    return (f'InfoBatch: ratio={top} gives the kept low-score samples the '
            f'loss weight {1 / (1 - top):.0f} (above 20): one kept sample '
            'then stands for many pruned ones, and its gradient can dominate '
            'a step.')


def check_plan(plan: Any, num_samples: int, policy: str) -> None:
    """Check a plan a policy returned, naming the policy.

    Args:
        plan (PassPlan): The plan.
        num_samples (int): The data set's size.
        policy (str): The policy's registered name.

    Raises:
        ValueError: Indices that are not sorted, unique and in range,
            weights of another length, non-finite or negative weights, or
            positive weights that do not match the kept indices.
    """
    def bad(what: str) -> None:
        raise ValueError(
            f'policy={policy!r} returned a plan with {what}: a plan keeps '
            f'sorted, unique indices in [0, {num_samples - 1}] and gives '
            f'weights of shape ({num_samples},), > 0 exactly for the kept '
            'samples (see mmib.core.PassPlan).')
    kept, weights = plan.kept_indices, plan.weights
    if not isinstance(kept, torch.Tensor) or kept.dim() != 1 or \
            kept.dtype not in (torch.int64, torch.int32):
        bad('kept_indices that are not a 1-D integer tensor')
    if not isinstance(weights, torch.Tensor) or tuple(
            weights.shape) != (num_samples, ):
        bad(f'weights of shape {tuple(getattr(weights, "shape", ()))}')
    if kept.numel():
        if int(kept.min()) < 0 or int(kept.max()) >= num_samples:
            bad(f'indices in [{int(kept.min())}, {int(kept.max())}]')
        if kept.numel() > 1 and not bool((kept[1:] > kept[:-1]).all()):
            bad('repeated or unsorted indices')
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        bad('a negative or non-finite weight')
    positive = weights > 0
    if int(positive.sum()) != kept.numel() or (
            kept.numel() and not bool(positive[kept.long()].all())):
        bad(f'{int(positive.sum())} positive weights for {kept.numel()} '
            'kept samples')


def _check_weights_of_policy(settings: Dict[str, Any],
                             weights: torch.Tensor, n: int,
                             max_passes: Optional[float]) -> None:
    """The plan's largest weight against what the policy and settings the
    plan was made with can give (:meth:`PassPolicy.weight_bound`)."""
    from .policies import POLICIES
    name = settings.get('policy')
    cls = POLICIES.get(name) if isinstance(name, str) else None
    ratio = settings.get('ratio', 0.5)
    ratios = ratio if isinstance(ratio, list) else [ratio]
    if cls is None or not weights.numel() or not all(
            isinstance(r, (int, float)) and 0 <= r < 1 for r in ratios):
        return  # not registered here, or no ratio to go by: n holds
    passes = max_passes if max_passes is not None else float(n)
    bound = cls.weight_bound(
        tuple(float(r) for r in ratios), bool(settings.get('rescale', True)),
        settings.get('target_saving') is not None, passes, n)
    if float(weights.max()) > bound * (1 + 1e-6):
        fail('plan.weights', f'max {float(weights.max()):g}',
             f"weights <= {bound:g} (what policy={settings.get('policy')!r} "
             'gives with the recorded settings)')
