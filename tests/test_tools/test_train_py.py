"""tools/train.py end to end in subprocesses: flags, resume, 2-process DDP."""
import glob
import math
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from conftest import PROBE_CONFIG, REPO, TESTS, free_port, run_command, subprocess_env

sys.path.insert(0, osp.join(REPO, 'tools'))
import train  # noqa: E402  (tools/train.py)
import mmib  # noqa: E402


def _train(*args) -> str:
    return run_command([sys.executable, 'tools/train.py', PROBE_CONFIG, *args])


def test_train_py_flags_cfg_options_and_resume(tmp_path):
    work_dir = str(tmp_path)
    out = _train('--work-dir', work_dir, '--cfg-options',
                 'custom_hooks.0.ratio=0.3', 'train_cfg.max_epochs=2')
    assert 'InfoBatch finished' in out
    ckpt = torch.load(osp.join(work_dir, 'epoch_2.pth'))
    assert ckpt['infobatch']['ratios'] == [0.3]
    assert ckpt['meta']['epoch'] == 2

    # resume the latest checkpoint and train two more epochs
    out = _train('--work-dir', work_dir, '--resume', '--cfg-options',
                 'custom_hooks.0.ratio=0.3')
    assert 'resumed epoch: 2' in out
    probe = torch.load(osp.join(work_dir, 'probe_rank0.pt'))
    assert [e['epoch'] for e in probe['epochs']] == [2, 3]
    assert probe['epochs'][-1]['ledger']['passes_done'] == 4
    # the first run's logs and checkpoints are still there
    assert osp.exists(osp.join(work_dir, 'epoch_1.pth'))
    assert len([d for d in os.listdir(work_dir) if d[:4].isdigit()]) == 2


def test_two_process_ddp_with_gloo(tmp_path):
    """Both ranks hold the same scores; together they train the kept list."""
    work_dir = str(tmp_path)
    run_command([
        sys.executable, '-m', 'torch.distributed.run', '--standalone',
        '--nproc_per_node=2', 'tools/train.py', PROBE_CONFIG,
        '--launcher', 'pytorch', '--work-dir', work_dir
    ], timeout=600)
    ranks = [
        torch.load(osp.join(work_dir, f'probe_rank{r}.pt')) for r in (0, 1)
    ]
    n, batch = 200, 16
    for e0, e1 in zip(ranks[0]['epochs'], ranks[1]['epochs']):
        assert torch.equal(e0['kept'], e1['kept'])
        assert torch.equal(e0['scores'], e1['scores'])
        kept = set(e0['kept'].tolist())
        union = e0['trained'] + e1['trained']
        # DefaultSampler-style padding: ceil(kept / 2) samples per rank
        assert len(e0['trained']) == len(e1['trained']) == math.ceil(
            len(kept) / 2)
        assert set(union) == kept
        assert not set(e0['trained']) & set(e1['trained']) or \
            len(kept) % 2 == 1
    epochs = ranks[0]['epochs']
    assert len(epochs[0]['kept']) == n  # first epoch: no scores yet
    assert len(epochs[1]['kept']) < n  # pruned
    assert len(epochs[3]['kept']) == n  # annealing (delta=0.75 of 4)
    assert bool(torch.isfinite(epochs[-1]['scores']).all())
    assert ranks[0]['savings'] == ranks[1]['savings']
    # each kept sample counts once; the round-up repeats are reported apart
    kept = sum(len(e['kept']) for e in epochs)
    padded = sum(2 * math.ceil(len(e['kept']) / 2) for e in epochs)
    assert ranks[0]['savings']['samples_trained'] == kept
    assert ranks[0]['savings']['padding_samples'] == padded - kept
    assert ranks[0]['iters'] == sum(
        math.ceil(math.ceil(len(e['kept']) / 2) / batch) for e in epochs)
    assert ranks[0]['max_iters'] == ranks[0]['iters']


def test_two_process_ddp_with_repeat_aug_sampler(tmp_path):
    """mmpretrain's RepeatAugSampler under 2 processes: the stock sharding
    of each kept sample's 3 copies, the same scores on both ranks."""
    work_dir = str(tmp_path)
    run_command([
        sys.executable, '-m', 'torch.distributed.run', '--standalone',
        '--nproc_per_node=2', 'tools/train.py', PROBE_CONFIG,
        '--launcher', 'pytorch', '--work-dir', work_dir, '--cfg-options',
        'train_dataloader.sampler.type=RepeatAugSampler',
        'train_dataloader.sampler.num_repeats=3'
    ], timeout=600)
    ranks = [
        torch.load(osp.join(work_dir, f'probe_rank{r}.pt')) for r in (0, 1)
    ]
    epochs = ranks[0]['epochs']
    for e0, e1 in zip(epochs, ranks[1]['epochs']):
        assert torch.equal(e0['kept'], e1['kept'])
        assert torch.equal(e0['scores'], e1['scores'])
        kept = e0['kept']
        share = math.ceil(len(kept) / 2)  # RepeatAugSampler's per rank
        assert len(e0['trained']) == len(e1['trained']) == share
        union = torch.tensor(e0['trained'] + e1['trained'])
        assert set(union.tolist()) <= set(kept.tolist())
        # the copies of a sample go to the ranks in turn (stride sharding)
        assert int(torch.bincount(union).max()) <= 3
    assert len(epochs[1]['kept']) < len(epochs[0]['kept']) == 200
    assert ranks[0]['savings'] == ranks[1]['savings']
    # every copy is a trained sample; no round-up padding
    assert ranks[0]['savings']['samples_trained'] == sum(
        2 * math.ceil(len(e['kept']) / 2) for e in epochs)
    assert ranks[0]['savings']['padding_samples'] == 0


