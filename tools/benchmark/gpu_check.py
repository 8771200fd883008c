"""The checks only a GPU can make, in one run: one JSON and one markdown table.

Parts (``--parts``, all by default):

a. **AMP**: mmpretrain's stock ``mae_vit-base-p16_8xb512-amp-coslr-300e_in1k``
   recipe (its ``AmpOptimWrapper`` with dynamic fp16 loss scaling, AdamW,
   warmup + cosine by iteration), shrunk to a 2-layer ViT on 32x32 photo
   tiles: plain vs ``InfoBatchHook(ratio=0)`` (per-iteration losses equal
   within fp16 noise) vs ``ratio=0.5``; loss-scale skipped steps counted;
   every stored score finite.
b. **Wall time = samples**: ResNet-18 (CIFAR stem) on the 60,000 Fashion-MNIST
   training images with ``num_workers`` > 0: the full data, ``ratio=0`` (the
   hook's share of the loop time) and ``ratio=0.5`` (training-loop seconds
   saved per sample saved, 1.0 = a pruned sample costs nothing).
c. **FlexibleRunner strategies** on the shrunk stock MAE recipe, one process:
   ``DDPStrategy``, ``FSDPStrategy``, ``DeepSpeedStrategy`` (where deepspeed
   imports; mmib refuses it by name: its checkpoints skip the hooks).
d. **Full vs InfoBatch vs the equal-cost shorter schedule** on the 60k set
   (SmallCNN, the benchmark's recipe), ``--epochs`` and ``--seeds``.

On a CPU, ``--tiny`` runs every part with tiny sizes (a dry run of the
script; AMP falls back to fp32 there and says so, FSDP's refusal of CPU
processes is recorded as the part's result). Each part's failure is
recorded in the table, never hidden; the exit status is 1 if any failed.

Usage::

    python tools/prepare_fashion_mnist.py
    python tools/benchmark/gpu_check.py --out work_dirs/gpu_check   # ~10 min
    python tools/benchmark/gpu_check.py --tiny --out work_dirs/gpu_tiny
"""
import argparse
import copy
import json
import os
import os.path as osp
import socket
import statistics
import sys
import tempfile
import time
import traceback

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

import mmib  # noqa: E402,F401
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.registry import HOOKS, RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmib_kit.bench import ARMS, Schedule, run_arms  # noqa: E402
from mmib_kit.bench.harness import Arm  # noqa: E402

STOCK_MAE = 'mae/mae_vit-base-p16_8xb512-amp-coslr-300e_in1k.py'
TINY_MAE = osp.join(REPO, 'configs', 'selfsup',
                    'mae_vit-tiny-p8_photo-tiles_full.py')
FASHION = osp.join(REPO, 'configs', 'fashion_mnist',
                   'smallcnn_fashion-mnist-4k_full.py')


