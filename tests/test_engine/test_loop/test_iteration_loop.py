"""Iteration-based training (IterBasedTrainLoop + InfiniteSampler)."""
import os.path as osp

import pytest
import torch
from conftest import get_hook, iter_config, run


def records_of(runner):
    return get_hook(runner, 'RecordingHook').records


def test_ratio_zero_matches_the_plain_infinite_sampler_run(work_dir):
    plain = run(iter_config(work_dir + '/plain', passes=3))
    ratio0 = run(iter_config(work_dir + '/ib', passes=3,
                             infobatch=dict(ratio=0.0)))
    a, b = records_of(plain), records_of(ratio0)
    assert len(a) == len(b) == 24
    assert [r['indices'] for r in a] == [r['indices'] for r in b]
    torch.testing.assert_close(
        torch.tensor([r['loss'] for r in b]),
        torch.tensor([r['loss'] for r in a]),
        rtol=1e-5, atol=1e-6)
    assert ratio0.iter == plain.iter == 24


def test_passes_prune_and_the_run_stops_after_the_full_schedule(work_dir):
    n, batch, passes = 128, 16, 5
    runner = run(iter_config(work_dir, passes=passes, num_samples=n,
                             batch_size=batch,
                             infobatch=dict(ratio=0.5, delta=0.8)))
    hook = get_hook(runner, 'InfoBatchHook')
    records = records_of(runner)
    by_pass = {}
    for r in records:
        by_pass.setdefault(r['pass_index'], []).append(r)
    # 5 passes over the data, as the full schedule (max_iters=40) makes
    assert sorted(by_pass) == list(range(passes))
    assert hook.training.run.ledger.passes_done == passes
    for p, recs in by_pass.items():
        trained = sorted(i for r in recs for i in r['indices'])
        assert len(trained) == recs[0]['num_kept'], f'pass {p}'
        assert len(set(trained)) == len(trained)
        if p in (0, 4):  # no scores yet / annealing (delta=0.8 of 5)
            assert trained == list(range(n))
        else:
            assert len(trained) < n
    # fewer iterations; the loop ends exactly there, with a checkpoint
    assert runner.iter == len(records) < passes * n // batch
    assert runner.max_iters == runner.iter
    assert osp.exists(osp.join(work_dir, f'iter_{runner.iter}.pth'))
    savings = hook.savings()
    assert savings['iters_full'] == passes * n // batch
    assert savings['samples_full'] == passes * n
    assert savings['samples_trained'] == sum(len(r['indices'])
                                             for r in records)
    assert savings['saved_samples'] > 0.1


def test_iteration_schedule_is_covered_by_the_shortened_run(work_dir):
    """Warmup and PolyLR: same start, completed warmup, same end."""
    plain = run(iter_config(work_dir + '/plain', passes=5))
    pruned = run(iter_config(work_dir + '/ib', passes=5,
                             infobatch=dict(ratio=0.7, delta=0.8)))
    lr_plain = [r['lr'] for r in records_of(plain)]
    lr_ib = [r['lr'] for r in records_of(pruned)]
    assert len(lr_ib) < len(lr_plain) == 40
    assert lr_ib[0] == pytest.approx(lr_plain[0])
    # warmup (the first, unpruned pass) is identical and completes
    assert lr_ib[:8] == pytest.approx(lr_plain[:8])
    assert lr_ib[8] == pytest.approx(0.1, rel=1e-6)
    # the schedule reaches its end in both runs
    end_plain = plain.optim_wrapper.get_lr()['lr'][0]
    end_ib = pruned.optim_wrapper.get_lr()['lr'][0]
    assert end_ib == pytest.approx(end_plain, rel=1e-6)
    assert lr_ib[-1] == pytest.approx(lr_plain[-1], abs=0.01)
    schedulers = pruned.param_schedulers
    assert schedulers[-1].last_step == plain.param_schedulers[-1].last_step


