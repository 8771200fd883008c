"""Reading MMEngine work dirs: logged scalars, final metrics, costs."""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional

from .config_data import read_dumped_config

#: validation metrics looked for, in this order
METRICS = ('accuracy/top1', 'mIoU', 'aAcc', 'accuracy/top5')


#: the longest ``scalars.json`` line read (a row is a few hundred bytes; the
#: per-pass score histogram a few kB)
MAX_LINE = 1 << 20


class RunDataError(ValueError):
    """A run's logged data that is not what MMEngine writes."""


def _number(text: str):
    raise RunDataError(f'{text} is not a finite number')


def _row(line: str, where: str) -> dict:
    """One ``scalars.json`` row: a flat dict of names to finite numbers (or
    short lists of them), an integer ``step``."""
    if len(line) > MAX_LINE:
        raise RunDataError(f'{where}: a line of {len(line):,} characters')
    if line.count('[') + line.count('{') > 64:  # json recursion
        raise RunDataError(f'{where}: nested deeper than a logged row')
    try:
        row = json.loads(line, parse_constant=_number)
    except RunDataError as error:
        raise RunDataError(f'{where}: {error}') from None
    except (ValueError, RecursionError) as error:
        raise RunDataError(f'{where}: not a JSON row ({error})') from None
    if not isinstance(row, dict):
        raise RunDataError(f'{where}: a {type(row).__name__}, not a row')
    for key, value in row.items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                   and abs(v) < 1e300 for v in values):
            raise RunDataError(f'{where}: {key!r} = {str(value)[:40]} is '
                               'not a finite number (or list of them)')
    if 'step' in row and (not isinstance(row['step'], int) or
                          not 0 <= row['step'] < 10**12):
        raise RunDataError(f'{where}: step = {row["step"]!r} is not an '
                           'iteration count')
    return row


def read_scalars(work_dir: str) -> List[dict]:
    """All rows of the run's ``vis_data/scalars.json`` files (a resumed run
    has one per start), oldest first; each checked to be what MMEngine
    writes (:class:`RunDataError` names the file and line otherwise)."""
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'{work_dir!r} has no */vis_data/scalars.json: pass the work dir '
            "of a run with MMEngine's LocalVisBackend (the default).")
    rows = []
    for path in files:
        with open(path) as f:
            for number, line in enumerate(iter(lambda: f.readline(
                    MAX_LINE + 1), ''), 1):
                if line.strip():
                    rows.append(_row(line, f'{path}, line {number}'))
    return rows


def metric_name(rows: List[dict]) -> Optional[str]:
    """The validation metric the evaluator logged (see :data:`METRICS`)."""
    for name in METRICS:
        if any(name in r for r in rows):
            return name
    return None


def _train_rows(rows: List[dict]) -> List[dict]:
    return [r for r in rows if 'loss' in r and 'step' in r]


