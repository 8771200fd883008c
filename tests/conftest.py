"""Shared helpers of the test suite (no test module imports another).

Configs built on the shipped demo, a recording hook, subprocess runs of the
tools, stock configs of the installed mmpretrain shrunk for a CPU, and the
marker for tests that need Debian's Fashion-MNIST package.
"""
import copy
import itertools
import math
import os
import os.path as osp
import socket
import sys
import subprocess
from typing import List, Optional

import mmpretrain

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import Runner

import mmib  # noqa: F401  (import fixes, registration)
import mmib_kit  # noqa: F401  (the demo data sets and model the tests build)

# what tools/train.py does before a run: the stock self-supervised view
# pipelines (ColorJitter with a hue range) need mmcv's adjust_hue mended
# under numpy 2, for the plain runs as much as for the pruned ones
mmib.compat.apply_run_fixes()

# under pytest-xdist (README's test command: two workers on two cores)
# each worker trains on one thread, and so does every process it starts
# (the tools, the launchers' ranks, the mmdet probes), so that the workers
# do not fight for the cores
if os.environ.get('PYTEST_XDIST_WORKER'):
    torch.set_num_threads(1)
    os.environ['OMP_NUM_THREADS'] = '1'

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_FULL = osp.join(REPO, 'configs', 'demo', 'resnet18-tiny_digits_full.py')
_names = itertools.count()


@HOOKS.register_module(force=True)
class RecordingHook(Hook):
    """Records, per training iteration, what a test needs to check.

    ``records`` holds dicts with ``epoch``, ``iter``, ``indices`` (the data
    set indices of the batch, from ``sample_idx``), ``loss`` (the scalar the
    model back-propagated) and ``lr`` (the learning rate the step used).
    """

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.records: List[dict] = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._indices = [
            s.metainfo.get('sample_idx', s.metainfo.get('img_path'))
            for s in data_batch['data_samples']
        ]
        self._lr = runner.optim_wrapper.get_lr()['lr'][0]
        infobatch = [h for h in runner.hooks
                     if type(h).__name__ == 'InfoBatchHook']
        self._pass = (infobatch[0].training.run.clock.pass_index
                      if infobatch else None)
        self._kept = (infobatch[0].training.run.plan.num_kept if infobatch else None)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.records.append(
            dict(
                epoch=runner.epoch,
                iter=runner.iter,
                indices=self._indices,
                loss=float(outputs['loss'].detach()),
                lr=self._lr,
                pass_index=self._pass,
                num_kept=self._kept))


def demo_config(work_dir: str,
                epochs: int = 2,
                num_samples: Optional[int] = 256,
                infobatch: Optional[dict] = None,
                lenet: bool = False,
                lr: float = 0.1) -> Config:
    """The shipped demo config, shortened for tests.

    Args:
        work_dir (str): Work directory.
        epochs (int): Training epochs (the schedule follows).
        num_samples (int, optional): Use the first ``num_samples`` digits.
        infobatch (dict, optional): InfoBatchHook options; None: no hook.
        lenet (bool): Use mmpretrain's LeNet5 (no BatchNorm, so with
            ``lr=0`` every sample's loss is fixed) on 32x32 digits.
        lr (float): Learning rate.
    """
    cfg = Config.fromfile(DEMO_FULL)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'test_{next(_names)}'
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs + 1  # no validation
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.param_scheduler[1].T_max = epochs - 1
    cfg.param_scheduler[1].end = epochs
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.logger.interval = 5
    cfg.optim_wrapper.optimizer.lr = lr
    if num_samples is not None:
        cfg.train_dataloader.dataset.indices = num_samples
    if lenet:
        cfg.model.backbone = dict(type='LeNet5')
        cfg.model.head.in_channels = 120
        cfg.train_dataloader.dataset.pipeline = [
            dict(type='Resize', scale=32),
            dict(type='PackInputs')
        ]
        cfg.train_dataloader.batch_size = 8
        cfg.param_scheduler = None  # keeps lr=0 at 0
    cfg.custom_hooks = [dict(type='RecordingHook')]
    if infobatch is not None:
        cfg.custom_hooks.append(dict(type='InfoBatchHook', **infobatch))
    return cfg


def iter_config(work_dir: str,
                passes: int = 5,
                num_samples: int = 128,
                batch_size: int = 16,
                infobatch: Optional[dict] = None) -> Config:
    """The demo model in an iteration-based schedule (as mmseg configs are).

    ``IterBasedTrainLoop`` with ``InfiniteSampler``, ``max_iters`` = ``passes``
    full passes, a linear warmup over the first pass and a ``PolyLR`` decay,
    both by iteration; a checkpoint every 10 iterations (and at the end).
    """
    cfg = demo_config(work_dir, num_samples=num_samples, infobatch=infobatch)
    full_pass = math.ceil(num_samples / batch_size)
    max_iters = passes * full_pass
    cfg.train_dataloader.batch_size = batch_size
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10**6)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
             end=full_pass),
        dict(type='PolyLR', eta_min=1e-4, power=0.9, by_epoch=False,
             begin=full_pass, end=max_iters),
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=10)
    cfg.default_hooks.logger = dict(
        type='LoggerHook', interval=5, log_metric_by_epoch=False)
    cfg.log_processor = dict(by_epoch=False)
    return cfg


def run(cfg: Config) -> Runner:
    """Build a runner from ``cfg`` and train it."""
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    return runner


def get_hook(runner: Runner, name: str) -> Hook:
    return next(h for h in runner.hooks if type(h).__name__ == name)


@pytest.fixture
def work_dir(tmp_path):
    return str(tmp_path)


def state_dicts_close(a: dict, b: dict, **tol) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], **tol, msg=key)


