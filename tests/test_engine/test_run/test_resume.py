"""Kill and resume: the resumed run continues as the uninterrupted one.

Bit-identical on CPU (``num_workers=0``, no validation between the
checkpoint and the next iteration): the hook checkpoints its scores, clock
and current plan, and the global random states MMEngine leaves out.
"""
import copy
import os.path as osp

import pytest
import torch
from conftest import demo_config, get_hook, iter_config, run, \
    state_dicts_close


def _resume(cfg, work_dir, checkpoint):
    cfg = copy.deepcopy(cfg)
    cfg.resume = True
    cfg.load_from = osp.join(work_dir, checkpoint)
    cfg.work_dir = osp.join(work_dir, 'resumed_' + checkpoint)
    cfg.experiment_name = cfg.experiment_name + '_' + checkpoint
    return run(cfg)


def _assert_same_continuation(whole, resumed, done_iters):
    a = get_hook(whole, 'RecordingHook').records[done_iters:]
    b = get_hook(resumed, 'RecordingHook').records
    assert len(a) == len(b) > 0
    assert [r['indices'] for r in a] == [r['indices'] for r in b]
    assert [r['loss'] for r in a] == [r['loss'] for r in b]  # bit-identical
    state_dicts_close(whole.model.state_dict(), resumed.model.state_dict(),
                      rtol=0, atol=0)
    assert get_hook(whole, 'InfoBatchHook').savings() == \
        get_hook(resumed, 'InfoBatchHook').savings()


@pytest.fixture(scope='module')
def epoch_run(tmp_path_factory):
    """3 epochs (pruning from the 2nd), iteration checkpoints every step."""
    work_dir = str(tmp_path_factory.mktemp('epoch_run'))
    cfg = demo_config(work_dir, epochs=3, num_samples=200,
                      infobatch=dict(ratio=0.5, delta=1.0))
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=1)
    return cfg, work_dir, run(cfg)


def test_epoch_run_resumed_mid_epoch(epoch_run):
    cfg, work_dir, whole = epoch_run
    records = get_hook(whole, 'RecordingHook').records
    k = [r['epoch'] for r in records].index(2) + 2  # 2 steps into epoch 3
    resumed = _resume(cfg, work_dir, f'iter_{k}.pth')
    _assert_same_continuation(whole, resumed, k)


def test_epoch_run_resumed_at_the_end_of_an_epoch(epoch_run):
    """MMEngine re-runs the epoch of an iteration checkpoint; the hook
    makes that repetition empty when the epoch was complete."""
    cfg, work_dir, whole = epoch_run
    records = get_hook(whole, 'RecordingHook').records
    k = [r['epoch'] for r in records].index(2)  # last step of epoch 2
    resumed = _resume(cfg, work_dir, f'iter_{k}.pth')
    _assert_same_continuation(whole, resumed, k)


def test_epoch_run_resumed_from_an_epoch_checkpoint(tmp_path):
    work_dir = str(tmp_path)
    cfg = demo_config(work_dir, epochs=3, num_samples=200,
                      infobatch=dict(ratio=0.5, delta=1.0))
    whole = run(cfg)
    records = get_hook(whole, 'RecordingHook').records
    k = [r['epoch'] for r in records].index(2)
    resumed = _resume(cfg, work_dir, 'epoch_2.pth')
    _assert_same_continuation(whole, resumed, k)


@pytest.mark.parametrize('where', ['mid_pass', 'pass_end'])
def test_iteration_run_resumed(tmp_path, where):
    work_dir = str(tmp_path)
    cfg = iter_config(work_dir, passes=4,
                      infobatch=dict(ratio=0.5, delta=1.0))
    cfg.default_hooks.checkpoint.interval = 1
    whole = run(cfg)
    records = get_hook(whole, 'RecordingHook').records
    first_of_pass_3 = [r['pass_index'] for r in records].index(2)
    k = first_of_pass_3 + 2 if where == 'mid_pass' else first_of_pass_3
    resumed = _resume(cfg, work_dir, f'iter_{k}.pth')
    _assert_same_continuation(whole, resumed, k)


def test_changed_batch_size_restarts_the_interrupted_pass(epoch_run):
    cfg, work_dir, whole = epoch_run
    records = get_hook(whole, 'RecordingHook').records
    k = [r['epoch'] for r in records].index(2) + 2  # inside epoch 3
    cfg = copy.deepcopy(cfg)
    cfg.train_dataloader.batch_size = 8
    cfg.experiment_name += '_bs8'
    resumed = _resume(cfg, work_dir, f'iter_{k}.pth')
    rec = get_hook(resumed, 'RecordingHook').records
    # epoch 3 starts again: every kept sample once, in batches of 8
    trained = sorted(i for r in rec for i in r['indices'])
    assert len(trained) == rec[0]['num_kept'] == len(set(trained))
    assert all(len(r['indices']) <= 8 for r in rec)
    assert resumed.epoch == 3


