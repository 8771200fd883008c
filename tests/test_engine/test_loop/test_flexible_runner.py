"""InfoBatch under MMEngine's FlexibleRunner, through tools/train.py:
``SingleDeviceStrategy`` trains what ``Runner`` trains; ``DDPStrategy`` with
2 gloo CPU processes keeps the ranks in agreement and resumes bit-identically.
"""
import os.path as osp
import shutil
import sys

import torch

from conftest import PROBE_CONFIG, assert_ranks_agree, run_command

FLEXIBLE = ['runner_type=FlexibleRunner']


def _train(work_dir, *options, nproc=1, resume=None):
    args = [sys.executable]
    if nproc > 1:
        args += ['-m', 'torch.distributed.run', '--standalone',
                 f'--nproc_per_node={nproc}']
    args += ['tools/train.py', PROBE_CONFIG, '--work-dir', work_dir]
    if nproc > 1:
        args += ['--launcher', 'pytorch']
    if resume:
        args += ['--resume', resume]
    if options:
        args += ['--cfg-options', *options]
    return run_command(args, timeout=600)


def _probe(work_dir, rank=0):
    return torch.load(osp.join(work_dir, f'probe_rank{rank}.pt'))


def test_single_device_strategy_trains_what_runner_trains(tmp_path):
    runner_dir, flexible_dir = str(tmp_path / 'runner'), str(tmp_path / 'fx')
    _train(runner_dir)
    _train(flexible_dir, *FLEXIBLE, 'strategy.type=SingleDeviceStrategy')
    a, b = _probe(runner_dir), _probe(flexible_dir)
    assert (a['runner'], b['runner']) == ('Runner', 'FlexibleRunner')
    assert len(a['epochs']) == len(b['epochs']) == 4
    for ea, eb in zip(a['epochs'], b['epochs']):
        assert torch.equal(ea['kept'], eb['kept'])
        assert ea['trained'] == eb['trained']
        torch.testing.assert_close(torch.tensor(ea['losses']),
                                   torch.tensor(eb['losses']))
    assert a['savings'] == b['savings']
    assert b['savings']['saved_samples'] > 0
    state = torch.load(osp.join(flexible_dir, 'epoch_4.pth'),
                       weights_only=True)
    assert state['infobatch']['ledger']['passes_done'] == 4


def test_ddp_strategy_two_gloo_processes_agree_and_resume_bit_identically(
        tmp_path):
    straight = str(tmp_path / 'straight')
    options = [*FLEXIBLE, 'strategy.type=DDPStrategy']
    out = _train(straight, *options, nproc=2)
    assert "strategy.model_wrapper={'type': 'MMDistributedDataParallel', " \
        "'broadcast_buffers': False, 'device_ids': None}" in out
    ranks = [_probe(straight, r) for r in (0, 1)]
    assert ranks[0]['runner'] == 'FlexibleRunner'
    assert_ranks_agree(ranks)

    # resume from the epoch-2 checkpoint in a new work dir: epochs 3 and 4
    # train the same samples to the same weights, scores and ledger
    resumed = str(tmp_path / 'resumed')
    shutil.copytree(straight, resumed)
    _train(resumed, *options, nproc=2,
           resume=osp.join(resumed, 'epoch_2.pth'))
    after = _probe(resumed)
    assert [e['epoch'] for e in after['epochs']] == [2, 3]
    for e_straight, e_resumed in zip(ranks[0]['epochs'][2:], after['epochs']):
        assert torch.equal(e_straight['kept'], e_resumed['kept'])
        assert e_straight['trained'] == e_resumed['trained']
        assert e_straight['losses'] == e_resumed['losses']
    a = torch.load(osp.join(straight, 'epoch_4.pth'), weights_only=True)
    b = torch.load(osp.join(resumed, 'epoch_4.pth'), weights_only=True)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key in a['state_dict']:
        assert torch.equal(a['state_dict'][key], b['state_dict'][key]), key
    assert torch.equal(a['infobatch']['table']['scores'],
                       b['infobatch']['table']['scores'])
    assert a['infobatch']['ledger'] == b['infobatch']['ledger']