# -- subprocesses: tools/train.py, torchrun ------------------------------
TESTS = osp.join(REPO, 'tests')
PROBE_CONFIG = osp.join(TESTS, 'configs', 'digits_probe.py')


def subprocess_env() -> dict:
    """The environment of a subprocess test: the checkout and tests/ on
    the path, one thread, a Python stack from a rank that aborts."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO, TESTS, env.get('PYTHONPATH', '')])
    env['OMP_NUM_THREADS'] = '1'
    # a rank that aborts prints its Python stack
    env['PYTHONFAULTHANDLER'] = '1'
    return env


def run_command(args, timeout=300) -> str:
    """Run ``args`` in the checkout; fail with the output's tail."""
    result = subprocess.run(
        args, cwd=REPO, env=subprocess_env(), capture_output=True, text=True,
        timeout=timeout)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


class ListDataset:
    """A map-style data set of ``n`` one-number samples (``inputs=[i]``)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        return dict(inputs=torch.tensor([float(i)]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


# -- stock configs of the installed mmpretrain, shrunk for a CPU ---------
STOCK = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs')


EPOCHS = 3


def _shrink_scheduler(scheduler: dict, factor: float) -> dict:
    """The stock schedule's shape in ``EPOCHS`` epochs (warm-up, then
    decay, each at least one epoch)."""
    scheduler = dict(scheduler)
    begin = scheduler.get('begin', 0)
    begin = min(EPOCHS - 1, max(round(begin * factor), 1 if begin else 0))
    scheduler['begin'] = begin
    if 'end' in scheduler:
        scheduler['end'] = min(EPOCHS, max(begin + 1,
                                           round(scheduler['end'] * factor)))
    scheduler.pop('T_max', None)
    return scheduler


def load_stock(relpath: str, model: dict) -> Config:
    """The mmpretrain stock config at ``relpath`` with ``model`` merged in."""
    path = osp.join(STOCK, relpath)
    assert osp.exists(path), f'stock config {relpath} not in mmpretrain'
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(dict(model=copy.deepcopy(model)), allow_list_keys=True)
    return cfg


def shrink(relpath: str, work_dir: str, model: dict,
           infobatch=None) -> Config:
    """The stock config at ``relpath``, shrunk for a CPU test."""
    cfg = load_stock(relpath, model)
    if 'norm_cfg' in cfg.model.backbone:
        cfg.model.backbone.norm_cfg = dict(type='BN', requires_grad=True)
    cfg.data_preprocessor = dict(
        num_classes=10, mean=[127.5], std=[127.5], to_rgb=False)
    cfg.train_dataloader = dict(
        batch_size=16,
        num_workers=0,
        persistent_workers=False,
        dataset=dict(
            type='DigitsDataset',
            split='train',
            indices=96,
            pipeline=[dict(type='Resize', scale=(32, 32)),
                      dict(type='PackInputs')]),
        sampler=cfg.train_dataloader.sampler)
    return finish_shrink(cfg, work_dir, infobatch)


def finish_shrink(cfg: Config, work_dir: str, infobatch=None) -> Config:
    """What every shrunk epoch-based stock config shares: no validation,
    ``EPOCHS`` epochs with the stock schedule's shape, the recording hook
    after the recipe's own hooks (e.g. ConvNeXt's EMAHook), the InfoBatch
    line, a fixed seed."""
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator',
                'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    stock_epochs = cfg.train_cfg.max_epochs
    cfg.train_cfg = dict(by_epoch=True, max_epochs=EPOCHS)
    cfg.param_scheduler = [
        _shrink_scheduler(s, EPOCHS / stock_epochs)
        for s in cfg.param_scheduler
    ]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.custom_imports = dict(imports=['mmib'], allow_failed_imports=False)
    # the recipe's own hooks (e.g. ConvNeXt's EMAHook) stay
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='RecordingHook')
    ] + ([dict(type='InfoBatchHook', **infobatch)] if infobatch else [])
    cfg.randomness = dict(seed=0)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg


# -- the Debian package dataset-fashion-mnist ----------------------------
DEBIAN_DATA = '/usr/share/datasets/fashion-mnist'
needs_fashion_mnist = pytest.mark.skipif(
    not osp.exists(osp.join(DEBIAN_DATA, 'train-images-idx3-ubyte.gz')),
    reason='needs `apt-get install -y dataset-fashion-mnist` (.ci/run '
    'installs it)')


# -- 2-process gloo runs of tools/train.py with the probe hook ---------------
def train_two_ranks(work_dir: str, *options: str,
                    resume: Optional[str] = None) -> List[dict]:
    """torchrun 2 CPU processes of tools/train.py on the probe config;
    returns both ranks' probe records (``tests/ddp_probe.py``)."""
    args = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
            '--nproc_per_node=2', 'tools/train.py', PROBE_CONFIG,
            '--launcher', 'pytorch', '--work-dir', work_dir]
    if resume:
        args += ['--resume', resume]
    if options:
        args += ['--cfg-options', *options]
    run_command(args, timeout=600)
    return [torch.load(osp.join(work_dir, f'probe_rank{r}.pt'))
            for r in (0, 1)]


def assert_ranks_agree(ranks: List[dict]) -> None:
    """Same kept lists and scores on both ranks, which together train the
    kept list; the same savings, and some saved."""
    for e0, e1 in zip(ranks[0]['epochs'], ranks[1]['epochs']):
        assert torch.equal(e0['kept'], e1['kept'])
        assert torch.equal(e0['scores'], e1['scores'])
        assert set(e0['trained'] + e1['trained']) == set(e0['kept'].tolist())
    assert ranks[0]['savings'] == ranks[1]['savings']
    assert ranks[0]['savings']['saved_samples'] > 0
