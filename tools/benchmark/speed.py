"""Speed and memory of InfoBatch's own work, printed as a table.

Measures what InfoBatch adds to a training run:

1. the prune step (``plan_pass``: threshold, random draw, weights) once per
   epoch, for CIFAR (50k samples) and ImageNet (1.28M) sized score tables;
2. the per-iteration score update (``ScoreTable.update``) for a batch;
3. the memory of the per-sample state (scores, seen-mask, weights, kept
   list);
4. the per-iteration time of a real MMEngine Runner training the benchmark
   model (SmallCNN on Fashion-MNIST) without the hook and with
   ``InfoBatchHook(ratio=0)`` (same samples, so the difference is the hook's
   overhead), interleaved repeats, and the time spent inside the hook's own
   iteration methods;
5. training-loop wall time against samples trained, InfoBatch against the
   full data: a pruned sample should cost nothing (ratio 1.0).

Timings are medians of repeated runs on this machine; nothing is asserted.
Run it on a quiet machine: other work on the cores distorts every number.

Usage::

    python tools/prepare_fashion_mnist.py
    python tools/benchmark/speed.py [--repeats 3] [--epochs 10] \
        [--threads N] [--flush-denormal]
"""
import argparse
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
import warnings
from typing import Callable, List

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
import mmib  # noqa: E402,F401
from mmib.core import PruningSettings, ScoreTable, plan_pass  # noqa: E402


def median_ms(fn: Callable[[], object], repeats: int = 7) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def core_rows() -> List[str]:
    rows = []
    for name, n in (('CIFAR (50k)', 50_000), ('ImageNet (1.28M)', 1_281_167)):
        table = ScoreTable(n)
        table.update(torch.arange(n), torch.rand(n))
        mean = PruningSettings(ratios=(0.5, ))
        quantile = PruningSettings(
            ratios=(0.75, 0.5), threshold='quantile', quantiles=(0.2, 0.85))
        t_mean = median_ms(lambda: plan_pass(table, mean, 1, 100, seed=0))
        t_q = median_ms(lambda: plan_pass(table, quantile, 1, 100, seed=0))
        indices = torch.randint(0, n, (256, ))
        losses = torch.rand(256)
        t_upd = median_ms(lambda: table.update(indices, losses), 50) * 1000
        plan = plan_pass(table, mean, 1, 100, seed=0)
        state_bytes = (table.scores.nbytes + table.seen.nbytes +
                       plan.weights.nbytes + plan.kept_indices.nbytes)
        rows.append(f'| {name} | {t_mean:.1f} | {t_q:.1f} | {t_upd:.0f} '
                    f'| {state_bytes / 2**20:.1f} |')
    return rows


FASHION = osp.join(REPO, 'configs', 'fashion_mnist',
                   'smallcnn_fashion-mnist-4k_full.py')


class _IterTimes:
    """Per-iteration wall time, and the time spent inside the InfoBatch
    hook's own iteration methods."""

    def __init__(self):
        self.step, self.hook = [], []


def _timed_run(hook_cfg, epochs: int, times: _IterTimes) -> dict:
    """Train the benchmark config; return its training-loop seconds and
    samples (validation off)."""
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    class Probe(Hook):
        priority = 'LOWEST'

        def before_train(self, runner):
            self.start, self.samples = time.perf_counter(), 0

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            self._t = time.perf_counter()

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            times.step.append(time.perf_counter() - self._t)
            self.samples += len(data_batch['data_samples'])

        def after_train(self, runner):
            self.seconds = time.perf_counter() - self.start

    cfg = Config.fromfile(FASHION)
    cfg.work_dir = tempfile.mkdtemp()
    cfg.experiment_name = f'speed_{time.time_ns()}'
    cfg.merge_from_dict({
        'train_cfg.max_epochs': epochs, 'param_scheduler.1.T_max': epochs - 1,
        'param_scheduler.1.end': epochs})
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.log_level = 'ERROR'  # nothing printed inside the tables
    cfg.custom_hooks = [hook_cfg] if hook_cfg else []
    runner = Runner.from_cfg(cfg)
    probe = Probe()
    runner.register_hook(probe)
    for hook in runner.hooks:  # time the InfoBatch hook's own work
        if type(hook).__name__ == 'InfoBatchHook':
            for name in ('before_train_iter', 'after_train_iter'):
                method = getattr(hook, name)

                def timed(*args, _method=method, **kwargs):
                    t = time.perf_counter()
                    _method(*args, **kwargs)
                    times.hook.append(time.perf_counter() - t)

                setattr(hook, name, timed)
    runner.train()
    return dict(seconds=probe.seconds, samples=probe.samples)