_END_PROBE = """
import gc, sys
sys.argv[0] = 'tools/train.py'
sys.path.insert(0, 'tools')
import train
from mmengine.model import MMDistributedDataParallel
import torch.distributed as dist
ended = []
destroy = dist.destroy_process_group
def watched_destroy(*args, **kwargs):
    ended.append(sum(isinstance(o, MMDistributedDataParallel)
                     for o in gc.get_objects()))
    destroy(*args, **kwargs)
dist.destroy_process_group = watched_destroy
train.main(sys.argv[1:])
print('DDP models alive at destroy:', ended, 'initialized:',
      dist.is_initialized())
"""


def test_train_py_frees_the_ddp_model_before_ending_the_group(tmp_path):
    """The DDP wrapper (whose reducer holds the gloo group) is freed and the
    group destroyed before interpreter shutdown, not during it."""
    env = dict(subprocess_env(), MASTER_ADDR='127.0.0.1', MASTER_PORT=str(free_port()),
               RANK='0', LOCAL_RANK='0', WORLD_SIZE='1')
    result = subprocess.run(
        [sys.executable, '-c', _END_PROBE, PROBE_CONFIG, '--launcher',
         'pytorch', '--work-dir', str(tmp_path), '--cfg-options',
         'train_cfg.max_epochs=1'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert 'DDP models alive at destroy: [0] initialized: False' in out


def test_train_py_applies_the_run_fixes_before_building_the_runner(
        monkeypatch, tmp_path):
    """``import mmib`` leaves mmcv's ``adjust_hue`` alone; tools/train.py
    applies that fix (``compat.apply_run_fixes``) before the runner."""
    calls = []

    class Stop(Exception):
        pass

    def build_runner(cfg):
        calls.append('build_runner')
        raise Stop

    monkeypatch.setattr(mmib.compat, 'apply_run_fixes',
                        lambda: calls.append('apply_run_fixes'))
    monkeypatch.setattr(train, 'build_runner', build_runner)
    with pytest.raises(Stop):
        train.main([PROBE_CONFIG, '--work-dir', str(tmp_path)])
    assert calls == ['apply_run_fixes', 'build_runner']


def test_build_config_applies_the_openmmlab_flags(monkeypatch, tmp_path):
    demo = osp.join(REPO, 'configs', 'demo',
                    'resnet18-tiny_digits_infobatch.py')
    cfg = train.build_config(train.parse_args([demo]))
    assert cfg.work_dir == osp.join('./work_dirs',
                                    'resnet18-tiny_digits_infobatch')
    assert cfg.launcher == 'none' and not cfg.resume
    cfg = train.build_config(
        train.parse_args([demo, '--resume', '--work-dir', 'w']))
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.work_dir == 'w'
    checkpoint = str(tmp_path / 'epoch_3.pth')
    torch.save(dict(meta=dict(epoch=3)), checkpoint)
    cfg = train.build_config(
        train.parse_args([demo, '--resume', checkpoint, '--cfg-options',
                          'custom_hooks.0.ratio=0.25']))
    assert cfg.resume is True and cfg.load_from == checkpoint
    assert cfg.custom_hooks[0].ratio == 0.25
    import mmengine.device
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cuda')
    cfg = train.build_config(train.parse_args([demo, '--amp']))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cpu')
    with pytest.raises(SystemExit, match='--amp needs a GPU'):
        train.build_config(train.parse_args([demo, '--amp']))


def test_ddp_savings_equal_the_single_processrun_command(tmp_path):
    """2 processes x 8 and 1 process x 16, fixed per-sample losses."""
    config = osp.join(TESTS, 'configs', 'lenet_probe.py')
    two, one = str(tmp_path / 'two'), str(tmp_path / 'one')
    run_command([
        sys.executable, '-m', 'torch.distributed.run', '--standalone',
        '--nproc_per_node=2', 'tools/train.py', config,
        '--launcher', 'pytorch', '--work-dir', two
    ], timeout=600)
    run_command([
        sys.executable, 'tools/train.py', config, '--work-dir', one,
        '--cfg-options', 'train_dataloader.batch_size=16'
    ])
    ddp = [torch.load(osp.join(two, f'probe_rank{r}.pt')) for r in (0, 1)]
    single = torch.load(osp.join(one, 'probe_rank0.pt'))
    for p, (e0, e1, s) in enumerate(
            zip(ddp[0]['epochs'], ddp[1]['epochs'], single['epochs'])):
        assert torch.equal(e0['kept'], s['kept']), f'pass {p}'
        torch.testing.assert_close(e0['scores'], s['scores'])
        assert torch.equal(e0['scores'], e1['scores'])
    assert any(len(e['kept']) < 200 for e in single['epochs'])
    savings = {k: v for k, v in ddp[0]['savings'].items()
               if k not in ('padding_samples', 'iters_trained', 'saved_iters')}
    expected = {k: v for k, v in single['savings'].items()
                if k not in ('padding_samples', 'iters_trained',
                             'saved_iters')}
    assert savings == expected


def test_resume_with_another_world_size_restarts_the_pass(tmp_path):
    """2 processes, killed mid-pass, resumed on 1: the pass starts again."""
    config = osp.join(TESTS, 'configs', 'lenet_probe.py')
    work_dir = str(tmp_path)
    ckpt_options = ['default_hooks.checkpoint.by_epoch=False',
                    'default_hooks.checkpoint.interval=3']
    run_command([
        sys.executable, '-m', 'torch.distributed.run', '--standalone',
        '--nproc_per_node=2', 'tools/train.py', config,
        '--launcher', 'pytorch', '--work-dir', work_dir, '--cfg-options',
        *ckpt_options
    ], timeout=600)
    ckpts = sorted(
        (f for f in os.listdir(work_dir) if f.startswith('iter_')),
        key=lambda f: int(f[5:-4]))
    mid = [f for f in ckpts
           if torch.load(osp.join(work_dir, f))['infobatch']['clock']
           ['pass_iter'] > 0]
    assert mid, 'no checkpoint inside a pass'
    out = run_command([
        sys.executable, 'tools/train.py', config, '--work-dir',
        work_dir + '/one', '--resume', osp.join(work_dir, mid[-1]),
        '--cfg-options', *ckpt_options
    ])
    assert 'number of processes changed' in out
    probe = torch.load(osp.join(work_dir, 'one', 'probe_rank0.pt'))
    first = probe['epochs'][0]
    assert sorted(first['trained']) == first['kept'].tolist()
    assert 'InfoBatch finished' in out


def test_dist_train_sh_on_cpu_as_written(tmp_path):
    """README's `bash tools/dist_train.sh CONFIG 2` on a machine without
    CUDA: tools/train.py sets what CPU DDP needs by itself."""
    env = dict(subprocess_env(), PYTHON=sys.executable, PORT=str(free_port()))
    result = subprocess.run(
        ['bash', 'tools/dist_train.sh',
         'configs/demo/resnet18-tiny_digits_infobatch.py', '2',
         '--work-dir', str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert 'No CUDA: distributed training on the CPU with gloo' in out
    assert 'InfoBatch finished' in out
    assert osp.exists(osp.join(str(tmp_path), 'epoch_40.pth'))


@pytest.mark.parametrize('script', sorted(
    osp.relpath(p, REPO) for p in glob.glob(
        osp.join(REPO, 'tools', '**', '*.py'), recursive=True)))
def test_every_tool_prints_usage_for_help_and_writes_nothing(script,
                                                             tmp_path):
    out = subprocess.run([sys.executable, osp.join(REPO, script), '--help'],
                         cwd=str(tmp_path), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith('usage:'), out.stdout[:500]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('size,message', [
    (33, 'A training batch held a single sample'),
    (0, 'The training data set is empty')])
def test_a_data_set_of_0_or_33_samples_without_the_hook_is_one_line(
        tmp_path, size, message):
    """Without InfoBatch, BatchNorm's error on a last batch of one sample
    (33 samples, batch 32) and MMEngine's on an empty data set become a
    sentence with the way out."""
    plain = osp.join(REPO, 'configs', 'demo', 'resnet18-tiny_digits_full.py')
    out = subprocess.run(
        [sys.executable, 'tools/train.py', plain, '--work-dir',
         str(tmp_path / 'bn'), '--cfg-options',
         f'train_dataloader.dataset.indices={size}',
         'train_dataloader.batch_size=32', 'train_cfg.max_epochs=1'],
        cwd=REPO, env=subprocess_env(), capture_output=True, text=True,
        timeout=300)
    assert out.returncode != 0
    assert message in out.stderr
    assert 'Traceback' not in out.stderr