def test_changed_ratio_on_resume_applies_from_the_next_pass(tmp_path):
    work_dir = str(tmp_path)
    cfg = demo_config(work_dir, epochs=3,
                      infobatch=dict(ratio=0.5, delta=1.0))
    run(cfg)
    cfg.custom_hooks[-1]['ratio'] = 0.2
    resumed = _resume(cfg, work_dir, 'epoch_2.pth')
    hook = get_hook(resumed, 'InfoBatchHook')
    assert hook.options.pruning.ratios == (0.2, )
    # the new ratio's weight: the band's size over its kept count, which
    # for a band of a hundred-odd samples is within 0.02 of 1 / (1 - 0.2)
    assert 1 / 0.8 - 0.02 <= float(hook.training.run.plan.weights.max()) <= 1 / 0.8
    ckpt = torch.load(osp.join(work_dir, 'resumed_epoch_2.pth',
                               'epoch_3.pth'))
    assert ckpt['infobatch']['ratios'] == [0.2]


def test_checkpoint_without_infobatch_state_starts_fresh(tmp_path):
    work_dir = str(tmp_path)
    plain = demo_config(work_dir, epochs=2)
    run(plain)
    cfg = demo_config(work_dir, epochs=3, infobatch=dict(ratio=0.5))
    resumed = _resume(cfg, work_dir, 'epoch_2.pth')
    hook = get_hook(resumed, 'InfoBatchHook')
    assert resumed.epoch == 3
    assert hook.training.run.ledger.passes_done == 1  # only what this run trained
    assert hook.training.run.plan.num_kept == 256  # no scores yet: all samples


def test_infobatch_checkpoint_resumes_into_a_run_without_the_hook(tmp_path):
    work_dir = str(tmp_path)
    run(demo_config(work_dir, epochs=2, infobatch=dict(ratio=0.5)))
    resumed = _resume(demo_config(work_dir, epochs=3), work_dir,
                      'epoch_2.pth')
    assert resumed.epoch == 3
    assert not any(type(h).__name__ == 'InfoBatchHook'
                   for h in resumed.hooks)


def test_repeat_aug_run_resumed_mid_epoch(tmp_path):
    """With mmpretrain's RepeatAugSampler (3 copies per sample) the resumed
    pass goes on with exactly the copies the interrupted one had left."""
    work_dir = str(tmp_path)
    cfg = demo_config(work_dir, epochs=3, num_samples=200,
                      infobatch=dict(ratio=0.5, delta=1.0))
    cfg.train_dataloader.sampler = dict(type='RepeatAugSampler',
                                        shuffle=True, num_repeats=3)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=1)
    whole = run(cfg)
    assert get_hook(whole,
                    'InfoBatchHook').training.driver.sampler.num_repeats == 3
    records = get_hook(whole, 'RecordingHook').records
    k = [r['epoch'] for r in records].index(2) + 2  # 2 steps into epoch 3
    resumed = _resume(cfg, work_dir, f'iter_{k}.pth')
    _assert_same_continuation(whole, resumed, k)


def test_a_new_batch_size_at_an_epoch_boundary_trains_no_epoch_twice(
        epoch_run):
    """The iteration checkpoint at the end of epoch 2, resumed with batch 16
    instead of 32: the finished epoch is not trained again (3 passes in a
    3-epoch run), and no warning claims that a pass restarts."""
    cfg, work_dir, whole = epoch_run
    records = get_hook(whole, 'RecordingHook').records
    end_of_2 = [r['epoch'] for r in records].index(2)
    cfg = copy.deepcopy(cfg)
    cfg.train_dataloader.batch_size = 16
    resumed = _resume(cfg, work_dir, f'iter_{end_of_2}.pth')
    hook = get_hook(resumed, 'InfoBatchHook')
    assert hook.training.run.ledger.passes_done == 3
    rec = get_hook(resumed, 'RecordingHook').records
    assert {r['epoch'] for r in rec} == {2}
    log = open(resumed.logger.log_file).read()
    assert 'starts again' not in log


def test_changed_settings_on_resume_are_named(epoch_run):
    cfg, work_dir, whole = epoch_run
    records = get_hook(whole, 'RecordingHook').records
    k = [r['epoch'] for r in records].index(2) + 2  # 2 steps into epoch 3
    changed = copy.deepcopy(cfg)
    changed.custom_hooks[-1].update(policy='random', delta=0.9)
    resumed = _resume(changed, work_dir, f'iter_{k}.pth')
    log = open(resumed.logger.log_file).read()
    assert ("resuming with changed settings: policy='random' (was "
            "'infobatch'), delta=0.9 (was 1.0)") in log
    assert 'from pass 4 on' in log  # pass 3 finishes with its plan
    other = copy.deepcopy(cfg)
    other.custom_hooks[-1].update(scores='batch')
    with pytest.raises(ValueError, match=r"resuming with scores='batch' "
                       r"where the checkpoint was trained with "
                       r"scores='sample'.*Resume with scores='sample'"):
        _resume(other, work_dir, f'iter_{k}.pth')
