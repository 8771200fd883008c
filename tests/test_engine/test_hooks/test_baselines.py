"""The equal-cost baselines as options, through the real Runner:
``rescale=False``, ``policy='random'`` and the equal-cost config tool."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from conftest import REPO, demo_config, get_hook, run
from mmengine.config import Config

from mmib_kit.analysis import equal_cost_config, read_infobatch_ledger
from mmib_kit.analysis.equal_cost import find_dumped_config


def _per_pass(runner):
    records = get_hook(runner, 'RecordingHook').records
    passes = {}
    for r in records:
        passes.setdefault(r['pass_index'], set()).update(r['indices'])
    return passes


def test_rescale_false_trains_the_same_samples_with_weight_one(tmp_path):
    kwargs = dict(epochs=3, num_samples=128, lenet=True, lr=0.0)
    on = run(demo_config(str(tmp_path / 'on'), infobatch=dict(
        ratio=0.5, delta=1.0), **kwargs))
    off = run(demo_config(str(tmp_path / 'off'), infobatch=dict(
        ratio=0.5, delta=1.0, rescale=False), **kwargs))
    plan_on = get_hook(on, 'InfoBatchHook').training.run.plan
    plan_off = get_hook(off, 'InfoBatchHook').training.run.plan
    assert plan_off.num_kept < 128
    assert plan_on.kept_indices.tolist() == plan_off.kept_indices.tolist()
    assert float(plan_on.weights.max()) == 2.0
    assert set(plan_off.weights[plan_off.kept_indices].tolist()) == {1.0}
    assert _per_pass(on) == _per_pass(off)


def test_random_policy_keeps_infobatch_counts_with_other_samples(tmp_path):
    # lr=0 and no BatchNorm: every sample's loss is fixed, so both runs
    # see the same scores and InfoBatch's count per pass is known
    kwargs = dict(epochs=3, num_samples=128, lenet=True, lr=0.0)
    infobatch = run(demo_config(str(tmp_path / 'ib'), infobatch=dict(
        ratio=0.5, delta=1.0), **kwargs))
    random_ = run(demo_config(str(tmp_path / 'rnd'), infobatch=dict(
        ratio=0.5, delta=1.0, policy='random'), **kwargs))
    a, b = _per_pass(infobatch), _per_pass(random_)
    assert [len(a[p]) for p in sorted(a)] == [len(b[p]) for p in sorted(b)]
    assert len(a[1]) < 128 and a[1] != b[1]
    scores = get_hook(random_, 'InfoBatchHook').training.run.table.scores
    pruned = sorted(set(range(128)) - b[1])
    # random pruning reaches above the mean, InfoBatch never does
    assert bool((scores[pruned] >= scores.mean()).any())
    plan = get_hook(random_, 'InfoBatchHook').training.run.plan
    kept = plan.kept_indices
    assert float(plan.weights[kept].min()) == float(plan.weights[kept].max())
    assert abs(float(plan.weights[kept][0]) - 128 / len(kept)) < 1e-6


def test_equal_cost_config_trains_infobatch_samples_within_one_batch(
        tmp_path):
    work_dir = str(tmp_path / 'ib')
    cfg = demo_config(work_dir, epochs=4, num_samples=200,
                      infobatch=dict(ratio=0.5, delta=0.75))
    ib = run(cfg)
    ledger = read_infobatch_ledger(work_dir)
    assert ledger['samples_trained'] == get_hook(
        ib, 'InfoBatchHook').savings()['samples_trained'] < 800
    short_cfg, info = equal_cost_config(work_dir)
    assert not any(h['type'] == 'InfoBatchHook'
                   for h in short_cfg.custom_hooks)
    assert short_cfg.train_cfg['type'] == 'IterBasedTrainLoop'
    assert all(not s['by_epoch'] for s in short_cfg.param_scheduler)
    # the compressed cosine ends where the run ends
    assert short_cfg.param_scheduler[-1]['end'] == info['max_iters']
    short_cfg.work_dir = str(tmp_path / 'short')
    short = run(short_cfg)
    trained = sum(
        len(r['indices']) for r in get_hook(short, 'RecordingHook').records)
    assert abs(trained - ledger['samples_trained']) < 32  # one batch
    assert trained == info['samples']
    lr = short.optim_wrapper.get_lr()['lr'][0]
    assert abs(lr - 1e-4) < 2e-3  # the schedule ran to its end value


def test_equal_cost_config_of_a_resumed_run_starts_from_scratch(tmp_path):
    work_dir = str(tmp_path / 'ib')
    run(demo_config(work_dir, epochs=2, num_samples=64,
                    infobatch=dict(ratio=0.5)))
    cfg = demo_config(work_dir, epochs=3, num_samples=64,
                      infobatch=dict(ratio=0.5))
    cfg.resume = True  # what --resume leaves in the dumped config
    run(cfg)
    dumped = find_dumped_config(work_dir)  # overwritten by the resume
    assert Config.fromfile(dumped).resume is True
    short_cfg, info = equal_cost_config(work_dir)
    assert short_cfg.resume is False and short_cfg.load_from is None
    # the resumed run's ledger: all three epochs
    assert info['full_iters'] == 3 * -(-64 // cfg.train_dataloader.batch_size)


def test_equal_cost_tool_writes_and_never_overwrites(tmp_path):
    work_dir = str(tmp_path / 'ib')
    run(demo_config(work_dir, epochs=2, num_samples=64,
                    infobatch=dict(ratio=0.5)))
    out = str(tmp_path / 'equal.py')
    cmd = [sys.executable, 'tools/equal_cost_config.py', work_dir,
           '--out', out]
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert first.returncode == 0, first.stderr[-2000:]
    assert 'the equal-cost config trains' in first.stdout
    assert Config.fromfile(out).train_cfg.max_iters > 0
    second = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert second.returncode != 0 and 'nothing overwritten' in second.stderr
    assert osp.getsize(out) > 0


def test_start_log_says_which_passes_really_prune(tmp_path):
    short = run(demo_config(str(tmp_path / 'a'), epochs=2, num_samples=64,
                            infobatch=dict(ratio=0.5)))
    log = open(short.logger.log_file).read()
    assert 'WARNING - InfoBatch: 64 training samples' in log
    assert 'no pass prunes: pass 1 only scores the samples' in log
    longer = run(demo_config(str(tmp_path / 'b'), epochs=8, num_samples=64,
                             infobatch=dict(ratio=0.5)))
    log = open(longer.logger.log_file).read()
    assert ('pass 1 scores all samples, passes 2-7 prune, pass 8 anneal on '
            'all samples') in log


def _register_head_with_extra_term():
    from mmpretrain.models.heads import LinearClsHead
    from mmpretrain.registry import MODELS

    @MODELS.register_module(force=True)
    class HeadWithPenalty(LinearClsHead):
        """A head whose loss dict holds a term no loss module computes."""

        def loss(self, feats, data_samples, **kwargs):
            losses = super().loss(feats, data_samples, **kwargs)
            losses['loss_l2'] = 1e-4 * self.fc.weight.pow(2).sum()
            return losses


def test_unweighted_loss_term_stops_training_with_its_name(tmp_path):
    _register_head_with_extra_term()
    cfg = demo_config(str(tmp_path / 'a'), epochs=2, num_samples=64,
                      infobatch=dict(ratio=0.5))
    cfg.model.head.type = 'HeadWithPenalty'
    with pytest.raises(RuntimeError) as error:
        run(cfg)
    message = str(error.value)
    assert "loss terms ['loss_l2'] carry gradient but reach no loss" \
        in message
    assert "['head.loss_module']" in message  # the loss modules found
    assert "unweighted_losses=['loss_l2']" in message  # the way out


def test_listed_unweighted_term_trains_with_one_warning(tmp_path):
    _register_head_with_extra_term()
    cfg = demo_config(str(tmp_path / 'b'), epochs=2, num_samples=64,
                      infobatch=dict(ratio=0.5, unweighted_losses=['loss_l2']))
    cfg.model.head.type = 'HeadWithPenalty'
    runner = run(cfg)
    log = open(runner.logger.log_file).read()
    assert log.count("the loss terms ['loss_l2'] stay unweighted") == 1


def test_equal_cost_tool_leaves_the_infobatch_run_alone(tmp_path):
    """Default --out beside the work dir, its own work dir: trained without
    --work-dir it overwrites nothing of the InfoBatch run; a rerun works."""
    work_dir = str(tmp_path / 'ib')
    run(demo_config(work_dir, epochs=2, num_samples=64,
                    infobatch=dict(ratio=0.5)))
    before = sorted(os.listdir(work_dir))
    cmd = [sys.executable, 'tools/equal_cost_config.py', work_dir]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    out = work_dir + '_equal_cost.py'
    from mmib_kit.analysis.config_data import read_dumped_config
    assert read_dumped_config(out).work_dir == work_dir + '_equal_cost'
    assert sorted(os.listdir(work_dir)) == before
    # the dumped config is still the only one: the tool runs on it again
    again = subprocess.run(cmd + ['--out', str(tmp_path / 'b.py')],
                           capture_output=True, text=True, cwd=REPO)
    assert again.returncode == 0, again.stderr[-2000:]


def test_a_work_dir_with_code_in_its_config_runs_nothing(tmp_path):
    """Reading runs executes nothing: a dumped config with code in it is
    refused by line, and the code does not run (equal_cost_config and
    compare_runs' batch-size read)."""
    from mmib_kit.analysis.config_data import ConfigDataError, read_dumped_config
    from mmib_kit.analysis.runs import _batch_size
    work_dir = str(tmp_path / 'ib')
    run(demo_config(work_dir, epochs=2, num_samples=64,
                    infobatch=dict(ratio=0.5)))
    dumped = find_dumped_config(work_dir)
    marker = tmp_path / 'ran'
    with open(dumped, 'a') as f:
        f.write(f"\nimport os\nos.mkdir({str(marker)!r})\n")
    with pytest.raises(ConfigDataError, match='line .*Import'):
        read_dumped_config(dumped)
    with pytest.raises(ConfigDataError):
        equal_cost_config(work_dir)
    with pytest.raises(ConfigDataError):
        _batch_size(work_dir)
    tool = subprocess.run(
        [sys.executable, 'tools/equal_cost_config.py', work_dir],
        capture_output=True, text=True, cwd=REPO)
    assert tool.returncode != 0 and 'not an assignment' in tool.stderr
    assert not marker.exists()
    # a call hidden in a value is refused too
    (tmp_path / 'c.py').write_text("a = dict(b=__import__('os'))\n")
    with pytest.raises(ConfigDataError, match='Call is not a literal'):
        read_dumped_config(str(tmp_path / 'c.py'))
