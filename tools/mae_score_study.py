"""Does MAE's mask noise call for averaged scores? A small real measurement.

MAE masks 75% of the patches at random, so a sample's loss changes from
pass to pass even for a fixed model. This script measures on the tiny MAE
config (520 photo tiles, 20 epochs):

1. how noisy the per-sample score is: the Spearman rank correlation of the
   per-sample losses of one trained model under two different mask draws;
2. whether it matters for InfoBatch: the final reconstruction loss on all
   tiles (no augmentation, 4 fixed mask draws) after training on the full
   data, with InfoBatch keeping the latest loss (``score_momentum=0``, the
   paper), and with an exponential moving average (``score_momentum=0.5``),
   for a few seeds, and the forward/backward passes each trained.

Usage::

    python tools/mae_score_study.py [--seeds 0 1] [--epochs 20] [--work-dir work_dirs/mae_study]
"""
import argparse
import os.path as osp
import statistics
import subprocess
import sys
import time

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
import mmib  # noqa: E402,F401
from mmib_kit.analysis.equal_cost import load_checkpoint_safely  # noqa: E402
from mmib.engine import PerSampleLossRecorder  # noqa: E402

FULL = osp.join(REPO, 'configs', 'selfsup',
                'mae_vit-tiny-p8_photo-tiles_full.py')
INFOBATCH = osp.join(REPO, 'configs', 'selfsup',
                     'mae_vit-tiny-p8_photo-tiles_infobatch.py')
RUNS = {
    'full data': (FULL, []),
    'InfoBatch, latest loss': (INFOBATCH, []),
    'InfoBatch, EMA 0.5': (INFOBATCH, ['custom_hooks.0.score_momentum=0.5']),
}


def per_sample_losses(config: str, checkpoint: str, mask_seed: int):
    """Per-sample MAE losses of all tiles under one fixed mask draw."""
    from mmengine.config import Config
    from mmengine.dataset import default_collate
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS, MODELS

    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    # MMEngine's own checkpoints (the full-data run's) hold message-hub
    # buffers that torch's weights_only load refuses: mmib's safe reader
    model.load_state_dict(load_checkpoint_safely(checkpoint)['state_dict'])
    model.eval()
    dataset = DATASETS.build(
        dict(type='PhotoTilesDataset', pipeline=[dict(type='PackInputs')]))
    batch = default_collate([dataset[i] for i in range(len(dataset))])
    recorder = PerSampleLossRecorder(model)
    torch.manual_seed(mask_seed)
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        recorder.start_step(torch.ones(len(dataset)))
        model(**data, mode='loss')
        scores = recorder.finish_step()
    recorder.remove()
    return scores


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    ra = a.argsort().argsort().float()
    rb = b.argsort().argsort().float()
    return float(torch.corrcoef(torch.stack([ra, rb]))[0, 1])


def train(config, options, work_dir, seed, epochs=20) -> dict:
    cmd = [
        sys.executable, osp.join(REPO, 'tools', 'train.py'), config,
        '--work-dir', work_dir, '--cfg-options', f'randomness.seed={seed}',
        f'train_cfg.max_epochs={epochs}', *options
    ]
    subprocess.run(cmd, check=True, capture_output=True, cwd=REPO)
    ckpt = osp.join(work_dir, f'epoch_{epochs}.pth')
    state = load_checkpoint_safely(ckpt)
    samples = (state['infobatch']['ledger']['samples_trained']
               if 'infobatch' in state else epochs * 520)
    losses = [per_sample_losses(config, ckpt, s).mean() for s in range(4)]
    return dict(ckpt=ckpt, samples=samples,
                loss=float(torch.stack(losses).mean()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=' '.join(__doc__.split('\n\n')[0].split()))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--epochs', type=int, default=20,
                        help='pre-training epochs (default: 20)')
    parser.add_argument('--work-dir',
                        default=osp.join('work_dirs', 'mae_study'))
    args = parser.parse_args()
    # a fresh folder per invocation: earlier runs are never overwritten
    args.work_dir = osp.join(args.work_dir, time.strftime('%Y%m%d_%H%M%S'))
    results = {name: [] for name in RUNS}
    for seed in args.seeds:
        for name, (config, options) in RUNS.items():
            tag = name.split(',')[-1].strip().replace(' ', '_')
            work_dir = osp.join(args.work_dir, f'{tag}_seed{seed}')
            results[name].append(
                train(config, options, work_dir, seed, args.epochs))
            print(f'  {name:<24} seed {seed}: final loss '
                  f"{results[name][-1]['loss']:.4f}, samples "
                  f"{results[name][-1]['samples']}", flush=True)
    full = results['full data'][0]['ckpt']
    noise = spearman(per_sample_losses(FULL, full, 100),
                     per_sample_losses(FULL, full, 101))
    print()
    print('Per-sample score noise (trained full-data model, two mask '
          f'draws): Spearman rank correlation {noise:.3f}')
    print()
    print(f'Tiny MAE (520 photo tiles, {args.epochs} epochs), seeds '
          f'{args.seeds}:')
    print('| run | final reconstruction loss (mean ± sd) | samples trained '
          '| saved |')
    print('|---|---|---|---|')
    base = statistics.mean(r['samples'] for r in results['full data'])
    for name, rows in results.items():
        losses = [r['loss'] for r in rows]
        sd = statistics.stdev(losses) if len(losses) > 1 else 0.0
        samples = statistics.mean(r['samples'] for r in rows)
        print(f'| {name} | {statistics.mean(losses):.4f} ± {sd:.4f} '
              f'| {samples:,.0f} | {100 * (1 - samples / base):.1f}% |')


if __name__ == '__main__':
    main()
