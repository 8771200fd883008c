"""InfoBatch against the full run and the equal-cost baselines, on
Fashion-MNIST, over several seeds: tables, paired differences, verdicts.

Arms (``--arms``): ``full`` (the full data), ``infobatch``
(``InfoBatchHook(ratio=0.5)``), ``shorter`` (the full data for the same
number of forward/backward passes as the InfoBatch run of the same seed, the
schedule compressed: ``tools/equal_cost_config.py``), ``random`` and
``random_norescale`` (random pruning of as many samples per pass as InfoBatch
prunes, with and without rescaling: ``policy='random'``) and
``infobatch_norescale`` (``rescale=False``, the paper's ablation).

Schedules (``--schedules``): ``e25`` and ``e50`` (25 / 50 epochs on the first
4,000 training images) and ``e200`` (200 epochs, the paper's regime, on the
first 2,000 images, about 40 minutes on 2 cores). Every run is tested on all
10,000 test images.

The output folder is fixed (``--out``), so a re-invocation continues an
interrupted benchmark: finished runs are read back, not retrained.

Usage::

    python tools/prepare_fashion_mnist.py
    python tools/benchmark/arms.py --schedules e25 e50 --seeds 0 1 2 3 4
    nohup python tools/benchmark/arms.py --schedules e200 &   # background
    python tools/benchmark/arms.py --report-only            # print tables
"""
import argparse
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

import mmib  # noqa: E402,F401
from mmib.bench import ARMS, Schedule, run_arms, schedule_report  # noqa: E402
from mmib.bench.harness import load_result  # noqa: E402

CONFIG = osp.join(REPO, 'configs', 'fashion_mnist',
                  'smallcnn_fashion-mnist-4k_full.py')
SCHEDULES = {
    s.name: s
    for s in (Schedule('e25', 25, 4000), Schedule('e50', 50, 4000),
              Schedule('e200', 200, 2000))
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--schedules', nargs='+', default=list(SCHEDULES),
                        choices=list(SCHEDULES))
    parser.add_argument('--arms', nargs='+', default=list(ARMS),
                        choices=list(ARMS))
    parser.add_argument('--seeds', type=int, nargs='+',
                        default=[0, 1, 2, 3, 4])
    parser.add_argument('--out', default=osp.join('work_dirs', 'benchmark'))
    parser.add_argument('--report-only', action='store_true',
                        help='print the tables of the finished runs')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads (default: torch\'s); 1 when '
                        'other work shares the cores')
    args = parser.parse_args()
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    labels = {name: arm.label for name, arm in ARMS.items()}
    args.out = osp.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    os.chdir(REPO)  # the config's data_root is relative to the repository
    for name in args.schedules:
        schedule = SCHEDULES[name]
        if args.report_only:
            results = [
                r for seed in args.seeds for a in args.arms
                if (r := load_result(args.out, schedule, ARMS[a], seed))
            ]
        else:
            results = run_arms(CONFIG, schedule, args.arms, args.seeds,
                               args.out, log=lambda m: print(m, flush=True))
        if not results:
            print(f'{name}: no finished runs in {args.out}')
            continue
        title = (f'### {schedule.epochs} epochs, {schedule.num_train:,} '
                 f'Fashion-MNIST training images (SmallCNN, batch 64, SGD + '
                 f'cosine), seeds {sorted({r["seed"] for r in results})}, '
                 f'{os.cpu_count()} CPUs, {time.strftime("%Y-%m-%d")}')
        print()
        print(schedule_report(title, results, labels), flush=True)
        print()


if __name__ == '__main__':
    main()
