"""The demo and the benchmark arms: schedules, resume-safety, and (with the
Debian package ``dataset-fashion-mnist``) the demo on real data."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from conftest import REPO, needs_fashion_mnist
from mmengine.config import Config

from mmib_kit.bench import Schedule
from mmib_kit.bench.harness import run_arms

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


def _demo(work_dir: str, *seeds: str) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, 'tools/demo.py', '--epochs', '4', '--num-train',
         '256', '--num-val', '1000', '--seeds', *seeds, '--work-dir',
         work_dir],
        capture_output=True, text=True, cwd=REPO, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


@pytest.mark.fashion_mnist
@needs_fashion_mnist
def test_demo_on_fashion_mnist(tmp_path):
    text = _demo(str(tmp_path / 'a'), '0', '1').stdout
    assert 'ETA about' in text.splitlines()[1]  # before the first run
    assert '[demo run 1/10] full data, seed 0: epoch 1/4' in text  # progress
    assert 'ETA of this schedule' in text
    for row in ('| full data | 2 |', '| InfoBatch, target 40% | 2 |',
                '| OrderDP, target 40% | 2 |',
                '| random pruning, rescaled, target 40% | 2 |',
                '| full data, shorter schedule, 60% of the samples | 2 |'):
        assert row in text
    assert 'Verdict: ' in text
    assert '(tested on 1,000)' in text and '(256 training images, tested ' \
        'on 1,000), 4 epochs' in text
    results = [
        json.load(open(osp.join(dirpath, 'result.json')))
        for dirpath, _, files in os.walk(str(tmp_path / 'a'))
        if 'result.json' in files
    ]
    assert len(results) == 10
    full = [r for r in results if r['arm'] == 'full']
    assert all(r['samples'] == 4 * 256 for r in full)
    for r in results:  # the shorter schedule: 60% within a batch; the
        # policies prune what 4 short passes allow (the budget's warning)
        if r['arm'] == 'shorter':
            assert abs(r['samples'] - 0.6 * 4 * 256) < 64, r
        elif r['arm'] != 'full':
            assert r['samples'] < 4 * 256, r
    # the report and the plot in the run folder; the runs' logs hold the
    # training and savings lines
    root = glob.glob(str(tmp_path / 'a' / '*'))[0]
    report = open(osp.join(root, 'report.md')).read()
    assert '| InfoBatch, target 40% | 2 |' in report
    assert osp.getsize(osp.join(root, 'comparison.png')) > 10000
    logs = glob.glob(osp.join(root, 'demo', 'infobatch_seed0', 'attempt0',
                              '*', '*.log'))
    log = open(logs[0]).read()
    assert 'Epoch(train)' in log and 'InfoBatch finished: trained' in log
    # one thread: a rerun trains to the same accuracies (seed 0 again)
    _demo(str(tmp_path / 'b'), '0')

    def scores(folder):
        return {(r['arm'], r['seed']): r['score'] for r in (
            json.load(open(p)) for p in glob.glob(
                str(tmp_path / folder / '*' / 'demo' / '*' / 'result.json')))}
    first, again = scores('a'), scores('b')
    assert len(again) == 5
    assert all(first[key] == value for key, value in again.items())


def test_a_num_val_out_of_range_stops_before_any_run(tmp_path):
    out = subprocess.run(
        [sys.executable, 'tools/demo.py', '--num-val', '0', '--work-dir',
         str(tmp_path)], capture_output=True, text=True, cwd=REPO,
        timeout=120)
    assert out.returncode == 2, out.stderr
    assert '--num-val must be in 1..10000, not 0' in out.stderr
    assert os.listdir(tmp_path) == []  # no run folder made
