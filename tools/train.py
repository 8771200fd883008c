"""Train a model with MMEngine's Runner (mmpretrain / mmseg configs).

The OpenMMLab ``tools/train.py`` with InfoBatch available: ``import mmib``
comes first, so the import fixes of ``mmib.compat`` are in place and
``InfoBatchHook`` is registered before the config is built; the run fixes
(mmcv's ``adjust_hue`` under numpy 2) are applied before the runner is
built.

Examples::

    python tools/train.py configs/demo/resnet18-tiny_digits_infobatch.py
    python tools/train.py CONFIG --work-dir work_dirs/x --amp
    python tools/train.py CONFIG --resume            # latest checkpoint
    python tools/train.py CONFIG --resume PATH.pth
    python tools/train.py CONFIG --cfg-options custom_hooks.0.ratio=0.3
    bash tools/dist_train.sh CONFIG 4                # --launcher pytorch
"""
import argparse
import gc
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmib  # noqa: E402,F401  (compat fixes + registration first)
import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmib.checkpoint.resume_files import (checkpoint_problem,  # noqa: E402
                                          find_resumable, planted_links)
from mmengine.runner import Runner  # noqa: E402
from mmib_kit.datasets.data_roots import check_data_roots  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the OpenMMLab training flags."""
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest one in '
        'the work dir when no path is given')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic mixed precision training')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs, e.g. '
        'custom_hooks.0.ratio=0.3')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_config(args: argparse.Namespace) -> Config:
    """Load the config and apply the command-line flags."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        from mmengine.device import get_device
        if get_device() == 'cpu':
            raise SystemExit(
                '--amp needs a GPU (or NPU/MLU/MUSA): MMEngine\'s '
                'AmpOptimWrapper does not run on the CPU. Drop --amp here.')
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print('AMP training is already enabled in the config.')
        else:
            if optim_wrapper != 'OptimWrapper':
                raise ValueError(
                    '--amp needs optim_wrapper.type=OptimWrapper, got '
                    f'{optim_wrapper}')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.launcher != 'none' and not torch.cuda.is_available():
        set_cpu_device_ids(cfg)

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = pick_auto_resume(cfg.work_dir)
    elif args.resume is not None:
        problem = checkpoint_problem(args.resume)
        if problem is not None:
            raise SystemExit(f'--resume {args.resume}: cannot resume from '
                             f'this file ({problem}).')
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def pick_auto_resume(work_dir: str):
    """``--resume`` without a path: the newest intact checkpoint.

    MMEngine reads ``last_checkpoint`` only; when that is empty, names a
    missing file or one that does not load, the newest intact ``.pth`` of
    the work dir is used, with a warning naming what was skipped.
    """
    path, notes = find_resumable(work_dir)
    for note in notes:
        print(f'WARNING: --resume skipped {note}', flush=True)
    if path is not None and notes:
        print(f'WARNING: --resume reads {path} instead.', flush=True)
    return path


def set_cpu_device_ids(cfg: Config) -> None:
    """Distributed training on CPU processes: ``device_ids=None``.

    torch's DDP rejects ``device_ids`` for CPU modules, and MMEngine passes
    ``[LOCAL_RANK]`` unless the config says otherwise: ``Runner`` through
    ``model_wrapper_cfg``, ``FlexibleRunner``'s ``DDPStrategy`` through
    ``strategy.model_wrapper``. Other strategies (FSDP, DeepSpeed) need an
    accelerator and are left as they are.
    """
    strategy = cfg.get('strategy') if cfg.get('runner_type') else None
    if strategy is None:
        wrapper = cfg.get('model_wrapper_cfg') or dict(
            type='MMDistributedDataParallel')
        where = 'model_wrapper_cfg'
    elif strategy.get('type') == 'DDPStrategy':
        # DDPStrategy's own default wrapper (broadcast_buffers=False)
        wrapper = strategy.get('model_wrapper') or dict(
            type='MMDistributedDataParallel', broadcast_buffers=False)
        where = 'strategy.model_wrapper'
    else:
        return
    if wrapper.get('device_ids', 'unset') is None:
        return
    wrapper['device_ids'] = None
    if strategy is None:
        cfg.model_wrapper_cfg = wrapper
    else:
        strategy['model_wrapper'] = wrapper
    print('No CUDA: distributed training on the CPU with gloo, '
          f'{where}={dict(wrapper)}.', flush=True)


def build_runner(cfg: Config):
    """``Runner.from_cfg``, or the registered runner ``cfg.runner_type``
    names (e.g. ``FlexibleRunner``), as OpenMMLab's train scripts do."""
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def end_process_group() -> None:
    """End a multi-process run cleanly (a no-op in a single process).

    The DDP wrapper's reducer holds the process group, and the runner sits
    in reference cycles, so without this both live until interpreter
    finalization; gloo's worker threads torn down there can end a rank with
    "terminate called without an active exception" (SIGABRT, seen now and
    then on CPU). Collecting them first and destroying the group while the
    interpreter is alive joins those threads at a defined point.
    """
    if not (torch.distributed.is_available()
            and torch.distributed.is_initialized()):
        return
    gc.collect()
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = build_config(args)
    # a missing data folder: one sentence, before anything is built
    try:
        check_data_roots(cfg)
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from None
    # MMEngine saves through links: a link planted in a shared work dir
    # would have another file overwritten
    links = planted_links(cfg.work_dir)
    if links:
        raise SystemExit(
            f'The work dir holds symbolic links where MMEngine writes its '
            f'checkpoints: {", ".join(links)}; saving would overwrite the '
            'files they point to. Remove them, or train in a new '
            '--work-dir.')
    # MMEngine's pytorch launcher needs CUDA; on CPU start gloo ourselves,
    # with the config's timeout as MMEngine's launcher would
    timeout = (cfg.get('env_cfg') or {}).get('dist_cfg', {}).get('timeout')
    mmib.compat.init_cpu_process_group(args.launcher, timeout)
    mmib.compat.apply_run_fixes()
    runner = build_runner(cfg)
    # --resume never executes the checkpoint's meta['config'] (any config)
    runner.register_hook(mmib.engine.CheckpointGuardHook())
    try:
        runner.train()
    except ValueError as error:  # BatchNorm on a one-sample last batch
        if 'need at least one array to concatenate' in str(error):
            # MMEngine's BaseDataset serialising an empty data list
            raise SystemExit(
                'The training data set is empty (MMEngine found no sample '
                'to load): check train_dataloader.dataset (data_root, '
                'ann_file, data_prefix, indices).') from None
        if 'Expected more than 1 value per channel' not in str(error):
            raise
        loader = cfg.train_dataloader
        raise SystemExit(
            'A training batch held a single sample, which BatchNorm cannot '
            f'train on (batch_size={loader.get("batch_size")}: the training '
            "set's size leaves a last batch of one). Set "
            'train_dataloader.drop_last=True, or change the batch size or '
            f'the data set. ({str(error).splitlines()[0][:200]})') from None
    except RuntimeError as error:  # gloo's DistBackendError included
        if args.launcher == 'none' or 'timed out' not in str(error).lower():
            raise
        raise SystemExit(
            f'A rank did not answer within {timeout or 1800:g} s '
            '(env_cfg.dist_cfg.timeout; torch\'s default 1800): a process '
            'of the job stalled or died. Look at the other ranks\' logs; '
            'set env_cfg.dist_cfg.timeout to end a stalled job sooner. '
            f'({str(error).splitlines()[0][:200]})') from None
    del runner  # the DDP model and its reducer go before the group
    end_process_group()


if __name__ == '__main__':
    main()
