"""MAE pre-training (mmpretrain) with InfoBatch."""
import math
import os.path as osp

import pytest
import torch
from conftest import REPO, get_hook, run
from mmengine.config import Config
from conftest import run_command

from mmib.core import BatchLayout, PruningSettings, ScoreTable, expected_num_kept

TINY_MAE = osp.join(REPO, 'configs', 'selfsup',
                    'mae_vit-tiny-p8_photo-tiles_full.py')
PROBE = osp.join(REPO, 'tests', 'configs', 'mae_probe.py')


def mae_config(work_dir, infobatch=None, epochs=3, num_samples=128):
    cfg = Config.fromfile(TINY_MAE)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'mae_{osp.basename(work_dir)}'
    cfg.train_dataloader.dataset.indices = num_samples
    cfg.train_cfg.max_epochs = epochs
    cfg.param_scheduler[0].end = 1
    cfg.param_scheduler[1].begin = 1
    cfg.param_scheduler[1].T_max = epochs - 1
    cfg.param_scheduler[1].end = epochs
    cfg.custom_hooks = [dict(type='RecordingHook')]
    if infobatch is not None:
        cfg.custom_hooks.append(dict(type='InfoBatchHook', **infobatch))
    return cfg


def test_tiny_mae_through_train_py(tmp_path):
    work_dir = str(tmp_path)
    out = run_command(['python', 'tools/train.py', PROBE, '--work-dir', work_dir])
    assert "per-sample losses from ['head.loss_module (PixelReconstruction" \
        "Loss via PixelReconstructionAdapter)']" in out
    probe = torch.load(osp.join(work_dir, 'probe_rank0.pt'))
    passes = probe['epochs']
    n, batch = 256, 32
    assert len(passes) == 6
    policy = PruningSettings(ratios=(0.5, ))
    for p, record in enumerate(passes):
        kept = record['kept']
        assert sorted(record['trained']) == kept.tolist()
        scores = record['scores']
        assert bool(torch.isfinite(scores).all())
        assert bool(record['seen'].all())  # every sample has its own score
        if p == 0 or p == 5:  # no scores yet / annealing (delta=0.84 of 6)
            assert kept.numel() == n
            continue
        # the count is what the pruning maths predicts from the scores
        table = ScoreTable(n)
        table.update(torch.arange(n), passes[p - 1]['scores'])
        assert kept.numel() == expected_num_kept(
            table, policy, layout=BatchLayout(batch)), f'pass {p}'
        assert kept.numel() < n
    # scores differ per sample (a per-sample loss, not the batch loss)
    assert passes[-1]['scores'].unique().numel() > n // 2
    assert probe['savings']['samples_trained'] == sum(
        len(r['kept']) for r in passes)
    assert probe['iters'] == probe['max_iters'] == sum(
        math.ceil(len(r['kept']) / batch) for r in passes)


def test_ratio_zero_equals_plain_mae_and_the_schedule_ends(work_dir):
    plain = run(mae_config(work_dir + '/plain'))
    ratio0 = run(mae_config(work_dir + '/ratio0', infobatch=dict(ratio=0.0)))
    pruned = run(mae_config(work_dir + '/pruned',
                            infobatch=dict(ratio=0.5, delta=1.0)))
    a = get_hook(plain, 'RecordingHook').records
    b = get_hook(ratio0, 'RecordingHook').records
    assert [r['indices'] for r in a] == [r['indices'] for r in b]
    # same seed, same random masks: the same per-iteration losses
    torch.testing.assert_close(
        torch.tensor([r['loss'] for r in b]),
        torch.tensor([r['loss'] for r in a]), rtol=1e-5, atol=1e-6)
    c = get_hook(pruned, 'RecordingHook').records
    assert len(c) < len(a)
    end = plain.optim_wrapper.get_lr()['lr'][0]
    assert pruned.optim_wrapper.get_lr()['lr'][0] == pytest.approx(end)
    assert [r['lr'] for r in c][:4] == pytest.approx(
        [r['lr'] for r in a][:4])


def test_score_momentum_option_runs(work_dir):
    runner = run(mae_config(work_dir, infobatch=dict(ratio=0.5, delta=1.0,
                                                     score_momentum=0.5)))
    hook = get_hook(runner, 'InfoBatchHook')
    assert hook.training.run.table.momentum == 0.5
    assert hook.savings()['saved_samples'] > 0


@pytest.mark.parametrize('epochs', [300, 800, 1600])
def test_mae_configs_are_mmpretrain_recipes_plus_the_hook(epochs):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'selfsup',
                 f'mae_vit-base-p16_8xb512-amp-coslr-{epochs}e_in1k_'
                 'infobatch.py'))
    assert cfg.model.type == 'MAE'
    assert cfg.model.head.loss.type == 'PixelReconstructionLoss'
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.custom_hooks == [dict(type='InfoBatchHook', ratio=0.5)]
    assert cfg.param_scheduler[0].convert_to_iter_based


def test_simmim_runs_with_per_sample_scores(work_dir):
    """A second self-supervised algorithm with a per-patch loss: SimMIM."""
    simmim = osp.join(REPO, 'configs', 'selfsup',
                      'simmim_swin-tiny_photo-tiles_full.py')

    def config(name, infobatch=None):
        cfg = mae_config(work_dir + '/' + name, infobatch=infobatch,
                         epochs=3)
        base = Config.fromfile(simmim)
        cfg.model = base.model
        cfg.train_dataloader.dataset.pipeline = \
            base.train_dataloader.dataset.pipeline
        return cfg

    plain = run(config('plain'))
    ratio0 = run(config('ratio0', infobatch=dict(ratio=0.0)))
    pruned = run(config('pruned', infobatch=dict(ratio=0.5, delta=1.0)))
    a = get_hook(plain, 'RecordingHook').records
    b = get_hook(ratio0, 'RecordingHook').records
    torch.testing.assert_close(
        torch.tensor([r['loss'] for r in b]),
        torch.tensor([r['loss'] for r in a]), rtol=1e-5, atol=1e-6)
    hook = get_hook(pruned, 'InfoBatchHook')
    assert hook.training.recorder.module_names == ['head.loss_module']
    assert bool(hook.training.run.table.seen.all())
    assert bool(torch.isfinite(hook.training.run.table.scores).all())
    assert hook.training.run.table.scores.unique().numel() > 64
    assert hook.savings()['saved_samples'] > 0
