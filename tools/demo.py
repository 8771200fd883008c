"""The main job: the full data, the pruning policies at the same saving,
and the equal-cost shorter schedule, on real data (Fashion-MNIST), a few
seeds, one table, a report and a plot.

Trains mmib's benchmark config (a 5-layer CNN on the first 4,000
Fashion-MNIST training images, tested on all 10,000 test images) through
MMEngine's Runner, for each seed:

* **full data**: the config as it is (25 epochs);
* each pruning policy of ``--policies`` with
  ``InfoBatchHook(policy=..., target_saving=...)``: the run trains
  ``1 - target_saving`` of the full run's forward/backward passes;
* **shorter schedule**: the full data for that same number of samples, the
  schedule compressed alike: what the saved compute buys without pruning.

*Samples trained* counts the forward/backward passes actually run (the
samples of every training batch); *train wall* is the training loop's time
(no start-up, no validation). Progress and an ETA are printed while it
runs; the runs' own logs (training and savings lines) are in their work
dirs. Each invocation writes to a fresh timestamped folder, nothing is
overwritten, and ends with ``report.md`` and ``comparison.png`` there. One
torch thread (the default) makes a rerun print the same accuracies on the
same machine (and is the faster choice on a shared 2-core machine).

Usage::

    python tools/demo.py                       # about 10 minutes on 2 cores
    python tools/demo.py --seeds 0 1 2 3 4 --policies infobatch orderdp
"""
import argparse
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'tools'))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis'))

import mmib  # noqa: E402,F401
from mmib_kit.analysis.runs import run_summary  # noqa: E402
from mmib_kit.bench import Arm, Schedule, run_arms, schedule_report  # noqa: E402
from mmib.core import POLICIES  # noqa: E402
from prepare_fashion_mnist import DEFAULT_SRC, prepare  # noqa: E402

CONFIG = osp.join(REPO, 'configs', 'fashion_mnist',
                  'smallcnn_fashion-mnist-4k_full.py')
#: what the demo puts beside the full run (docs/en/benchmarks.md,
#: "Recommendation"): InfoBatch, OrderDP (the policy the whole-set benchmark
#: recommends) and random pruning with rescaling (a baseline)
POLICIES_SHOWN = ('infobatch', 'orderdp', 'random')
#: training samples a second on one thread of this project's 2-core
#: machine (SmallCNN, 28x28), for the ETA printed before the first run
SAMPLES_PER_SECOND = 2000
LABELS = {
    'infobatch': 'InfoBatch',
    'random': 'random pruning, rescaled',
    'orderdp': 'OrderDP',
    'repb': 'RePB',
    'seta': 'SeTa',
    'soft_random': 'soft random',
}


def demo_arms(policies, target: float, extra: dict) -> dict:
    """The demo's arms: full, each policy at ``target``, the shorter
    schedule of the same cost; ``extra`` config options for all."""
    arms = {'full': Arm('full', 'full data', extra=extra)}
    for name in policies:
        arms[name] = Arm(name, f'{LABELS.get(name, name)}, '
                         f'target {target:.0%}',
                         dict(policy=name, ratio=0.5, target_saving=target),
                         extra=extra)
    arms['shorter'] = Arm('shorter', 'full data, shorter schedule, '
                          f'{1 - target:.0%} of the samples',
                          fraction=1 - target, extra=extra)
    return arms


def write_report(root: str, text: str, results) -> None:
    """``report.md`` (the tables) and ``comparison.png`` (accuracy against
    samples and wall time, mean ± sd per arm) into ``root``."""
    from compare_runs import plot_curves
    with open(osp.join(root, 'report.md'), 'w') as f:
        f.write(text + '\n')
    plot_curves([run_summary(r['work_dir']) for r in results],
                osp.join(root, 'comparison.png'))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=' '.join(__doc__.split('\n\n')[0].split()))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--epochs', type=int, default=25)
    parser.add_argument('--num-train', type=int, default=4000,
                        help='use the first N training images')
    parser.add_argument('--policies', nargs='+', default=list(POLICIES_SHOWN),
                        help='pruning policies to run (default: '
                        f'{" ".join(POLICIES_SHOWN)})')
    parser.add_argument('--target-saving', type=float, default=0.4,
                        help='the saving every policy and the shorter '
                        'schedule are run at (default: 0.4)')
    parser.add_argument('--num-val', type=int, default=10000,
                        help='test on the first N of the 10,000 test images '
                        '(default: all; fewer for a quick try)')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    parser.add_argument('--data-src', default=DEFAULT_SRC,
                        help='folder with the Fashion-MNIST *-ubyte.gz files')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads, fixed so that a rerun prints the '
                        'same accuracies on the same machine (default: 1)')
    args = parser.parse_args()
    unknown = sorted(set(args.policies) - set(POLICIES))
    if unknown:
        parser.error(f'unknown --policies {unknown}; registered: '
                     f'{sorted(POLICIES)}')
    if not 0 < args.num_val <= 10000:
        parser.error(f'--num-val must be in 1..10000, not {args.num_val}')
    import torch
    torch.set_num_threads(args.threads)
    # a fresh folder per invocation: earlier runs are never overwritten
    root = osp.abspath(
        osp.join(args.work_dir, time.strftime('%Y%m%d_%H%M%S')))
    os.makedirs(root, exist_ok=True)
    os.chdir(REPO)  # the config's data_root is relative to the repository
    try:
        prepare(args.data_src, osp.join('data', 'fashion-mnist'),
                '--data-src')
    except FileNotFoundError as error:
        sys.exit(str(error))
    arms = demo_arms(args.policies, args.target_saving,
                     {'val_dataloader.dataset.indices': args.num_val}
                     if args.num_val < 10000 else {})
    schedule = Schedule('demo', args.epochs, args.num_train)
    samples = (len(args.seeds) * args.epochs * args.num_train *
               (1 + (1 - args.target_saving) * (len(arms) - 1)))
    print(f'work dirs under {root}')
    print(f'Training {len(arms)} ways x {len(args.seeds)} seeds, '
          f'{args.epochs} epochs on {args.num_train:,} Fashion-MNIST images '
          f'(tested on {args.num_val:,}): {samples:,.0f} samples, ETA about '
          f'{samples / SAMPLES_PER_SECOND / 60 * args.threads ** -0.5:.0f} '
          'min on one core of this project\'s 2-core machine ...',
          flush=True)
    start = time.perf_counter()
    results = run_arms(CONFIG, schedule, list(arms), args.seeds, root,
                       log=lambda m: print(m, flush=True), registry=arms)
    tested = (f', tested on {args.num_val:,}' if args.num_val < 10000
              else '')
    title = (f'SmallCNN on Fashion-MNIST ({args.num_train:,} training '
             f'images{tested}), {args.epochs} epochs, seeds {args.seeds}, '
             f'target_saving={args.target_saving:g}, {args.threads} torch '
             f'thread(s), this machine ({os.cpu_count()} CPUs), '
             f'{(time.perf_counter() - start) / 60:.1f} min in all:')
    text = schedule_report(title, results,
                           {name: arm.label for name, arm in arms.items()})
    print()
    print(text)
    write_report(root, text, results)
    print(f'\nreport: {osp.join(root, "report.md")}; plot: '
          f'{osp.join(root, "comparison.png")}')


if __name__ == '__main__':
    main()
