"""InfoBatch against the full run and the equal-cost baselines, on
Fashion-MNIST, over several seeds: tables, paired differences, verdicts.

Arms (``--arms``): ``full`` (the full data), ``infobatch``
(``InfoBatchHook(ratio=0.5)``), ``shorter`` (the full data for the same
number of forward/backward passes as the InfoBatch run of the same seed, the
schedule compressed: ``tools/equal_cost_config.py``), ``random`` and
``random_norescale`` (random pruning of as many samples per pass as InfoBatch
prunes, with and without rescaling: ``policy='random'``) and
``infobatch_norescale`` (``rescale=False``, the paper's ablation).

Recipes (``--recipe``) and their schedules (``--schedules``):

* ``smallcnn`` (default): SmallCNN (3 convolutions, widths 16/32/64, SGD lr
  0.05) on Fashion-MNIST; ``e25`` and ``e50`` (25 / 50 epochs on the first
  4,000 training images) and ``e200`` (200 epochs, the paper's regime, on
  the first 2,000 images, about 40 minutes on 2 cores).
* ``deepcnn``: the stronger recipe (two convolutions per stage, lr 0.1;
  tuned on the full run only); ``e50`` and ``e200`` as above.
* ``whole``: SmallCNN on the whole 60,000-image training set (the
  paper's regime: a large data set, much of it redundant); ``e20``: 20
  epochs of batch 128, lr 0.1 (tuned on the full run only: lr 0.05 reached
  89.68%, 0.1 90.35%), about 10 minutes a full run on one thread.
* ``seg``: UperNet with a tiny ResNet-18 on the Fashion-MNIST garment
  mosaics (``tools/make_fashion_mnist_seg.py``); ``i1260``: 1,260
  iterations of 16 (about 20 passes over the 1,000 training mosaics),
  ``IterBasedTrainLoop`` with the stock ``InfiniteSampler`` and PolyLR,
  scored by mIoU on 500 validation mosaics.
* ``det``: mmdet's stock RetinaNet, shrunk (``configs/detection/``), on the
  Fashion-MNIST COCO mosaics (``tools/make_fashion_mnist_coco.py
  --num-train 1000 --num-val 500``); ``e12``: 12 epochs of the 1,000
  training mosaics, bbox mAP (in points) on 500 validation mosaics. Needs
  the full mmcv: run it with the mmdet environment's python
  (``docs/en/stock_recipes.md``).

Every classification run is tested on all 10,000 test images.

The output folder is fixed (``--out``), so a re-invocation continues an
interrupted benchmark: finished runs are read back, not retrained.

Usage::

    python tools/prepare_fashion_mnist.py
    python tools/benchmark/arms.py --schedules e25 e50 --seeds 0 1 2 3 4
    nohup python tools/benchmark/arms.py --schedules e200 &   # background
    python tools/benchmark/arms.py --report-only            # print tables
    python tools/make_fashion_mnist_seg.py
    python tools/benchmark/arms.py --recipe seg --arms full infobatch_t40 \\
        infobatch_quantile_t40 shorter_t40 --out work_dirs/benchmark_seg
"""
import argparse
import os
import os.path as osp
import sys
import time
from dataclasses import dataclass
from typing import Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

import mmib  # noqa: E402,F401
from mmib_kit.bench import ARMS, Schedule, run_arms, schedule_report  # noqa: E402
from mmib_kit.bench.harness import load_result  # noqa: E402


@dataclass(frozen=True)
class Recipe:
    """A benchmark recipe: its full-data config and schedules.

    Args:
        config (str): The full-data config, relative to the repository.
        title (str): What the tables' headings say of the recipe.
        metric (str): The validation metric compared.
        metric_label (str): Its name in the tables.
        schedules (tuple): The recipe's :class:`Schedule` s.
        metric_scale (float): The tables show the metric times this (100
            for COCO's mAP in [0, 1]). Defaults to 1.
    """

    config: str
    title: str
    metric: str
    metric_label: str
    schedules: Tuple[Schedule, ...]
    metric_scale: float = 1.0


_CLASSIFICATION = (Schedule('e25', 25, 4000), Schedule('e50', 50, 4000),
                   Schedule('e200', 200, 2000))
