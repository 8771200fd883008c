"""Speed and memory of InfoBatch's own work, printed as a table.

Measures what InfoBatch adds to a training run:

1. the prune step (``plan_epoch``: threshold, random draw, weights) once per
   epoch, for CIFAR (50k samples) and ImageNet (1.28M) sized score tables;
2. the per-iteration score update (``ScoreTable.update``) for a batch;
3. the memory of the per-sample state (scores, seen-mask, weights, kept
   list);
4. the per-iteration time of a real MMEngine Runner training the demo model
   without the hook and with ``InfoBatchHook(ratio=0)`` (same samples, so the
   difference is the hook's overhead: index extraction, loss hooks, score
   update, schedule clock), 3 interleaved runs each.

Timings are medians of repeated runs on this machine; nothing is asserted.

Usage::

    python tools/benchmark/speed.py
"""
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import Callable, List

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
import mmib  # noqa: E402,F401
from mmib.core import PruningPolicy, ScoreTable, plan_epoch  # noqa: E402


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
        mean = PruningPolicy(ratios=(0.5, ))
        quantile = PruningPolicy(
            ratios=(0.75, 0.5), threshold='quantile', quantiles=(0.2, 0.85))
        t_mean = median_ms(lambda: plan_epoch(table, mean, 1, 100, seed=0))
        t_q = median_ms(lambda: plan_epoch(table, quantile, 1, 100, seed=0))
        indices = torch.randint(0, n, (256, ))
        losses = torch.rand(256)
        t_upd = median_ms(lambda: table.update(indices, losses), 50) * 1000
        plan = plan_epoch(table, mean, 1, 100, seed=0)
        state_bytes = (table.scores.nbytes + table.seen.nbytes +
                       plan.weights.nbytes + plan.kept_indices.nbytes)
        rows.append(f'| {name} | {t_mean:.1f} | {t_q:.1f} | {t_upd:.0f} '
                    f'| {state_bytes / 2**20:.1f} |')
    return rows


def runner_ms_per_iter(with_hook: bool) -> float:
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    class IterTimes(Hook):
        priority = 'LOWEST'

        def __init__(self):
            self.times = []

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            self._start = time.perf_counter()

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            self.times.append(time.perf_counter() - self._start)

    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'demo', 'resnet18-tiny_digits_full.py'))
    cfg.work_dir = tempfile.mkdtemp()
    cfg.experiment_name = f'bench_{int(with_hook)}_{time.time_ns()}'
    cfg.train_cfg.max_epochs = 3
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.log_level = 'WARNING'
    cfg.custom_hooks = ([dict(type='InfoBatchHook', ratio=0.0)]
                        if with_hook else [])
    runner = Runner.from_cfg(cfg)
    probe = IterTimes()
    runner.register_hook(probe)
    runner.train()
    return statistics.median(probe.times[10:]) * 1000


def main() -> None:
    torch.manual_seed(0)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads\n')
    print('| score table | prune step, mean (ms) | prune step, quantile (ms) '
          '| score update, batch 256 (µs) | per-sample state (MiB) |')
    print('|---|---|---|---|---|')
    for row in core_rows():
        print(row)
    plain, hooked = [], []
    for _ in range(3):  # interleaved, against drifts of a shared machine
        plain.append(runner_ms_per_iter(False))
        hooked.append(runner_ms_per_iter(True))
    print()
    print('| demo model (batch 32), real Runner, 3 interleaved runs each '
          '| ms / iteration, median (min-max) |')
    print('|---|---|')
    for name, times in (('without InfoBatchHook', plain),
                        ('with InfoBatchHook(ratio=0)', hooked)):
        print(f'| {name} | {statistics.median(times):.2f} '
              f'({min(times):.2f}-{max(times):.2f}) |')
    change = statistics.median(hooked) / statistics.median(plain) - 1
    print(f'\nhook overhead, median vs median: {100 * change:+.1f}%')


if __name__ == '__main__':
    main()