@HOOKS.register_module(force=True)
class StepProbeHook(Hook):
    """Per-iteration loss and fp16 loss scale (skipped steps lower it)."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.losses, self.scales = [], []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self.losses.append(float(outputs['loss'].detach()))
        scaler = getattr(runner.optim_wrapper, 'loss_scaler', None)
        self.scales.append(float(scaler.get_scale()) if scaler else None)


def amp_available() -> bool:
    return torch.cuda.is_available()


def stock_mae(work_dir: str, epochs: int, infobatch=None) -> Config:
    """The stock MAE recipe with the tiny model and the photo tiles."""
    import mmpretrain
    path = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs',
                    STOCK_MAE)
    cfg = Config.fromfile(path)
    tiny = Config.fromfile(TINY_MAE)
    cfg.model = tiny.model
    cfg.model.data_preprocessor = tiny.data_preprocessor
    cfg.train_dataloader = tiny.train_dataloader
    cfg.custom_imports = dict(imports=['mmib'], allow_failed_imports=False)
    cfg.resume = False  # the stock recipe auto-resumes
    cfg.load_from = None
    cfg.work_dir = work_dir
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs)
    cfg.param_scheduler[0].end = 1
    cfg.param_scheduler[1].update(T_max=epochs - 1, begin=1, end=epochs)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=epochs)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10)
    cfg.randomness = dict(seed=0, diff_rank_seed=True, deterministic=False)
    cfg.env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
    if not amp_available():
        cfg.optim_wrapper.type = 'OptimWrapper'  # AMP needs an accelerator
        cfg.optim_wrapper.pop('loss_scale', None)
    cfg.custom_hooks = [dict(type='StepProbeHook')]
    if infobatch is not None:
        cfg.custom_hooks.append(dict(type='InfoBatchHook', **infobatch))
    return cfg


def hook(runner, name):
    return next(h for h in runner.hooks if type(h).__name__ == name)


def part_amp(out: str, tiny: bool) -> dict:
    epochs = 3 if tiny else 10
    runs = {}
    for name, infobatch in (('plain', None), ('ratio0', dict(ratio=0.0)),
                            ('ratio0.5', dict(ratio=0.5))):
        runner = Runner.from_cfg(
            stock_mae(osp.join(out, 'amp', name), epochs, infobatch))
        runner.train()
        probe = hook(runner, 'StepProbeHook')
        row = dict(iters=len(probe.losses), losses=probe.losses)
        scales = [s for s in probe.scales if s is not None]
        row['skipped_steps'] = sum(b < a for a, b in zip(scales, scales[1:]))
        if infobatch is not None:
            ib = hook(runner, 'InfoBatchHook')
            seen = ib.training.run.table.seen
            row['scores_finite'] = bool(
                torch.isfinite(ib.training.run.table.scores[seen]).all())
            row['saved_samples'] = ib.savings()['saved_samples']
        runs[name] = row
    plain, zero = (torch.tensor(runs[k]['losses']) for k in ('plain',
                                                             'ratio0'))
    return dict(
        precision='fp16 AMP (dynamic loss scale)'
        if amp_available() else 'fp32 (no CUDA: AmpOptimWrapper skipped)',
        epochs=epochs,
        ratio0_max_abs_loss_diff=float((plain - zero).abs().max()),
        ratio0_same_iters=len(plain) == len(zero),
        skipped_steps={k: v['skipped_steps'] for k, v in runs.items()},
        scores_finite=all(runs[k]['scores_finite']
                          for k in ('ratio0', 'ratio0.5')),
        saved_samples=runs['ratio0.5']['saved_samples'])


def resnet_config(out: str, tiny: bool) -> str:
    """The Fashion-MNIST recipe with a ResNet-18 (CIFAR stem), workers."""
    cfg = Config.fromfile(FASHION)
    width = 8 if tiny else 64
    cfg.model.backbone = dict(type='ResNet_CIFAR', depth=18, in_channels=1,
                              stem_channels=width, base_channels=width)
    cfg.model.neck = dict(type='GlobalAveragePooling')
    cfg.model.head.in_channels = 8 * width
    workers = 2 if tiny else 8
    if tiny:
        cfg.val_dataloader.dataset.indices = 500
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        # persistent workers as a GPU run has them; not in the dry run: a
        # finished run's worker pools (MMEngine's Runner, with or without
        # mmib) wait out torch's join timeouts when freed, about 15 s a run
        loader.update(num_workers=workers, persistent_workers=not tiny,
                      pin_memory=amp_available())
    path = osp.join(out, 'resnet18_fashion-mnist.py')
    os.makedirs(out, exist_ok=True)
    cfg.dump(path)
    return path


def part_wall_time(out: str, tiny: bool, seeds) -> dict:
    schedule = Schedule('tiny' if tiny else 'walltime', 3 if tiny else 4,
                        512 if tiny else 60000)
    registry = dict(ARMS)
    registry['ratio0'] = Arm('ratio0', 'InfoBatch ratio=0',
                             hook=dict(ratio=0.0))
    registry['infobatch_d75'] = Arm('infobatch_d75', 'InfoBatch delta=0.75',
                                    hook=dict(ratio=0.5, delta=0.75))
    results = run_arms(resnet_config(osp.join(out, 'walltime'), tiny),
                       schedule, ['full', 'ratio0', 'infobatch_d75'],
                       seeds[:1], osp.join(out, 'walltime'),
                       registry=registry)
    by_arm = {r['arm']: r for r in results}
    full, zero, ib = (by_arm[a] for a in ('full', 'ratio0', 'infobatch_d75'))
    saved_samples = 1 - ib['samples'] / full['samples']
    saved_time = 1 - ib['train_seconds'] / full['train_seconds']
    return dict(
        epochs=schedule.length, num_train=schedule.num_train,
        train_seconds={a: round(r['train_seconds'], 2)
                       for a, r in by_arm.items()},
        hook_share_of_loop=zero['train_seconds'] / full['train_seconds'] - 1,
        saved_samples=saved_samples, saved_time=saved_time,
        time_per_sample_ratio=(saved_time / saved_samples
                               if saved_samples else None))


def _one_process_group() -> None:
    if torch.distributed.is_initialized():
        return
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                      RANK='0', WORLD_SIZE='1', LOCAL_RANK='0')
    torch.distributed.init_process_group(
        'nccl' if torch.cuda.is_available() else 'gloo')


def part_strategies(out: str, tiny: bool) -> dict:
    _one_process_group()
    strategies = dict(
        DDPStrategy=dict(type='DDPStrategy'),
        FSDPStrategy=dict(type='FSDPStrategy'),
        DeepSpeedStrategy=dict(type='DeepSpeedStrategy', zero_optimization=dict(stage=2)))
    if not torch.cuda.is_available():
        strategies['DDPStrategy']['model_wrapper'] = dict(
            type='MMDistributedDataParallel', device_ids=None,
            broadcast_buffers=False)
    rows = {}
    for name, strategy in strategies.items():
        cfg = stock_mae(osp.join(out, 'strategies', name), 3,
                        dict(ratio=0.5))
        cfg.runner_type = 'FlexibleRunner'
        cfg.strategy = strategy
        cfg.launcher = 'pytorch'
        if name == 'DeepSpeedStrategy':
            cfg.optim_wrapper.type = 'DeepSpeedOptimWrapper'
            cfg.optim_wrapper.pop('loss_scale', None)
            cfg.optim_wrapper.pop('paramwise_cfg', None)
        try:
            runner = RUNNERS.build(cfg)
            runner.train()
            ib = hook(runner, 'InfoBatchHook')
            rows[name] = dict(status='ok',
                              saved_samples=ib.savings()['saved_samples'])
        except Exception as error:  # recorded, not hidden
            text = f'{type(error).__name__}: {error}'
            if 'InfoBatchHook cannot run under' in text:
                status = 'refused by mmib (its checkpoints skip the hooks)'
            elif name == 'DeepSpeedStrategy' and 'not installed' in text:
                status = 'deepspeed not installed'
            elif name == 'FSDPStrategy' and not torch.cuda.is_available():
                status = 'needs an accelerator (torch FSDP)'
            else:
                status = 'failed'
            rows[name] = dict(status=status, error=text[:400])
    return rows


def part_accuracy(out: str, tiny: bool, epochs: int, seeds) -> dict:
    schedule = Schedule('tiny' if tiny else f'e{epochs}_60k',
                        3 if tiny else epochs, 256 if tiny else 60000)
    results = run_arms(FASHION, schedule, ['full', 'infobatch', 'shorter'],
                       seeds, osp.join(out, 'accuracy'))
    table = {}
    for arm in ('full', 'infobatch', 'shorter'):
        rows = [r for r in results if r['arm'] == arm]
        top1 = [r['score'] for r in rows]
        table[arm] = dict(
            top1_mean=statistics.mean(top1),
            top1_sd=statistics.stdev(top1) if len(top1) > 1 else 0.0,
            samples=statistics.mean(r['samples'] for r in rows),
            train_seconds=statistics.mean(r['train_seconds'] for r in rows))
    return dict(epochs=schedule.length, num_train=schedule.num_train,
                seeds=list(seeds), arms=table)


def markdown(report: dict) -> str:
    lines = [f"# GPU check ({report['device']}, {report['date']})", '',
             f"command: `{report['command']}`", '',
             '| part | result |', '|---|---|']
    for part, result in report['parts'].items():
        text = json.dumps(result, default=str)
        lines.append(f'| {part} | `{text}` |')
    return '\n'.join(lines) + '\n'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=' '.join(__doc__.split('\n\n')[0].split()))
    parser.add_argument('--out', default=osp.join('work_dirs', 'gpu_check'))
    parser.add_argument('--tiny', action='store_true',
                        help='tiny sizes: a dry run on a CPU')
    parser.add_argument('--parts', nargs='+', default=list('abcd'),
                        choices=list('abcd'))
    parser.add_argument('--epochs', type=int, default=10,
                        help='epochs of part d on the 60k set')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    args = parser.parse_args(argv)
    args.out = osp.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    os.chdir(REPO)  # the configs' data roots are relative to the repository
    device = (torch.cuda.get_device_name(0) if torch.cuda.is_available()
              else 'CPU (no CUDA)')
    report = dict(device=device, date=time.strftime('%Y-%m-%d'),
                  command=' '.join(['python', 'tools/benchmark/gpu_check.py']
                                   + (argv if argv is not None
                                      else sys.argv[1:])),
                  torch=torch.__version__, parts={})
    parts = dict(
        a=('a. AMP (stock MAE recipe)', lambda: part_amp(args.out, args.tiny)),
        b=('b. wall time = samples (ResNet-18, 60k)',
           lambda: part_wall_time(args.out, args.tiny, args.seeds)),
        c=('c. FlexibleRunner strategies',
           lambda: part_strategies(args.out, args.tiny)),
        d=('d. full vs InfoBatch vs shorter (60k)',
           lambda: part_accuracy(args.out, args.tiny, args.epochs,
                                 args.seeds)))
    failed = False
    for key in args.parts:
        title, run = parts[key]
        start = time.perf_counter()
        try:
            result = run()
        except Exception as error:  # recorded in the table
            failed = True
            result = dict(status='failed', error=traceback.format_exception_only(
                type(error), error)[-1].strip()[:600])
        failed = failed or any(
            isinstance(v, dict) and v.get('status') == 'failed'
            for v in result.values())
        result['seconds'] = round(time.perf_counter() - start, 1)
        report['parts'][title] = result
        print(f'{title}: {json.dumps(result, default=str)}', flush=True)
    with open(osp.join(args.out, 'gpu_check.json'), 'w') as f:
        json.dump(report, f, indent=1, default=str)
    table = markdown(report)
    with open(osp.join(args.out, 'gpu_check.md'), 'w') as f:
        f.write(table)
    print(table)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