RECIPES = {
    'smallcnn': Recipe(
        'configs/fashion_mnist/smallcnn_fashion-mnist-4k_full.py',
        'Fashion-MNIST training images (SmallCNN, batch 64, SGD + cosine)',
        'accuracy/top1', 'top-1', _CLASSIFICATION),
    'deepcnn': Recipe(
        'configs/fashion_mnist/deepcnn_fashion-mnist-4k_full.py',
        'Fashion-MNIST training images (deep CNN, 6 convolutions, batch 64, '
        'SGD lr 0.1 + cosine)', 'accuracy/top1', 'top-1',
        _CLASSIFICATION[1:]),
    'whole': Recipe(
        'configs/fashion_mnist/smallcnn_fashion-mnist-60k_full.py',
        'Fashion-MNIST training images, the whole set (SmallCNN, batch 128, '
        'SGD lr 0.1 + cosine)', 'accuracy/top1', 'top-1',
        (Schedule('e20', 20, 60000), )),
    'seg': Recipe(
        'configs/segmentation/upernet_r18-tiny_fashion-mnist-seg_full.py',
        'Fashion-MNIST garment mosaics (UperNet R18-tiny, batch 16, '
        'InfiniteSampler, SGD + PolyLR)', 'mIoU', 'mIoU',
        (Schedule('i1260', 1260, 1000, by_epoch=False), )),
    'det': Recipe(
        'configs/detection/retinanet_r18-tiny_fashion-mnist-coco_full.py',
        'Fashion-MNIST COCO mosaics (mmdet RetinaNet, ResNet-18 of widths '
        '16-128, batch 8, SGD + cosine)', 'coco/bbox_mAP', 'bbox mAP',
        (Schedule('e12', 12, 1000), ), metric_scale=100.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=' '.join(__doc__.split('\n\n')[0].split()))
    parser.add_argument('--recipe', default='smallcnn',
                        choices=list(RECIPES),
                        help='what to train (default: smallcnn)')
    parser.add_argument('--schedules', nargs='+', default=None,
                        help='schedules of the recipe (default: all of '
                        'them): ' + '; '.join(
                            f'{k}: {" ".join(s.name for s in r.schedules)}'
                            for k, r in RECIPES.items()))
    parser.add_argument('--arms', nargs='+', default=list(ARMS),
                        choices=list(ARMS), metavar='ARM',
                        help='arms to run (default: all): ' +
                        ', '.join(ARMS))
    parser.add_argument('--seeds', type=int, nargs='+',
                        default=[0, 1, 2, 3, 4])
    parser.add_argument('--out', default=osp.join('work_dirs', 'benchmark'))
    parser.add_argument('--report-only', action='store_true',
                        help='print the tables of the finished runs')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads (default: torch\'s); 1 when '
                        'other work shares the cores')
    args = parser.parse_args()
    recipe = RECIPES[args.recipe]
    schedules = {s.name: s for s in recipe.schedules}
    unknown = set(args.schedules or ()) - set(schedules)
    if unknown:
        parser.error(f'recipe {args.recipe!r} has no schedule '
                     f'{sorted(unknown)}; it has {list(schedules)}')
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    labels = {name: arm.label for name, arm in ARMS.items()}
    args.out = osp.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    os.chdir(REPO)  # the config's data_root is relative to the repository
    for name in args.schedules or schedules:
        schedule = schedules[name]
        if args.report_only:
            results = [
                r for seed in args.seeds for a in args.arms
                if (r := load_result(args.out, schedule, ARMS[a], seed))
            ]
        else:
            results = run_arms(recipe.config, schedule, args.arms,
                               args.seeds, args.out,
                               log=lambda m: print(m, flush=True),
                               metric=recipe.metric,
                               metric_scale=recipe.metric_scale)
        if not results:
            print(f'{name}: no finished runs in {args.out}')
            continue
        threads = (f'{args.threads} torch thread(s) per run'
                   if args.threads else "torch's default threads")
        title = (f'### {schedule.length} {schedule.unit}, '
                 f'{schedule.num_train:,} {recipe.title}, seeds '
                 f'{sorted({r["seed"] for r in results})}, '
                 f'{os.cpu_count()} CPUs, {threads}, '
                 f'{time.strftime("%Y-%m-%d")}')
        print()
        print(schedule_report(title, results, labels, recipe.metric_label),
              flush=True)
        print()


if __name__ == '__main__':
    main()
