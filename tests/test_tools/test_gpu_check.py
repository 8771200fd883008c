"""The prepared GPU script, dry-run with tiny sizes on the CPU."""
import json
import os.path as osp
import subprocess
import sys

import pytest

from conftest import REPO, needs_fashion_mnist


@pytest.mark.fashion_mnist
@needs_fashion_mnist
def test_gpu_check_tiny_runs_every_part_and_writes_its_table(tmp_path):
    subprocess.run([sys.executable, 'tools/prepare_fashion_mnist.py'],
                   cwd=REPO, check=True, capture_output=True, timeout=300)
    out = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'benchmark', 'gpu_check.py'),
         '--tiny', '--seeds', '0', '--out', str(tmp_path)],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    report = json.load(open(tmp_path / 'gpu_check.json'))
    parts = report['parts']
    assert len(parts) == 4
    amp = parts['a. AMP (stock MAE recipe)']
    assert amp['ratio0_same_iters'] and amp['scores_finite']
    assert amp['ratio0_max_abs_loss_diff'] == 0.0  # fp32 on the CPU: exact
    assert amp['saved_samples'] > 0
    wall = parts['b. wall time = samples (ResNet-18, 60k)']
    assert wall['saved_samples'] > 0
    strategies = parts['c. FlexibleRunner strategies']
    assert strategies['DDPStrategy']['status'] == 'ok'
    assert strategies['FSDPStrategy']['status'] in (
        'ok', 'needs an accelerator (torch FSDP)')
    assert strategies['DeepSpeedStrategy']['status'] in (
        'deepspeed not installed',
        'refused by mmib (its checkpoints skip the hooks)')
    accuracy = parts['d. full vs InfoBatch vs shorter (60k)']
    assert set(accuracy['arms']) == {'full', 'infobatch', 'shorter'}
    table = open(tmp_path / 'gpu_check.md').read()
    assert table.startswith('# GPU check (CPU (no CUDA)')
    assert table in out.stdout
