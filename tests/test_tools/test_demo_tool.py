"""The demo and the benchmark arms: schedules, resume-safety, and (with the
Debian package ``dataset-fashion-mnist``) the demo on real data."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from conftest import REPO, needs_fashion_mnist
from mmengine.config import Config

from mmib.bench import Schedule
from mmib.bench.harness import run_arms

FASHION = osp.join(REPO, 'configs', 'fashion_mnist',
                   'smallcnn_fashion-mnist-4k_full.py')


def test_schedule_rewrites_the_whole_schedule():
    cfg = Config.fromfile(FASHION)
    cfg.merge_from_dict(Schedule('x', 100, 1000).options())
    assert cfg.train_cfg.max_epochs == 100 == cfg.train_cfg.val_interval
    assert cfg.param_scheduler[1].end == 100
    assert cfg.param_scheduler[1].T_max == 99
    assert cfg.default_hooks.checkpoint.interval == 100
    assert cfg.train_dataloader.dataset.indices == 1000
    # mmpretrain's MNIST reads the test files only with test_mode=True
    assert cfg.val_dataloader.dataset.test_mode is True
    iters = Schedule('i', 300, 100, by_epoch=False).options()
    assert iters == {'train_cfg.max_iters': 300,
                     'train_cfg.val_interval': 300,
                     'param_scheduler.1.end': 300,
                     'default_hooks.checkpoint.interval': 300,
                     'train_dataloader.dataset.indices': 100}


def test_finished_runs_are_read_back_not_retrained(tmp_path):
    root = str(tmp_path)
    schedule = Schedule('s', 3, 64)
    for seed in (0, 1):
        run_dir = osp.join(root, 's', f'full_seed{seed}')
        os.makedirs(run_dir)
        with open(osp.join(run_dir, 'result.json'), 'w') as f:
            json.dump(dict(arm='full', seed=seed, score=50.0 + seed,
                           samples=192, iters=3, train_seconds=1.0), f)
    lines = []
    results = run_arms('no-such-config.py', schedule, ['full'], [0, 1], root,
                       log=lines.append)
    assert [r['score'] for r in results] == [50.0, 51.0]
    assert all('not trained again' in line for line in lines)
    with pytest.raises(ValueError, match="unknown arms \\['nope'\\]"):
        run_arms(FASHION, schedule, ['nope'], [0], root)


@pytest.mark.fashion_mnist
@needs_fashion_mnist
def test_demo_on_fashion_mnist(tmp_path):
    out = subprocess.run(
        [sys.executable, 'tools/demo.py', '--epochs', '3', '--num-train',
         '256', '--seeds', '0', '1', '--work-dir', str(tmp_path)],
        capture_output=True, text=True, cwd=REPO, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    assert '[demo run 1/6] full data, seed 0: epoch 1/3' in text  # progress
    assert 'ETA of this schedule' in text
    for row in ('| full data | 2 |', '| InfoBatch ratio=0.5 | 2 |',
                '| full data, equal-cost shorter schedule | 2 |'):
        assert row in text
    assert 'Verdict: ' in text
    results = [
        json.load(open(osp.join(dirpath, 'result.json')))
        for dirpath, _, files in os.walk(str(tmp_path))
        if 'result.json' in files
    ]
    assert len(results) == 6
    full = [r for r in results if r['arm'] == 'full']
    assert all(r['samples'] == 3 * 256 for r in full)
    ib = {r['seed']: r for r in results if r['arm'] == 'infobatch'}
    for r in results:
        if r['arm'] == 'shorter':  # the same cost within one batch
            assert abs(r['samples'] - ib[r['seed']]['samples']) < 64
