"""The equal-cost baseline of a finished InfoBatch run.

InfoBatch trains a fraction ``f`` of the full data's forward/backward
passes. The honest alternative at the same cost is the full data trained for
a shorter schedule: ``f`` of the iterations, with every parameter schedule
compressed by the same factor (warm-up, cosine decay, steps all end where
the shorter run ends). :func:`equal_cost_config` writes that config, as an
iteration-based run so that its sample count matches InfoBatch's to within
one batch.
"""
import copy
import glob
import pickle
import os.path as osp
from typing import Optional, Tuple

import torch
from mmengine.config import Config

from mmib.core.state import CHECKPOINT_KEY
from mmib.core.validation import validate_state
from .config_data import read_dumped_config

# parameter-scheduler settings counted in epochs/iterations
_TIME_KEYS = ('begin', 'end', 'T_max', 'step_size', 'total_steps')


def read_infobatch_ledger(work_dir: str) -> dict:
    """The savings ledger of the last checkpoint of an InfoBatch run.

    Args:
        work_dir (str): The run's work directory (with ``last_checkpoint``).

    Returns:
        dict: ``samples_trained``, ``iters_trained``, ``iters_full``,
        ``num_samples``, ``batch_size``, ``world_size``.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.exists(pointer):
        raise FileNotFoundError(
            f'{work_dir!r} has no last_checkpoint: pass the work dir of a '
            'finished InfoBatch run (CheckpointHook saves at its end).')
    with open(pointer) as f:
        path = f.read().strip()
    checkpoint = load_checkpoint_safely(path)
    state = checkpoint.get(CHECKPOINT_KEY)
    if state is None:
        raise ValueError(f'{path} holds no InfoBatch state: the run in '
                         f'{work_dir!r} did not use InfoBatchHook.')
    validate_state(state)  # the hook's own checks, every field
    ledger, layout = state['ledger'], state['layout']
    if int(ledger.get('iters_full', 0)) < 1 or \
            int(ledger.get('samples_trained', 0)) < 1:
        raise ValueError(
            f'{path}: the InfoBatch ledger holds iters_full='
            f"{ledger.get('iters_full')} and samples_trained="
            f"{ledger.get('samples_trained')}: a run that trained nothing "
            'has no equal-cost schedule.')
    return dict(
        samples_trained=int(ledger['samples_trained']),
        iters_trained=int(ledger['iters_trained']),
        iters_full=int(ledger['iters_full']),
        num_samples=int(layout['num_samples']),
        batch_size=int(layout['batch_size']),
        world_size=int(layout['world_size']))


def load_checkpoint_safely(path: str) -> dict:
    """``torch.load`` with ``weights_only=True``; a checkpoint in MMEngine's
    own format (or of mmib 0.1) is read through mmib's stand-ins
    (:mod:`mmib.checkpoint.safety`), trusted for this load only; a file
    whose archive is crafted (:mod:`mmib.checkpoint.archive`) is refused
    before anything is read."""
    from mmib.checkpoint.archive import archive_problem
    problem = archive_problem(path)
    if problem is not None:
        raise ValueError(f'{path}: refused to read this checkpoint: '
                         f'{problem}.')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError:
        from mmib.checkpoint.safety import (mmengine_stand_ins,
                                            restore_stand_ins)
        with torch.serialization.safe_globals(mmengine_stand_ins()):
            checkpoint = torch.load(path, map_location='cpu',
                                    weights_only=True)
        return restore_stand_ins(checkpoint)


def find_dumped_config(work_dir: str) -> str:
    """The config MMEngine dumped into the top of ``work_dir``."""
    found = sorted(glob.glob(osp.join(work_dir, '*.py')))
    if len(found) != 1:
        raise FileNotFoundError(
            f'expected one dumped config (*.py) in {work_dir!r}, found '
            f'{found}: pass the config explicitly.')
    return found[0]


def _scaled(value: float, unit: float, factor: float, minimum: int) -> int:
    return max(minimum, int(round(value * unit * factor)))


def _compress_scheduler(scheduler: dict, epoch_len: float,
                        factor: float) -> dict:
    """One parameter scheduler in iterations, compressed by ``factor``."""
    scheduler = copy.deepcopy(scheduler)
    unit = epoch_len if scheduler.get('by_epoch', True) else 1.0
    begin = _scaled(scheduler.get('begin', 0), unit, factor, 0)
    for key in _TIME_KEYS:
        value = scheduler.get(key)
        if value is None or key == 'begin':
            continue
        if key == 'end' and value >= 1e9:  # MMEngine's INF: open-ended
            continue
        minimum = begin + 1 if key == 'end' else 1
        scheduler[key] = _scaled(value, unit, factor, minimum)
    scheduler['begin'] = begin
    if 'milestones' in scheduler:
        scheduler['milestones'] = [
            _scaled(m, unit, factor, 1) for m in scheduler['milestones']
        ]
    scheduler['by_epoch'] = False
    scheduler.pop('convert_to_iter_based', None)
    return scheduler


def _compress_schedulers(schedulers, epoch_len: float, factor: float):
    if schedulers is None:
        return None
    if isinstance(schedulers, dict) and 'type' not in schedulers:
        # one list per optimizer
        return {
            name: _compress_schedulers(group, epoch_len, factor)
            for name, group in schedulers.items()
        }
    if isinstance(schedulers, dict):
        return _compress_scheduler(schedulers, epoch_len, factor)
    return [_compress_scheduler(s, epoch_len, factor) for s in schedulers]


def equal_cost_config(work_dir: str,
                      config: Optional[str] = None) -> Tuple[Config, dict]:
    """The full-data config that costs what the InfoBatch run cost.

    Args:
        work_dir (str): Work directory of a finished InfoBatch run.
        config (str, optional): The run's config as MMEngine dumped it
            (read as data: nothing in it runs); defaults to the one in
            ``work_dir``.

    Returns:
        tuple: The config (iteration-based, no InfoBatchHook, schedules
        compressed) and a dict with ``max_iters``, ``samples`` (what it
        trains), ``infobatch_samples``, ``fraction`` (``f``) and
        ``full_iters`` (the original schedule's length in iterations).
    """
    ledger = read_infobatch_ledger(work_dir)
    cfg = read_dumped_config(config or find_dumped_config(work_dir))
    # its own work dir beside the InfoBatch run's: nothing of that run is
    # overwritten when the config is trained without --work-dir
    cfg.work_dir = work_dir.rstrip('/\\') + '_equal_cost'
    per_iter = ledger['batch_size'] * ledger['world_size']
    return shorter_schedule(cfg, ledger['samples_trained'], per_iter,
                            ledger['iters_full'])


def shorter_schedule(cfg: Config, samples: int, per_iter: int,
                     full_iters: int) -> Tuple[Config, dict]:
    """``cfg`` trained on the full data for ``samples`` samples: an
    iteration-based run of ``samples / per_iter`` iterations, every
    parameter schedule compressed alike.

    Args:
        cfg (Config): The full run's config (changed in place).
        samples (int): Samples to train (the cost to match).
        per_iter (int): Samples of one iteration, all ranks.
        full_iters (int): Iterations of the full run.

    Returns:
        tuple: The config and the dict of :func:`equal_cost_config`.
    """
    max_iters = max(1, int(round(samples / per_iter)))
    factor = max_iters / full_iters
    train_cfg = cfg.train_cfg
    by_epoch = train_cfg.get('by_epoch', False) or 'max_epochs' in train_cfg
    epoch_len = full_iters / train_cfg['max_epochs'] if by_epoch else 1.0
    val_interval = train_cfg.get('val_interval', 1 if by_epoch else 1000)
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop',
        max_iters=max_iters,
        val_interval=_scaled(val_interval, epoch_len, factor, 1))
    cfg.param_scheduler = _compress_schedulers(
        cfg.get('param_scheduler'), epoch_len, factor)
    checkpoint = cfg.get('default_hooks', {}).get('checkpoint')
    if checkpoint:
        interval = checkpoint.get('interval', 1)
        checkpoint['interval'] = (
            _scaled(interval, epoch_len, factor, 1) if interval > 0 else -1)
        checkpoint['by_epoch'] = False
    cfg.log_processor = dict(cfg.get('log_processor') or {}, by_epoch=False)
    # one endless stream: no short last batch per epoch, so the run trains
    # exactly max_iters full batches
    sampler = cfg.train_dataloader.get('sampler') or {}
    cfg.train_dataloader.sampler = dict(
        type='InfiniteSampler', shuffle=sampler.get('shuffle', True))
    hooks = [
        h for h in cfg.get('custom_hooks', []) or []
        if h.get('type') != 'InfoBatchHook'
    ]
    cfg.custom_hooks = hooks
    if cfg.get('resume'):
        # the dump of a resumed run: its load_from is the InfoBatch run's
        # checkpoint, not a starting point of the baseline
        cfg.resume, cfg.load_from = False, None
    info = dict(
        max_iters=max_iters,
        samples=max_iters * per_iter,
        infobatch_samples=samples,
        fraction=samples / (full_iters * per_iter),
        full_iters=full_iters)
    return cfg, info
