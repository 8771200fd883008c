"""The main job: full data vs InfoBatch vs the equal-cost shorter schedule
on real data (Fashion-MNIST), a few seeds, one table.

Trains mmib's benchmark config (a 5-layer CNN on the first 4,000
Fashion-MNIST training images, tested on all 10,000 test images) through
MMEngine's Runner three ways, for each seed:

* **full data**: the config as it is (25 epochs);
* **InfoBatch**: the config plus ``InfoBatchHook(ratio=0.5)``;
* **equal-cost shorter schedule**: the full data for the same number of
  forward/backward passes as that seed's InfoBatch run, the schedule
  compressed alike (``tools/equal_cost_config.py``): what the saved compute
  buys without InfoBatch.

*Samples trained* counts the forward/backward passes actually run (the
samples of every training batch); *train wall* is the training loop's time
(no start-up, no validation). Progress is printed while it runs. Each
invocation writes to a fresh timestamped folder; nothing is overwritten.

Usage::

    python tools/demo.py                       # about 5 minutes on 2 cores
    python tools/demo.py --seeds 0 1 2 3 4 --epochs 50 --ratio 0.3
"""
import argparse
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'tools'))

import mmib  # noqa: E402,F401
from mmib.bench import Arm, Schedule, run_arms, schedule_report  # noqa: E402
from prepare_fashion_mnist import DEFAULT_SRC, prepare  # noqa: E402

CONFIG = osp.join(REPO, 'configs', 'fashion_mnist',
                  'smallcnn_fashion-mnist-4k_full.py')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--epochs', type=int, default=25)
    parser.add_argument('--num-train', type=int, default=4000,
                        help='use the first N training images')
    parser.add_argument('--ratio', type=float, default=0.5)
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    parser.add_argument('--data-src', default=DEFAULT_SRC,
                        help='folder with the Fashion-MNIST *-ubyte.gz files')
    parser.add_argument('--threads', type=int, default=2,
                        help='torch threads, fixed so that a rerun prints the '
                        'same accuracies on any machine (default: 2)')
    args = parser.parse_args()
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
    arms = {
        'full': Arm('full', 'full data'),
        'infobatch': Arm('infobatch', f'InfoBatch ratio={args.ratio:g}',
                         dict(ratio=args.ratio)),
        'shorter': Arm('shorter', 'full data, equal-cost shorter schedule',
                       equal_cost_of='infobatch'),
    }
    schedule = Schedule('demo', args.epochs, args.num_train)
    print(f'work dirs under {root}')
    print(f'Training {len(arms)} ways x {len(args.seeds)} seeds, '
          f'{args.epochs} epochs on {args.num_train:,} Fashion-MNIST images '
          '(tested on 10,000) ...', flush=True)
    start = time.perf_counter()
    results = run_arms(CONFIG, schedule, list(arms), args.seeds, root,
                       log=lambda m: print(m, flush=True), registry=arms)
    title = (f'SmallCNN on Fashion-MNIST ({args.num_train:,} training '
             f'images), {args.epochs} epochs, seeds {args.seeds}, this '
             f'machine ({os.cpu_count()} CPUs), '
             f'{(time.perf_counter() - start) / 60:.1f} min in all:')
    print()
    print(schedule_report(title, results,
                          {name: arm.label for name, arm in arms.items()}))


if __name__ == '__main__':
    main()