def overhead_rows(repeats: int) -> List[str]:
    """The hook's per-iteration cost at ratio=0 (same samples as no hook)."""
    plain, hooked = _IterTimes(), _IterTimes()
    for _ in range(repeats):  # interleaved, against drifts of the machine
        _timed_run(None, 2, plain)
        _timed_run(dict(type='InfoBatchHook', ratio=0.0), 2, hooked)
    step_plain = statistics.median(plain.step) * 1000
    step_hooked = statistics.median(hooked.step) * 1000
    # per iteration: the two hook methods together
    before = statistics.median(hooked.hook[0::2]) * 1000
    after = statistics.median(hooked.hook[1::2]) * 1000
    own = before + after
    return [
        f'| step without the hook (ms, median) | {step_plain:.2f} |',
        f'| step with InfoBatchHook(ratio=0) (ms, median) | {step_hooked:.2f}'
        ' |',
        f'| difference | {100 * (step_hooked / step_plain - 1):+.1f}% |',
        f"| the hook's own iteration methods (ms, median) | {own:.3f} "
        f'({100 * own / step_plain:.2f}% of a step; before_train_iter '
        f'{before:.3f}, after_train_iter {after:.3f}) |',
    ]


def wall_rows(repeats: int, epochs: int) -> List[str]:
    """Training-loop wall time against samples: InfoBatch vs full data.

    Runs pairs in ABBA order (full, InfoBatch, InfoBatch, full, ...)
    against drifts of the machine. With ``s`` the samples saved, the ratio
    wall saved / samples saved is ``1 - e (1 - s) / s`` where ``e`` is how
    much more a trained sample costs in the InfoBatch run than in the full
    one: with ~20% saved, 1% of noise in one run's wall time moves the
    ratio by ~0.04, so it is taken per pair and the median reported with
    its range.
    """
    runs = {'full': [], 'infobatch': []}
    for rep in range(repeats):
        order = ('full', 'infobatch') if rep % 2 == 0 else ('infobatch',
                                                            'full')
        for arm in order:
            hook = None if arm == 'full' else dict(type='InfoBatchHook',
                                                   ratio=0.5)
            runs[arm].append(_timed_run(hook, epochs, _IterTimes()))
    ratios, per_sample = [], []
    for full, ib in zip(runs['full'], runs['infobatch']):
        saved_n = 1 - ib['samples'] / full['samples']
        saved_s = 1 - ib['seconds'] / full['seconds']
        ratios.append(saved_s / saved_n if saved_n > 0 else float('nan'))
        per_sample.append((ib['seconds'] / ib['samples']) /
                          (full['seconds'] / full['samples']) - 1)
    full_s = statistics.median(r['seconds'] for r in runs['full'])
    full_n = runs['full'][0]['samples']
    ib_s = statistics.median(r['seconds'] for r in runs['infobatch'])
    ib_n = statistics.median(r['samples'] for r in runs['infobatch'])
    saved_s, saved_n = 1 - ib_s / full_s, 1 - ib_n / full_n
    return [
        f'| full data | {full_n:,} | {full_s:.1f} | — | — | — | — |',
        f'| InfoBatch ratio=0.5 | {ib_n:,.0f} | {ib_s:.1f} '
        f'| {100 * saved_n:.1f}% | {100 * saved_s:.1f}% '
        f'| {100 * statistics.median(per_sample):+.1f}% '
        f'| {statistics.median(ratios):.2f} '
        f'({min(ratios):.2f}–{max(ratios):.2f}) |',
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=' '.join(__doc__.split('\n\n')[0].split()))
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--threads', type=int, default=None,
                        help="torch threads (default: torch's)")
    parser.add_argument(
        '--flush-denormal', action='store_true',
        help='flush denormal floats to zero in both arms (CPU only: '
        'denormals slow x86 arithmetic by a trajectory-dependent amount)')
    args = parser.parse_args()
    # the libraries' import-time and first-load warnings (mmcv-lite,
    # mmpretrain's MNIST reader) would land inside the tables
    warnings.filterwarnings('ignore', category=UserWarning)
    if args.epochs < 2 or args.repeats < 1:
        parser.error('--epochs must be at least 2 (one warm-up epoch, then '
                     'the cosine schedule) and --repeats at least 1')
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.flush_denormal and not torch.set_flush_denormal(True):
        sys.exit('--flush-denormal: this CPU cannot flush denormals')
    os.chdir(REPO)  # the benchmark config's data_root is relative
    if not osp.exists(osp.join('data', 'fashion-mnist',
                               'train-images-idx3-ubyte')):
        sys.exit('run tools/prepare_fashion_mnist.py first')
    torch.manual_seed(0)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'{os.cpu_count()} CPUs, {time.strftime("%Y-%m-%d")}'
          f'{", denormals flushed" if args.flush_denormal else ""}\n')
    print('| score table | prune step, mean (ms) | prune step, quantile (ms) '
          '| score update, batch 256 (µs) | per-sample state (MiB) |')
    print('|---|---|---|---|---|')
    for row in core_rows():
        print(row)
    print(f'\n| SmallCNN on 4,000 Fashion-MNIST images, batch 64, '
          f'{args.repeats} interleaved runs of 2 epochs each | |')
    print('|---|---|')
    for row in overhead_rows(args.repeats):
        print(row, flush=True)
    print(f'\n| {args.epochs} epochs, training loop only, median of '
          f'{args.repeats} pairs (ABBA order) | samples trained | train wall '
          '(s) | samples saved | wall saved | cost per trained sample vs '
          'full | wall saved / samples saved (median of pairs, range) |')
    print('|---|---|---|---|---|---|---|')
    for row in wall_rows(args.repeats, args.epochs):
        print(row, flush=True)


if __name__ == '__main__':
    main()
