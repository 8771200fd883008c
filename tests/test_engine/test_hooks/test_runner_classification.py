"""InfoBatch through MMEngine's real Runner with mmpretrain classifiers."""
import copy
import math

import pytest
import torch
from conftest import demo_config, get_hook, run, state_dicts_close

from mmib.core import BatchLayout, PruningSettings, ScoreTable, expected_num_kept
from mmib.datasets import InfoBatchDataset, InfoBatchSampler


def test_ratio_zero_changes_nothing(work_dir):
    """ratio=0: same per-iteration losses and final weights as no hook."""
    plain = run(demo_config(work_dir + '/plain', epochs=2))
    ratio0 = run(demo_config(work_dir + '/ib', epochs=2,
                             infobatch=dict(ratio=0.0)))
    plain_rec = get_hook(plain, 'RecordingHook').records
    ib_rec = get_hook(ratio0, 'RecordingHook').records
    assert len(plain_rec) == len(ib_rec) == 2 * math.ceil(256 / 32)
    assert [r['indices'] for r in plain_rec] == [r['indices'] for r in ib_rec]
    torch.testing.assert_close(
        torch.tensor([r['loss'] for r in ib_rec]),
        torch.tensor([r['loss'] for r in plain_rec]),
        rtol=1e-5,
        atol=1e-6)
    state_dicts_close(plain.model.state_dict(), ratio0.model.state_dict(),
                      rtol=1e-4, atol=1e-6)
    # the hook really ran: wrapped data set, InfoBatch sampler, scores
    assert isinstance(ratio0.train_dataloader.dataset, InfoBatchDataset)
    assert isinstance(ratio0.train_dataloader.sampler, InfoBatchSampler)
    hook = get_hook(ratio0, 'InfoBatchHook')
    assert bool(hook.training.run.table.seen.all())
    assert hook.savings()['saved_samples'] == 0