def run_summary(work_dir: str) -> dict:
    """What a run cost and reached.

    Samples trained come, in this order, from the benchmark's
    ``result.json``, the InfoBatch ledger of the last checkpoint (the final
    count), the ledger logged with the losses (``infobatch_samples``, up
    to the last logged iteration), or ``iterations x batch size`` from the dumped
    config (full-data runs; ``samples_exact`` is then False: short last
    batches are counted full). Training wall time is the benchmark's
    measurement if there is one, else the sum of the logged per-iteration
    ``time`` over the logged intervals (approximate).

    Args:
        work_dir (str): The run's work directory.

    Returns:
        dict: ``name``, ``metric_name``, ``metric`` (last value), ``curve``
        (list of ``(iteration, samples, seconds, metric)`` at each
        validation),
        ``samples``, ``samples_exact``, ``iters``, ``train_seconds``.
    """
    rows = read_scalars(work_dir)
    name = metric_name(rows)
    train = _train_rows(rows)
    batch = _batch_size(work_dir)
    curve_points = []
    seconds, last_step, samples = 0.0, 0, 0
    exact = True
    for row in rows:
        if 'loss' in row and 'step' in row:
            step = row['step']
            seconds += row.get('time', 0.0) * (step - last_step)
            last_step = step
            if 'infobatch_samples' in row:
                samples = int(row['infobatch_samples'])
            else:
                samples, exact = step * batch, False
        if name and name in row:
            curve_points.append((last_step, samples, seconds, row[name]))
    iters = train[-1]['step'] if train else 0
    final = _final_ledger(work_dir)
    if final is not None:  # the hook's own record of the whole run
        samples, iters, exact = (final['samples_trained'],
                                 final['iters_trained'], True)
        if curve_points and curve_points[-1][0] >= last_step:
            # the last validation came at the end of training
            curve_points[-1] = (iters, samples) + curve_points[-1][2:]
    result_file = osp.join(osp.dirname(work_dir.rstrip('/')), 'result.json')
    summary = dict(
        name=osp.basename(work_dir.rstrip('/')),
        metric_name=name,
        metric=curve_points[-1][3] if curve_points else None,
        curve=curve_points,
        samples=samples,
        samples_exact=exact,
        iters=iters,
        train_seconds=seconds)
    result = _benchmark_result(result_file, work_dir)
    if result is not None:  # a benchmark run: measured exactly
        summary.update(
            samples=result['samples'], samples_exact=True,
            iters=result['iters'], train_seconds=result['train_seconds'],
            name=osp.basename(osp.dirname(work_dir.rstrip('/'))))
    return summary


def _benchmark_result(path: str, work_dir: str) -> Optional[dict]:
    """The benchmark's ``result.json`` beside ``work_dir``, if it records
    this very work dir (a sibling folder, e.g. another attempt or a copied
    run, is not that run), with its counts checked."""
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            result = json.load(f, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        raise RunDataError(f'{path}: not a benchmark result ({error})'
                           ) from None
    if not isinstance(result, dict):
        raise RunDataError(f'{path}: not a benchmark result (a '
                           f'{type(result).__name__})')
    recorded = str(result.get('work_dir', '')).rstrip('/')
    if osp.basename(recorded) != osp.basename(work_dir.rstrip('/')):
        return None
    for key in ('samples', 'iters'):
        value = result.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or \
                not 0 <= value < 2**53:
            raise RunDataError(f'{path}: {key!r} = {str(value)[:40]} is not '
                               'a count of what the run trained')
    seconds = result.get('train_seconds')
    if isinstance(seconds, bool) or not isinstance(
            seconds, (int, float)) or not 0 <= seconds < 1e9:
        raise RunDataError(f'{path}: train_seconds = {str(seconds)[:40]} '
                           'is not a training time')
    return result


def _no_constant(name: str):
    raise ValueError(f'{name} is not a finite number')


def _final_ledger(work_dir: str) -> Optional[dict]:
    """The savings ledger of the run's last checkpoint (the hook's final
    count: the logged rows stop at the last logging interval), or None
    for a run without InfoBatch or without a checkpoint."""
    from .equal_cost import read_infobatch_ledger
    if not osp.exists(osp.join(work_dir, 'last_checkpoint')):
        return None
    try:
        return read_infobatch_ledger(work_dir)
    except ValueError:  # no InfoBatch state: a full-data run
        return None


def _batch_size(work_dir: str) -> int:
    found = sorted(glob.glob(osp.join(work_dir, '*.py')))
    if not found:
        return 1
    cfg = read_dumped_config(found[0])  # data: nothing in it runs
    return int(cfg.train_dataloader.get('batch_size', 1))


def group_runs(summaries: List[dict]) -> Dict[str, List[dict]]:
    """Runs grouped by name with its seed suffix (``_seed<k>``) removed."""
    groups: Dict[str, List[dict]] = {}
    for s in summaries:
        key = s['name'].split('_seed')[0]
        groups.setdefault(key, []).append(s)
    return groups
