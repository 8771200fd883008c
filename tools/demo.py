"""The main job: full data vs InfoBatch on a small real data set.

Trains the demo configs (a small ResNet-18 on scikit-learn's digits, 1437
training / 360 test images, shipped offline) through ``tools/train.py``, once
on the full data and once with ``InfoBatchHook(ratio=0.5)``, for a few seeds,
and prints a side-by-side table.

How the savings are counted: *samples trained* is the number of
forward/backward passes actually run (every sample of every batch, summed
over the epochs, padding included). For InfoBatch it comes from the hook's
ledger in the final checkpoint; the full-data run trains every sample once
per epoch (``epochs x 1437``). *Wall time* is the whole ``tools/train.py``
command, start-up and validation included.

Usage::

    python tools/demo.py [--seeds 0 1 2] [--work-dir work_dirs/demo]
    python tools/demo.py --epochs 100 --ratio 0.3   # other schedules/ratios
"""
import argparse
import glob
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import Dict, List

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
import mmib  # noqa: E402,F401  (weights_only loading of MMEngine checkpoints)

FULL = osp.join(REPO, 'configs', 'demo', 'resnet18-tiny_digits_full.py')
INFOBATCH = osp.join(REPO, 'configs', 'demo',
                     'resnet18-tiny_digits_infobatch.py')


def final_accuracy(work_dir: str) -> float:
    """The last ``accuracy/top1`` logged by the run in ``work_dir``."""
    scalars = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                        'scalars.json')))[-1]
    rows = [json.loads(line) for line in open(scalars)]
    return [r['accuracy/top1'] for r in rows if 'accuracy/top1' in r][-1]


def schedule_options(epochs: int) -> List[str]:
    """``--cfg-options`` that set the demo schedule to ``epochs`` epochs."""
    return [
        f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
        f'param_scheduler.1.T_max={epochs - 1}',
        f'param_scheduler.1.end={epochs}',
        f'default_hooks.checkpoint.interval={epochs}'
    ]


def trained_samples(work_dir: str) -> Dict[str, int]:
    """Forward/backward passes and iterations of the run in ``work_dir``."""
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        ckpt = torch.load(f.read().strip(), map_location='cpu')
    meta = ckpt['meta']
    if 'infobatch' in ckpt:
        ledger = ckpt['infobatch']['ledger']
        return dict(
            samples=ledger['samples_trained'], iters=ledger['iters_trained'])
    num_samples = 1437  # DigitsDataset split='train'; one pass per epoch
    return dict(samples=meta['epoch'] * num_samples, iters=meta['iter'])


def run_one(name: str, config: str, seed: int, work_root: str,
            options: List[str]) -> dict:
    work_dir = osp.join(work_root,
                        f"{name.split()[0].lower()}_seed{seed}")
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', work_dir,
        '--cfg-options', f'randomness.seed={seed}', *options
    ]
    start = time.perf_counter()
    log = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - start
    if log.returncode != 0:
        sys.stderr.write(log.stdout[-3000:] + log.stderr[-3000:])
        raise SystemExit(f'training failed: {" ".join(cmd)}')
    result = dict(
        name=name, seed=seed, acc=final_accuracy(work_dir), wall=wall,
        **trained_samples(work_dir))
    print(f"  {name:<20} seed {seed}: top-1 {result['acc']:.2f}%  "
          f"samples {result['samples']}  iters {result['iters']}  "
          f'{wall:.1f}s', flush=True)
    return result


def table(results: List[dict]) -> str:
    """The side-by-side markdown table."""
    lines = [
        '| run | top-1 acc. (%) mean ± sd | samples trained (fwd/bwd) '
        '| saved | iterations | wall time (s) |',
        '|---|---|---|---|---|---|'
    ]
    names = list(dict.fromkeys(r['name'] for r in results))
    base = None
    for name in names:
        rows = [r for r in results if r['name'] == name]
        accs = [r['acc'] for r in rows]
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        samples = sum(r['samples'] for r in rows) / len(rows)
        iters = sum(r['iters'] for r in rows) / len(rows)
        wall = sum(r['wall'] for r in rows) / len(rows)
        base = base or samples
        lines.append(
            f'| {name} | {statistics.mean(accs):.2f} ± {sd:.2f} '
            f'| {samples:,.0f} | {100 * (1 - samples / base):.1f}% '
            f'| {iters:,.0f} | {wall:.1f} |')
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    parser.add_argument('--epochs', type=int, default=40)
    parser.add_argument('--ratio', type=float, default=0.5)
    args = parser.parse_args()
    # a fresh folder per invocation: earlier runs are never overwritten
    args.work_dir = osp.join(args.work_dir, time.strftime('%Y%m%d_%H%M%S'))
    os.makedirs(args.work_dir, exist_ok=True)
    print(f'work dirs under {args.work_dir}')
    options = schedule_options(args.epochs)
    configs = {
        'full data': (FULL, options),
        f'InfoBatch ratio={args.ratio:g}':
        (INFOBATCH, options + [f'custom_hooks.0.ratio={args.ratio}']),
    }
    print(f'Training {len(configs)} configs x {len(args.seeds)} seeds '
          f'({args.epochs} epochs each) on scikit-learn digits ...',
          flush=True)
    results = [
        run_one(name, config, seed, args.work_dir, opts)
        for seed in args.seeds for name, (config, opts) in configs.items()
    ]
    print()
    print(f'ResNet-18 (16 base channels) on scikit-learn digits, '
          f'{args.epochs} epochs, seeds {args.seeds}, this machine '
          f'({os.cpu_count()} CPUs):')
    print(table(results))


if __name__ == '__main__':
    main()