def test_ratio_half_trains_exactly_the_plan(work_dir):
    """Fixed per-sample losses (LeNet5, lr=0): counts and weights as planned.

    Epoch 1 trains all 64 samples; epochs 2-6 drop half of the samples below
    the mean loss and weight the kept ones by 2; epochs 7-8 (1 - delta)
    train all with weight 1.
    """
    epochs, delta, n = 8, 0.75, 64
    cfg = demo_config(work_dir, epochs=epochs, num_samples=n, lenet=True,
                      lr=0.0, infobatch=dict(ratio=0.5, delta=delta))
    runner = run(cfg)
    records = get_hook(runner, 'RecordingHook').records
    hook = get_hook(runner, 'InfoBatchHook')

    # epoch 1: every sample once, weight 1 -> the per-sample losses
    first = [r for r in records if r['epoch'] == 0]
    assert sorted(i for r in first for i in r['indices']) == list(range(n))
    losses = hook.training.run.table.scores.clone()
    below = losses < losses.mean()
    assert 0 < int(below.sum()) < n

    table = ScoreTable(n)
    table.update(torch.arange(n), losses)
    kept_per_epoch = expected_num_kept(
        table, PruningSettings(ratios=(0.5, )), layout=BatchLayout(8))
    assert kept_per_epoch in (n - int(below.sum()) // 2,
                              n - int(below.sum()) // 2 + 1)

    for epoch in range(epochs):
        rec = [r for r in records if r['epoch'] == epoch]
        trained = [i for r in rec for i in r['indices']]
        assert len(trained) == len(set(trained)), 'a sample trained twice'
        trained = torch.tensor(sorted(trained))
        if epoch == 0 or epoch >= 6:
            assert trained.tolist() == list(range(n)), f'epoch {epoch}'
            weights = torch.ones(n)
        else:
            assert trained.numel() == kept_per_epoch, f'epoch {epoch}'
            # above-threshold samples are never pruned
            assert set(torch.nonzero(~below).squeeze(1).tolist()) <= set(
                trained.tolist())
            # the kept below-mean samples weigh the whole band: n_b / kept_b
            num_below = int(below.sum())
            kept_below = int(below[trained].sum())
            weights = torch.where(below, num_below / kept_below, 1.0)
        assert len(rec) == math.ceil(trained.numel() / 8)
        # the back-propagated loss is the weighted mean of the batch
        for r in rec:
            idx = torch.tensor(r['indices'])
            expected = (weights[idx] * losses[idx]).mean()
            torch.testing.assert_close(
                torch.tensor(r['loss']), expected, rtol=1e-4, atol=1e-5)

    predicted = 3 * n + 5 * kept_per_epoch
    savings = hook.savings()
    assert savings['samples_trained'] == predicted
    assert savings['samples_full'] == epochs * n
    assert sum(len(r['indices']) for r in records) == predicted
    assert savings['iters_trained'] == len(records) == runner.iter
    # the running saved fraction is exact at the end of an epoch
    saved = runner.message_hub.get_scalar('train/infobatch_saved').current()
    assert saved == pytest.approx(1 - predicted / (epochs * n))


def test_schedule_reaches_its_end_with_fewer_iterations(work_dir):
    """Warmup + cosine by iteration: same start and end LR, fewer steps."""
    plain = run(demo_config(work_dir + '/plain', epochs=6))
    pruned = run(demo_config(work_dir + '/ib', epochs=6,
                             infobatch=dict(ratio=0.7, delta=0.8)))
    plain_lr = [r['lr'] for r in get_hook(plain, 'RecordingHook').records]
    ib_lr = [r['lr'] for r in get_hook(pruned, 'RecordingHook').records]
    assert len(ib_lr) < len(plain_lr)
    assert ib_lr[0] == pytest.approx(plain_lr[0])
    # warmup (epoch 1, full data) is identical
    epoch_len = math.ceil(256 / 32)
    assert ib_lr[:epoch_len] == pytest.approx(plain_lr[:epoch_len])
    assert ib_lr[-1] == pytest.approx(plain_lr[-1], rel=1e-6)
    # the LR the next step would use is the schedule's end in both runs
    end_plain = plain.optim_wrapper.get_lr()['lr'][0]
    end_ib = pruned.optim_wrapper.get_lr()['lr'][0]
    assert end_ib == pytest.approx(end_plain, rel=1e-6)
    assert end_ib < 0.003 * 0.1  # the cosine's tail, near eta_min=1e-4
    # the loop's max_iters ends exact, so the ETA and last-iteration
    # checks of other hooks hold
    assert pruned.max_iters == pruned.iter == len(ib_lr)
    assert plain.max_iters == plain.iter


def test_checkpoint_carries_the_scores_and_resume_restores_them(work_dir):
    """--resume (torch.load with weights_only=True) restores the hook state.

    The epoch after the resume point prunes with the restored scores, so it
    keeps exactly the samples the uninterrupted run kept.
    """
    cfg = demo_config(work_dir, epochs=3, infobatch=dict(ratio=0.5, delta=1))
    first = run(cfg)
    hook = get_hook(first, 'InfoBatchHook')
    ckpt = torch.load(f'{work_dir}/epoch_2.pth', map_location='cpu')
    state = ckpt['infobatch']
    assert state['ledger']['passes_done'] == 2
    assert bool(state['table']['seen'].all())

    cfg.resume = True
    cfg.load_from = f'{work_dir}/epoch_2.pth'
    cfg.experiment_name += '_resumed'
    resumed = run(cfg)
    resumed_hook = get_hook(resumed, 'InfoBatchHook')
    assert resumed.epoch == 3
    assert not resumed_hook.training.run.plan.annealing
    assert resumed_hook.training.run.plan.num_kept < 256
    assert torch.equal(resumed_hook.training.run.plan.kept_indices,
                       hook.training.run.plan.kept_indices)
    assert resumed_hook.training.run.ledger.passes_done == 3
    assert resumed_hook.savings() == hook.savings()


def test_worker_processes_load_only_the_kept_samples(work_dir):
    """num_workers=2, persistent workers: each epoch trains its kept list."""
    cfg = demo_config(work_dir, epochs=3, num_samples=160,
                      infobatch=dict(ratio=0.5, delta=1))
    cfg.train_dataloader.num_workers = 2
    cfg.train_dataloader.persistent_workers = True
    cfg.default_hooks.checkpoint = None
    runner = run(cfg)
    records = get_hook(runner, 'RecordingHook').records
    hook = get_hook(runner, 'InfoBatchHook')
    last_epoch = sorted(i for r in records if r['epoch'] == 2
                        for i in r['indices'])
    assert last_epoch == hook.training.run.plan.kept_indices.tolist()
    assert len(last_epoch) < 160
    first_epoch = [i for r in records if r['epoch'] == 0
                   for i in r['indices']]
    assert sorted(first_epoch) == list(range(160))


def test_val_and_test_runs_leave_the_hook_idle(work_dir):
    """runner.val()/test() call before_run too: the hook must not act."""
    from conftest import REPO
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(f'{REPO}/configs/demo/'
                          'resnet18-tiny_digits_infobatch.py')
    cfg.work_dir = work_dir
    cfg.experiment_name = 'val_only'
    runner = Runner.from_cfg(cfg)
    metrics = runner.val()
    assert 'accuracy/top1' in metrics
    hook = get_hook(runner, 'InfoBatchHook')
    assert hook.training is None


@pytest.mark.parametrize('loss', [
    dict(type='LabelSmoothLoss', label_smooth_val=0.1, num_classes=10),
    dict(type='LabelSmoothLoss', label_smooth_val=0.1, num_classes=10,
         mode='classy_vision'),
])
def test_label_smooth_loss_through_the_runner(work_dir, loss):
    """The loss of mmpretrain's DeiT/Swin/ViT/ConvNeXt recipes: ratio=0
    equals the plain run, ratio=0.5 prunes (it crashed before)."""
    def config(sub, infobatch):
        cfg = demo_config(work_dir + sub, epochs=3, num_samples=128,
                          infobatch=infobatch)
        cfg.model.head.loss = loss
        return cfg

    plain = run(config('/plain', None))
    ratio0 = run(config('/r0', dict(ratio=0.0)))
    torch.testing.assert_close(
        torch.tensor([r['loss'] for r in get_hook(ratio0,
                                                  'RecordingHook').records]),
        torch.tensor([r['loss'] for r in get_hook(plain,
                                                  'RecordingHook').records]),
        rtol=1e-5, atol=1e-6)
    pruned = run(config('/r5', dict(ratio=0.5, delta=1.0)))
    assert get_hook(pruned, 'InfoBatchHook').savings()['saved_samples'] > 0


def test_concat_dataset_scores_per_global_index(work_dir):
    """A ConcatDataset of two data sets: one score table over both, keyed
    by the concatenation's (global) index; ratio=0 trains as the plain
    config does."""
    def config(name, infobatch=None):
        cfg = demo_config(f'{work_dir}/{name}', epochs=3, num_samples=None,
                          infobatch=infobatch)
        first = cfg.train_dataloader.dataset
        second = copy.deepcopy(first)
        first.indices, second.indices = 96, 64  # 96 + 64 samples
        second.split = 'test'
        cfg.train_dataloader.dataset = dict(type='ConcatDataset',
                                            datasets=[first, second])
        return cfg

    plain = run(config('plain'))
    ratio0 = run(config('ratio0', dict(ratio=0.0)))
    losses = [[r['loss'] for r in get_hook(x, 'RecordingHook').records]
              for x in (plain, ratio0)]
    assert losses[1] == pytest.approx(losses[0], rel=1e-6, abs=1e-6)
    pruned = run(config('pruned', dict(ratio=0.5, delta=1.0)))
    hook = get_hook(pruned, 'InfoBatchHook')
    assert len(hook.training.run.table) == 160
    assert bool(hook.training.run.table.seen.all())  # both parts scored
    assert hook.training.run.plan.kept_indices.max() >= 96  # the second part prunes too
    assert hook.training.run.plan.num_kept < 160
    assert hook.savings()['saved_samples'] > 0