def test_resume_mid_pass_continues_with_the_same_samples(work_dir):
    """Killed two iterations into pass 3 (pruned) and resumed."""
    cfg = iter_config(work_dir, passes=5, infobatch=dict(ratio=0.5,
                                                         delta=0.8))
    cfg.default_hooks.checkpoint.interval = 1
    whole = run(cfg)
    whole_records = records_of(whole)
    k = [r['pass_index'] for r in whole_records].index(2) + 2
    ckpt = torch.load(osp.join(work_dir, f'iter_{k}.pth'))
    assert ckpt['infobatch']['clock']['pass_iter'] == 2

    cfg.resume = True
    cfg.load_from = osp.join(work_dir, f'iter_{k}.pth')
    cfg.experiment_name += '_resumed'
    cfg.work_dir = work_dir + '/resumed'
    resumed = run(cfg)
    resumed_records = records_of(resumed)
    # the interrupted pass goes on with exactly the batches it had left
    rest_of_pass = [r for r in whole_records[k:] if r['pass_index'] == 2]
    assert len(rest_of_pass) > 0
    assert [r['indices'] for r in resumed_records[:len(rest_of_pass)]] == \
        [r['indices'] for r in rest_of_pass]
    # (later passes prune on scores from a not bit-identical continuation:
    # MMEngine does not restore the augmentation RNG.) The schedule still
    # ends after the same number of passes and full-data iterations.
    resumed_hook = get_hook(resumed, 'InfoBatchHook')
    whole_hook = get_hook(whole, 'InfoBatchHook')
    assert resumed_hook.training.run.ledger.passes_done == 5
    assert resumed_hook.savings()['iters_full'] == \
        whole_hook.savings()['iters_full'] == 40
    assert resumed.max_iters == resumed.iter


def test_repeat_dataset_prunes_on_the_inner_samples(work_dir):
    """mmseg's UNet recipes wrap their data in RepeatDataset(times=40000):
    passes count over the real samples, so the run prunes and saves."""
    n, batch, passes = 128, 16, 5
    cfg = iter_config(work_dir, passes=passes, num_samples=n,
                      batch_size=batch, infobatch=dict(ratio=0.5, delta=0.8))
    cfg.train_dataloader.dataset = dict(
        type='RepeatDataset', times=1000, dataset=cfg.train_dataloader.dataset)
    runner = run(cfg)
    hook = get_hook(runner, 'InfoBatchHook')
    assert len(hook.training.run.table) == n  # scores per real sample, not per copy
    assert hook.training.run.ledger.passes_done == passes
    assert hook.savings()['saved_samples'] > 0.05
    assert runner.iter < passes * n // batch  # fewer iterations
    log = open(runner.logger.log_file).read()
    assert 'RepeatDataset(times=1000); passes go over its 128 samples' in log


@pytest.mark.parametrize('infobatch', [dict(ratio=0.5),
                                       dict(target_saving=0.3)])
def test_ledger_counts_what_the_full_run_really_trains(work_dir, infobatch):
    """100 samples, batch 16: the stock InfiniteSampler run trains 16 a
    step (no short last batch), 7 x 16 = 112 a 'pass'; the ledger's
    reference is that run's count, not passes x 100, and a budget aims
    at it."""
    plain = run(iter_config(work_dir + '/plain', passes=6, num_samples=100))
    full_count = sum(len(r['indices']) for r in records_of(plain))
    assert full_count == 6 * 7 * 16
    pruned = run(iter_config(work_dir + '/ib', passes=6, num_samples=100,
                             infobatch=dict(infobatch, delta=1.0)))
    trained = sum(len(r['indices']) for r in records_of(pruned))
    savings = get_hook(pruned, 'InfoBatchHook').savings()
    assert savings['samples_full'] == full_count
    assert savings['samples_trained'] == trained
    assert savings['saved_samples'] == pytest.approx(1 - trained / full_count)
    if 'target_saving' in infobatch:
        assert abs(savings['saved_samples'] - 0.3) < 0.03
