"""Crafted checkpoints that are small files but large in memory: each is
refused, or read, in bounded time and under 1 GB (measured in a fresh
process, as a resume would load it)."""
import json
import os.path as osp
import subprocess
import sys
import zipfile

import pytest
import torch

from mmib.checkpoint.archive import archive_problem
from mmib.checkpoint.resume_files import checkpoint_problem

LOAD = r'''
import json, resource, sys
from mmengine.runner.checkpoint import CheckpointLoader
from mmib.checkpoint import ScopedCheckpointTrust, read_checkpoint
trust = ScopedCheckpointTrust()
trust.enter()
try:
    checkpoint = CheckpointLoader.load_checkpoint(sys.argv[1],
                                                  map_location='cpu')
    read_checkpoint(checkpoint, True, lambda line: None)
    outcome = 'read: ' + repr(checkpoint.get('meta', {}).get('config'))
except Exception as error:
    outcome = f'{type(error).__name__}: {error}'
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(dict(outcome=outcome, peak_mb=peak)))
'''


def load_in_fresh_process(path: str) -> dict:
    out = subprocess.run([sys.executable, '-c', LOAD, path], check=True,
                         capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def plain_buffer(values: torch.Tensor) -> dict:
    mark = '__mmib_plain__'
    return {mark: 'HistoryBuffer', 'max_length': 1_000_000,
            'log': {mark: 'ndarray', 'dtype': '<f4', 'data': values},
            'count': {mark: 'ndarray', 'dtype': '<f4', 'data': values}}


def test_a_16_mb_meta_config_is_scanned_not_parsed(tmp_path):
    path = str(tmp_path / 'config.pth')
    text = 'x = ' + '1 + ' * 4_000_000 + '1\ngpu_ids = range(0, 1)\n'
    torch.save(dict(meta=dict(config=text), state_dict={}), path)
    result = load_in_fresh_process(path)
    assert result['outcome'] == "read: 'gpu_ids = [0]\\n'", result
    assert result['peak_mb'] < 1024, result


def test_a_deflated_pickle_is_refused_before_it_is_inflated(tmp_path):
    plain = str(tmp_path / 'plain.pth')
    torch.save(dict(meta=dict(note='a' * (64 * 2**20)), state_dict={}),
               plain)
    crafted = str(tmp_path / 'deflated.pth')
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(
            crafted, 'w', zipfile.ZIP_DEFLATED) as dst:
        for entry in src.infolist():
            dst.writestr(entry.filename, src.read(entry.filename))
    assert osp.getsize(crafted) < 2**20  # under 1 MB of file
    assert 'is compressed' in archive_problem(crafted)
    assert 'is compressed' in checkpoint_problem(crafted)
    result = load_in_fresh_process(crafted)
    assert result['outcome'].startswith('CheckpointTrustError'), result
    assert 'torch.save never compresses' in result['outcome']
    assert result['peak_mb'] < 1024, result


@pytest.mark.parametrize('case', ['long_buffer', 'many_buffers'])
def test_message_hub_buffers_are_bounded_by_what_mmengine_writes(
        tmp_path, case):
    if case == 'long_buffer':  # 20M values where MMEngine keeps 1M at most
        scalars = {'train/loss': plain_buffer(torch.zeros(20_000_000))}
        match = 'values in a buffer that keeps at most 1000000'
    else:  # 20k buffers where MMEngine writes one per logged scalar
        scalars = {f'train/s{i}': plain_buffer(torch.zeros(1))
                   for i in range(20_000)}
        match = 'more than 10000 message-hub buffers'
    path = str(tmp_path / f'{case}.pth')
    torch.save(dict(meta={}, state_dict={},
                    message_hub=dict(log_scalars=scalars, runtime_info={})),
               path)
    result = load_in_fresh_process(path)
    assert result['outcome'].startswith('CheckpointTrustError'), result
    assert match in result['outcome'], result
    assert result['peak_mb'] < 1024, result
