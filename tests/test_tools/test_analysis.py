"""Reading a run: per-pass statistics to the visualizer, the figures, and
the comparison table of several work dirs."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from conftest import REPO, demo_config, run
from PIL import Image

sys.path.insert(0, osp.join(REPO, 'tools', 'analysis'))
import compare_runs  # noqa: E402
import plot_infobatch  # noqa: E402

from mmib_kit.analysis.runs import run_summary  # noqa: E402


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('tiny'))
    cfg = demo_config(work_dir, epochs=3, num_samples=128,
                      infobatch=dict(ratio=0.5, delta=1.0))
    cfg.visualizer = dict(
        type='UniversalVisualizer',
        vis_backends=[dict(type='LocalVisBackend'),
                      dict(type='TensorboardVisBackend')])
    run(cfg)
    return work_dir


def test_pass_statistics_land_in_scalars_json(tiny_run):
    rows = [json.loads(line) for line in open(
        glob.glob(osp.join(tiny_run, '*', 'vis_data', 'scalars.json'))[0])]
    passes = [r for r in rows if 'infobatch/kept' in r]
    assert [r['infobatch/pass_index'] for r in passes] == [0, 1, 2]
    first, second = passes[0], passes[1]
    assert first['infobatch/kept'] == 128 and first['infobatch/scored'] == 0
    assert second['infobatch/kept'] + second['infobatch/pruned'] == 128
    assert second['infobatch/pruned'] > 0
    assert second['infobatch/band0_pruned'] == second['infobatch/pruned']
    assert second['infobatch/threshold_0'] == pytest.approx(
        second['infobatch/score_mean'], rel=1e-5)
    hist = second['infobatch/score_hist']
    assert len(hist) == 20 and sum(hist) == 128
    low, high = second['infobatch/score_hist_range']
    assert low <= second['infobatch/score_q05'] <= high
    assert 'infobatch/score_hist' not in first  # nothing scored yet
    assert 0 < second['infobatch/projected_saving'] < 1
    assert any('infobatch_full_iters' in r and 'lr' in r for r in rows)


def test_pass_statistics_land_in_tensorboard(tiny_run):
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    events = glob.glob(
        osp.join(tiny_run, '*', 'vis_data', '**', 'events.out.tfevents*'),
        recursive=True)
    assert events
    accumulator = EventAccumulator(osp.dirname(events[0]),
                                   size_guidance={'histograms': 0})
    accumulator.Reload()
    tags = accumulator.Tags()['scalars']
    assert 'infobatch/kept' in tags and 'infobatch/projected_saving' in tags
    assert len(accumulator.Scalars('infobatch/kept')) == 3
    # the scores as one histogram per scored pass, not one scalar per bin
    assert not [t for t in tags if 'hist' in t]
    histograms = accumulator.Histograms('infobatch/scores')
    assert len(histograms) == 2
    assert histograms[0].histogram_value.num == 128


def test_plot_tool_writes_four_pictures(tiny_run, tmp_path):
    paths = plot_infobatch.make_figures(tiny_run, str(tmp_path))
    assert [osp.basename(p) for p in paths] == [
        'scores.png', 'kept_pruned.png', 'saved.png', 'lr_clock.png'
    ]
    for path in paths:
        with Image.open(path) as image:
            image.load()
            assert image.size[0] >= 600 and image.size[1] >= 300
        assert osp.getsize(path) > 10_000  # drawn, not blank


def _fake_run(root, name, metric, samples, times, batch=10):
    work_dir = osp.join(root, name)
    vis = osp.join(work_dir, '20260101_000000', 'vis_data')
    os.makedirs(vis)
    with open(osp.join(work_dir, 'cfg.py'), 'w') as f:
        f.write(f'train_dataloader = dict(batch_size={batch})\n')
    rows = []
    for k, (sample, t) in enumerate(zip(samples, times), 1):
        row = dict(step=10 * k, loss=1.0 / k, lr=0.1, time=t)
        if sample is not None:
            row['infobatch_samples'] = sample
        rows.append(row)
    rows.append({'accuracy/top1': metric, 'step': len(samples)})
    with open(osp.join(vis, 'scalars.json'), 'w') as f:
        f.write('\n'.join(json.dumps(r) for r in rows) + '\n')
    return work_dir


def test_comparison_table_from_work_dirs_the_test_controls(tmp_path):
    root = str(tmp_path)
    dirs = [
        _fake_run(root, 'full_seed0', 90.0, [None, None], [0.5, 0.5]),
        _fake_run(root, 'full_seed1', 92.0, [None, None], [0.5, 0.5]),
        _fake_run(root, 'infobatch_seed0', 89.0, [60, 120], [0.5, 0.5]),
        _fake_run(root, 'infobatch_seed1', 91.0, [60, 140], [0.5, 0.5]),
    ]
    summary = run_summary(dirs[2])
    assert summary['samples'] == 120 and summary['iters'] == 20
    assert summary['train_seconds'] == pytest.approx(10.0)
    assert summary['curve'] == [(20, 120, 10.0, 89.0)]
    table = compare_runs.comparison_table([run_summary(d) for d in dirs])
    lines = table.splitlines()
    assert lines[2] == ('| full | 2 | 91.00 ± 1.41 | ≈200 | — | 20 | 10.0 '
                        '| — |')
    assert lines[3] == ('| infobatch | 2 | 90.00 ± 1.41 | 130 | 35.0% | 20 '
                        '| 10.0 | 0.0% |')
    out = str(tmp_path / 'curves.png')
    # validated at the end only: one point per group, mean ± sd
    assert compare_runs.plot_curves([run_summary(d) for d in dirs],
                                    out) == 'final values'
    with Image.open(out) as image:
        assert image.size[0] > 600


def test_runs_validated_during_training_are_drawn_as_curves(tmp_path):
    dirs = [_fake_run(str(tmp_path), f'full_seed{k}', 90.0 + k, [None] * 2,
                      [0.5, 0.5]) for k in range(2)]
    for d in dirs:  # a second validation, after the first iteration row
        path = glob.glob(osp.join(d, '*', 'vis_data', 'scalars.json'))[0]
        rows = open(path).read().splitlines()
        rows.insert(1, json.dumps({'accuracy/top1': 80.0, 'step': 1}))
        open(path, 'w').write('\n'.join(rows) + '\n')
    summaries = [run_summary(d) for d in dirs]
    assert [len(s['curve']) for s in summaries] == [2, 2]
    out = str(tmp_path / 'curves.png')
    assert compare_runs.plot_curves(summaries, out) == 'curves'


def test_run_summary_counts_what_the_run_trained_not_its_last_log(tmp_path):
    """A logging interval that does not divide the run: the last logged row
    is short of the end; the summary takes the hook's final ledger."""
    from conftest import get_hook
    work_dir = str(tmp_path / 'ib')
    cfg = demo_config(work_dir, epochs=4, num_samples=200,
                      infobatch=dict(ratio=0.5))
    cfg.default_hooks.logger.interval = 3
    runner = run(cfg)
    savings = get_hook(runner, 'InfoBatchHook').savings()
    summary = run_summary(work_dir)
    assert summary['samples'] == savings['samples_trained']
    assert summary['iters'] == savings['iters_trained'] == runner.iter
    assert summary['samples_exact']
    logged = [json.loads(line) for path in glob.glob(
        osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
        for line in open(path) if 'infobatch_samples' in line]
    assert logged[-1]['infobatch_samples'] < savings['samples_trained']


@pytest.mark.parametrize('line, why', [
    ('[' * 100000 + ']' * 100000, 'nested deeper'),
    ('{"step": ' + '9' * 5000 + '}', 'not a JSON row'),
    ('{"step": 3, "loss": 1e400}', 'not a finite number'),
    ('{"step": 3, "loss": NaN}', 'NaN is not a finite number'),
    ('{"step": "two", "loss": 1.0}', "'step' = two"),
    ('{"step": 2.5, "loss": 1.0}', 'step = 2.5 is not an iteration'),
    ('{"step": 3, "loss": "x"}', "'loss' = x"),
    ('[1, 2]', 'a list, not a row'),
])
def test_logged_rows_that_mmengine_never_writes_are_named(tmp_path, line,
                                                          why):
    from mmib_kit.analysis.runs import RunDataError, read_scalars
    folder = tmp_path / 'run' / '20260101_000000' / 'vis_data'
    folder.mkdir(parents=True)
    (folder / 'scalars.json').write_text('{"step": 1, "loss": 2.0}\n' + line +
                                         '\n')
    with pytest.raises(RunDataError, match=why) as error:
        read_scalars(str(tmp_path / 'run'))
    assert 'scalars.json, line 2' in str(error.value)


def test_a_benchmark_result_counts_only_for_the_work_dir_it_records(
        tmp_path):
    from mmib_kit.analysis.runs import RunDataError
    run_dir = tmp_path / 'infobatch_t40_seed0'
    run_dir.mkdir()
    own = _fake_run(str(run_dir), 'attempt1', 89.0, [60, 120], [0.5, 0.5])
    sibling = _fake_run(str(run_dir), 'attempt0', 80.0, [60, 140],
                        [0.5, 0.5])
    result = dict(samples=999, iters=7, train_seconds=3.0, work_dir=own)
    (run_dir / 'result.json').write_text(json.dumps(result))
    mine = run_summary(own)
    assert (mine['samples'], mine['name']) == (999, 'infobatch_t40_seed0')
    other = run_summary(sibling)  # not renamed, its own counts
    assert (other['samples'], other['name']) == (140, 'attempt0')
    for bad, why in ((dict(result, samples=-5), "'samples' = -5"),
                     (dict(result, iters=10**20), "'iters' = 1000"),
                     (dict(result, train_seconds='x'), 'train_seconds = x')):
        (run_dir / 'result.json').write_text(json.dumps(bad))
        with pytest.raises(RunDataError, match=why):
            run_summary(own)
    (run_dir / 'result.json').write_text('{"samples": NaN}')
    with pytest.raises(RunDataError, match='NaN is not a finite number'):
        run_summary(own)


@pytest.mark.parametrize('tool', ['tools/analysis/compare_runs.py',
                                  'tools/analysis/plot_infobatch.py',
                                  'tools/equal_cost_config.py'])
def test_a_wrong_work_dir_is_one_line_not_a_traceback(tmp_path, tool):
    out = subprocess.run([sys.executable, tool, str(tmp_path / 'missing')],
                         cwd=REPO, capture_output=True, text=True)
    assert out.returncode != 0
    assert 'Traceback' not in out.stderr
    assert 'missing' in out.stderr.strip().splitlines()[-1]
