"""The one line under the users' own launch scripts: mmpretrain's and
mmseg's ``tools/train.py`` as their packages install them (``.mim/tools``),
with mmib's configs as they are (``custom_imports`` loads mmib)."""
import os.path as osp
import subprocess
import sys

import pytest
import torch

from conftest import REPO
from mmib_kit.datasets.tiny_ade20k import write_tiny_ade20k


def package_train_py(package: str) -> str:
    module = __import__(package)
    path = osp.join(osp.dirname(module.__file__), '.mim', 'tools', 'train.py')
    assert osp.exists(path), path
    return path


def train(script: str, config: str, work_dir: str, *options: str) -> str:
    # run outside the checkout: the scripts find mmib as an installed package
    out = subprocess.run(
        [sys.executable, script, config, '--work-dir', work_dir,
         '--cfg-options', *options],
        cwd=osp.dirname(work_dir), capture_output=True, text=True,
        timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    return log


def infobatch_state(checkpoint: str) -> dict:
    return torch.load(checkpoint, weights_only=True)['infobatch']


def test_mmpretrain_train_py_runs_the_one_line(tmp_path):
    work_dir = str(tmp_path / 'work')
    log = train(package_train_py('mmpretrain'),
                osp.join(REPO, 'configs', 'demo',
                         'resnet18-tiny_digits_infobatch.py'), work_dir,
                'train_cfg.max_epochs=4', 'train_dataloader.dataset.indices=256')
    assert 'InfoBatch finished: trained' in log
    assert 'Epoch(val) [4]' in log
    ledger = infobatch_state(osp.join(work_dir, 'epoch_4.pth'))['ledger']
    assert 0 < ledger['samples_trained'] < 4 * 256


@pytest.mark.parametrize('config', ['upernet_r18-tiny_tiny-ade20k_infobatch.py'])
def test_mmseg_train_py_runs_the_one_line(tmp_path, config):
    data_root = str(tmp_path / 'tiny_ade20k')
    write_tiny_ade20k(data_root)
    work_dir = str(tmp_path / 'work')
    log = train(package_train_py('mmseg'),
                osp.join(REPO, 'configs', 'segmentation', config), work_dir,
                f'train_dataloader.dataset.data_root={data_root}',
                f'val_dataloader.dataset.data_root={data_root}',
                f'test_dataloader.dataset.data_root={data_root}',
                'train_cfg.max_iters=30', 'train_cfg.val_interval=1000')
    assert 'InfoBatch finished: trained' in log
    assert 'mIoU' in log  # mmseg's own validation at the end
    (last, ) = [f for f in open(osp.join(work_dir, 'last_checkpoint'))]
    assert infobatch_state(last.strip())['ledger']['samples_trained'] > 0


def _rank_pids(parent: int) -> dict:
    """The torchrun workers of ``parent``: RANK -> pid (from /proc)."""
    import glob as _glob
    ranks = {}
    for stat in _glob.glob('/proc/[0-9]*/environ'):
        pid = int(stat.split('/')[2])
        try:
            with open(f'/proc/{pid}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            if ppid != parent:
                continue
            with open(stat, 'rb') as f:
                env = dict(kv.split(b'=', 1) for kv in f.read().split(b'\0')
                           if b'=' in kv)
        except (OSError, ValueError):
            continue
        if b'RANK' in env:
            ranks[int(env[b'RANK'])] = pid
    return ranks


def test_a_stalled_rank_ends_the_job_with_a_named_error(tmp_path):
    """SIGSTOP one of two gloo ranks mid-training: the other stops at the
    config's env_cfg.dist_cfg.timeout (10 s here) with one sentence naming
    the setting, and the launcher ends the job in bounded time."""
    import os
    import signal
    import time
    from conftest import PROBE_CONFIG, subprocess_env
    work_dir = str(tmp_path / 'work')
    job = subprocess.Popen(
        [sys.executable, '-m', 'torch.distributed.run', '--standalone',
         '--nproc_per_node=2', 'tools/train.py', PROBE_CONFIG, '--launcher',
         'pytorch', '--work-dir', work_dir, '--cfg-options',
         'train_cfg.max_epochs=400', 'env_cfg.dist_cfg.timeout=10'],
        cwd=REPO, env=subprocess_env(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    stopped = None
    try:
        deadline = time.time() + 120
        while time.time() < deadline and stopped is None:
            time.sleep(2)
            logs = glob_logs(work_dir)
            ranks = _rank_pids(job.pid)
            if logs and 'Epoch(train)' in open(logs[0]).read() and 1 in ranks:
                stopped = ranks[1]
                os.kill(stopped, signal.SIGSTOP)
        assert stopped is not None, 'training did not start'
        out, _ = job.communicate(timeout=150)
        assert job.returncode != 0
        assert 'A rank did not answer within 10 s' in out, out[-3000:]
        assert 'env_cfg.dist_cfg.timeout' in out
    finally:
        if job.poll() is None:
            job.kill()
        if stopped is not None:
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(stopped, sig)
                except ProcessLookupError:
                    pass


def glob_logs(work_dir: str) -> list:
    import glob as _glob
    return _glob.glob(osp.join(work_dir, '*', '*.log'))
