"""MMEngine's own part of a resumed checkpoint, checked against the run.

``Runner.resume`` reads ``meta['epoch']`` and ``meta['iter']`` as they are
(``10**9`` trains nothing and exits 0), reseeds with ``meta['seed']``, loads
the model from ``state_dict`` when there is one (without it the run goes on
from random weights), and loads optimizer and scheduler states by updating
their ``__dict__`` (a NaN learning rate trains NaN losses; a key named like
a method shadows it). :func:`check_resume_fields` checks these fields
against the runner before MMEngine reads them (from ``after_load_checkpoint``
of both mmib hooks, which runs right after the load), each error naming the
field.
"""
import math
from numbers import Number
from typing import Any, Iterable, List

#: the seeds MMEngine's ``set_random_seed`` accepts (numpy's range)
SEED_RANGE = 2**32


class ResumeFieldError(ValueError):
    """A field of MMEngine's part of a checkpoint that this run cannot
    resume from."""


def _refuse(field: str, why: str) -> None:
    raise ResumeFieldError(
        f'checkpoint field {field}: {why}. The run was not resumed; resume '
        'from a checkpoint this config wrote (or start without --resume).')


def _counter(meta: dict, key: str, most: int) -> None:
    if key not in meta:
        _refuse(f"meta['{key}']", 'missing (MMEngine writes the epochs and '
                'iterations trained)')
    value = meta[key]
    if isinstance(value, bool) or not isinstance(value, int):
        _refuse(f"meta['{key}']",
                f'{str(value)[:40]!r} is not an integer (MMEngine writes '
                'the epochs and iterations trained)')
    if not 0 <= value <= most:
        _refuse(f"meta['{key}']",
                f'{value} is outside [0, {most}], what this config trains')


def _finite_numbers(value: Any, field: str, depth: int = 0) -> None:
    """Every number inside ``value`` (lists, dicts) is finite."""
    if depth > 8:
        return
    if isinstance(value, bool):
        return
    if isinstance(value, Number):
        if not math.isfinite(float(value.real)):
            _refuse(field, f'{value} is not a finite number')
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value[:10_000]):
            _finite_numbers(item, f'{field}[{i}]', depth + 1)
    elif isinstance(value, dict):
        for key, item in list(value.items())[:10_000]:
            if key != 'params':  # parameter ids
                _finite_numbers(item, f'{field}[{key!r}]', depth + 1)


def _same_kind(value: Any, own: Any) -> bool:
    """Whether a loaded scheduler value can stand where the scheduler
    holds ``own``: numbers for numbers (bools for bools), lists of the same
    length, the same type otherwise (anything where it holds None)."""
    if own is None:
        return True
    if isinstance(own, bool) or isinstance(value, bool):
        return isinstance(own, bool) and isinstance(value, bool)
    if isinstance(own, Number):
        return isinstance(value, Number)
    if isinstance(own, (list, tuple)):
        return isinstance(value, (list, tuple)) and len(value) == len(
            own) and all(_same_kind(v, o) for v, o in zip(value, own))
    return isinstance(value, type(own))


def _schedulers(schedulers: Any) -> List[Any]:
    if schedulers is None:
        return []
    if isinstance(schedulers, dict):
        return [s for group in schedulers.values() for s in group]
    return list(schedulers)


def _check_schedulers(states: Any, schedulers: Iterable[Any]) -> None:
    schedulers = _schedulers(schedulers)
    if isinstance(states, dict):
        states = [s for group in states.values() for s in
                  (group if isinstance(group, list) else [group])]
    if not isinstance(states, list):
        _refuse("['param_schedulers']", 'not a list of scheduler states')
    if len(states) != len(schedulers):
        _refuse("['param_schedulers']",
                f'{len(states)} scheduler states for the config\'s '
                f'{len(schedulers)} schedulers')
    for i, (state, scheduler) in enumerate(zip(states, schedulers)):
        field = f"['param_schedulers'][{i}]"
        if not isinstance(state, dict):
            _refuse(field, 'not a dict')
        own = scheduler.state_dict()
        for key in state:
            if key not in own:
                _refuse(f'{field}[{str(key)[:40]!r}]',
                        f'{type(scheduler).__name__} has no such state (it '
                        'would be set on the scheduler as an attribute'
                        + (', shadowing its method' if callable(
                            getattr(type(scheduler), str(key), None)) else
                           '') + ')')
            if not _same_kind(state[key], own[key]):
                _refuse(f'{field}[{str(key)[:40]!r}]',
                        f'{str(state[key])[:40]!r} where '
                        f'{type(scheduler).__name__} holds a '
                        f'{type(own[key]).__name__}')
        _finite_numbers(state, field)
        if 'T_max' in state and not (isinstance(state['T_max'], Number)
                                     and state['T_max'] > 0):
            _refuse(f"{field}['T_max']",
                    f"{state['T_max']!r} is not a positive period")


def check_resume_fields(checkpoint: Any, runner) -> None:
    """Check what ``Runner.resume`` reads of a loaded checkpoint.

    Args:
        checkpoint (dict): The checkpoint, as loaded.
        runner (Runner): The runner resuming (its train loop, optimizer
            wrapper and parameter schedulers are built).

    Raises:
        ResumeFieldError: Naming the first field that is wrong for this run.
    """
    if not isinstance(checkpoint, dict):
        _refuse('<root>', f'a {type(checkpoint).__name__}, not a dict')
    meta = checkpoint.get('meta')
    if not isinstance(meta, dict):
        _refuse("['meta']", 'missing or not a dict (MMEngine writes the '
                'epoch, iteration and seed there)')
    loop = runner.train_loop
    _counter(meta, 'iter', int(loop.max_iters))
    _counter(meta, 'epoch', int(getattr(loop, 'max_epochs', 1) or 1))
    seed = meta.get('seed')
    if seed is not None and (isinstance(seed, bool) or not isinstance(
            seed, int) or not 0 <= seed < SEED_RANGE):
        _refuse("meta['seed']", f'{str(seed)[:40]!r} is not an integer in '
                f'[0, 2**32) (the seeds MMEngine can set)')
    if not isinstance(checkpoint.get('state_dict'), dict):
        _refuse("['state_dict']", 'missing: the model would go on from its '
                'initial weights')
    optimizer = checkpoint.get('optimizer')
    if optimizer is not None:
        groups = optimizer.get('param_groups') if isinstance(
            optimizer, dict) else None
        if isinstance(groups, list):
            _finite_numbers(groups, "['optimizer']['param_groups']")
            for i, group in enumerate(groups):
                lr = group.get('lr') if isinstance(group, dict) else None
                if isinstance(lr, Number) and not isinstance(lr, bool) \
                        and lr < 0:
                    _refuse(f"['optimizer']['param_groups'][{i}]['lr']",
                            f'{lr} is negative')
    if 'param_schedulers' in checkpoint:
        _check_schedulers(checkpoint['param_schedulers'],
                          runner.param_schedulers)
