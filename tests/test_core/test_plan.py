"""The pass plan and its draws (plain tensors): thresholds, bands, weights,
layouts, ranks."""
import math

import numpy as np
import pytest
import torch

from mmib.core import (BatchLayout, PruningSettings, ScoreTable, derive_seed,
                       draw_uniform, expected_num_kept, num_pruning_passes,
                       plan_pass)

from core_tables import MEAN_HALF, seen_table


def test_annealing_epochs_train_everything_with_weight_one():
    table = seen_table(torch.linspace(0, 1, 100))
    last_pruning = num_pruning_passes(8, 0.875) - 1
    pruned = plan_pass(table, MEAN_HALF, last_pruning, 8, seed=0)
    assert not pruned.annealing and pruned.num_kept < 100
    for epoch in (7, ):
        plan = plan_pass(table, MEAN_HALF, epoch, 8, seed=0)
        assert plan.annealing
        assert plan.num_kept == 100
        assert torch.equal(plan.weights, torch.ones(100))


def test_first_epoch_trains_all_unseen_samples():
    plan = plan_pass(ScoreTable(50), MEAN_HALF, 0, 10, seed=0)
    assert plan.num_kept == 50 and torch.equal(plan.weights, torch.ones(50))


def test_unseen_samples_are_never_pruned():
    table = ScoreTable(100)
    table.update(torch.arange(60), torch.rand(60))
    for epoch in range(5):
        plan = plan_pass(table, MEAN_HALF, epoch, 10, seed=3)
        assert set(range(60, 100)) <= set(plan.kept_indices.tolist())
        assert torch.equal(plan.weights[60:], torch.ones(40))


def test_mean_threshold_counts_and_weights():
    scores = torch.rand(1001, generator=torch.Generator().manual_seed(0))
    table = seen_table(scores)
    plan = plan_pass(table, MEAN_HALF, 1, 10, seed=0)
    mean = scores.double().mean().float()
    torch.testing.assert_close(plan.thresholds, mean.reshape(1))
    below = scores < mean
    num_below = int(below.sum())
    kept = torch.zeros(1001, dtype=torch.bool)
    kept[plan.kept_indices] = True
    # above-threshold samples are never pruned and keep weight 1
    assert bool(kept[~below].all())
    assert torch.equal(plan.weights[~below], torch.ones(int((~below).sum())))
    # exactly floor(ratio * n_below) below-threshold samples are pruned
    assert plan.num_pruned == math.floor(0.5 * num_below)
    assert int((kept & below).sum()) == num_below - math.floor(0.5 * num_below)
    # kept below-threshold samples get n_below / kept_below (exactly the
    # band's size in total), pruned ones 0
    kept_below = num_below - math.floor(0.5 * num_below)
    torch.testing.assert_close(plan.weights[kept & below],
                               torch.full((kept_below, ),
                                          num_below / kept_below))
    assert float(plan.weights[below].sum()) == pytest.approx(num_below)
    assert bool((plan.weights[~kept] == 0).all())
    assert plan.num_kept == expected_num_kept(table, MEAN_HALF)
    assert torch.equal(plan.kept_indices, plan.kept_indices.sort().values)


def test_fraction_pruned_is_ratio_statistically():
    """Each below-mean sample is kept with probability 1 - ratio."""
    scores = torch.rand(400, generator=torch.Generator().manual_seed(1))
    table = seen_table(scores)
    policy = PruningSettings(ratios=(0.3, ))
    below = scores < scores.mean()
    kept_counts = torch.zeros(400)
    epochs = 300
    for epoch in range(epochs):
        plan = plan_pass(table, policy, epoch, 10_000, seed=7)
        kept_counts[plan.kept_indices] += 1
    keep_rate = kept_counts[below] / epochs
    # per-sample keep rate ~ Binomial(300, 0.7)/300: sd ~0.026
    assert abs(float(keep_rate.mean()) - 0.7) < 0.01
    assert float((keep_rate - 0.7).abs().max()) < 0.15
    assert bool((kept_counts[~below] == epochs).all())


def test_quantile_bands_prune_per_band():
    scores = torch.arange(1000, dtype=torch.float32)
    table = seen_table(scores)
    policy = PruningSettings(
        ratios=(0.75, 0.5), threshold='quantile', quantiles=(0.2, 0.85))
    plan = plan_pass(table, policy, 1, 10, seed=0)
    low, mid, top = scores < plan.thresholds[0], \
        (scores >= plan.thresholds[0]) & (scores < plan.thresholds[1]), \
        scores >= plan.thresholds[1]
    kept = torch.zeros(1000, dtype=torch.bool)
    kept[plan.kept_indices] = True
    assert int(low.sum()) == 200 and int(top.sum()) == 150
    assert int((kept & low).sum()) == 200 - 150
    assert int((kept & mid).sum()) == 650 - 325
    assert bool(kept[top].all())
    assert set(plan.weights[kept & low].tolist()) == {4.0}
    assert set(plan.weights[kept & mid].tolist()) == {2.0}
    assert set(plan.weights[top].tolist()) == {1.0}
    assert plan.num_kept == expected_num_kept(table, policy)


def test_ratio_zero_keeps_everything():
    table = seen_table(torch.rand(64))
    plan = plan_pass(table, PruningSettings(ratios=(0.0, )), 2, 10, seed=0)
    assert plan.num_kept == 64 and torch.equal(plan.weights, torch.ones(64))


def test_same_seed_same_plan_and_global_rng_untouched():
    table = seen_table(torch.rand(500, generator=torch.Generator()
                                  .manual_seed(2)))
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    a = plan_pass(table, MEAN_HALF, 3, 10, seed=11)
    b = plan_pass(table, MEAN_HALF, 3, 10, seed=11)
    assert torch.equal(a.kept_indices, b.kept_indices)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)
    other_epoch = plan_pass(table, MEAN_HALF, 4, 10, seed=11)
    other_seed = plan_pass(table, MEAN_HALF, 3, 10, seed=12)
    assert not torch.equal(a.kept_indices, other_epoch.kept_indices)
    assert not torch.equal(a.kept_indices, other_seed.kept_indices)
    assert derive_seed(11, 3) != derive_seed(3, 11)


@pytest.mark.parametrize('threshold,extra', [
    ('mean', {}),
    ('quantile', dict(quantiles=(0.3, 0.8))),
])
def test_rescale_false_changes_only_the_weights(threshold, extra):
    ratios = (0.5, ) if threshold == 'mean' else (0.6, 0.4)
    table = seen_table(torch.rand(1000))
    on = plan_pass(table, PruningSettings(ratios, threshold=threshold,
                                          **extra), 1, 10, seed=3)
    off = plan_pass(table, PruningSettings(ratios, threshold=threshold,
                                           rescale=False, **extra),
                    1, 10, seed=3)
    assert torch.equal(on.kept_indices, off.kept_indices)
    assert on.weights.max() > 1
    assert set(off.weights[off.kept_indices].tolist()) == {1.0}


def test_random_policy_prunes_infobatch_count_uniformly_and_seeded():
    scores = torch.rand(2000)
    table = seen_table(scores)
    infobatch = PruningSettings((0.5, ))
    ib = plan_pass(table, infobatch, 1, 10, seed=1)
    rnd = plan_pass(table, infobatch, 1, 10, seed=1, draw=draw_uniform)
    assert rnd.num_kept == ib.num_kept == expected_num_kept(table, infobatch)
    pruned = torch.ones(2000, dtype=torch.bool)
    pruned[rnd.kept_indices] = False
    # InfoBatch prunes only below the mean; random also above it
    mean = scores.mean()
    assert bool((scores[pruned] >= mean).any())
    assert not bool((scores[ib.weights == 0] >= mean).any())
    # one weight for the kept scored samples: n_scored / n_kept
    assert torch.allclose(rnd.weights[rnd.kept_indices],
                          torch.tensor(2000 / rnd.num_kept))
    again = plan_pass(table, infobatch, 1, 10, seed=1, draw=draw_uniform)
    other = plan_pass(table, infobatch, 1, 10, seed=2, draw=draw_uniform)
    assert torch.equal(again.kept_indices, rnd.kept_indices)
    assert not torch.equal(other.kept_indices, rnd.kept_indices)
    plain = plan_pass(table, PruningSettings((0.5, ), rescale=False), 1, 10,
                      seed=1, draw=draw_uniform)
    assert set(plain.weights[plain.kept_indices].tolist()) == {1.0}


def test_random_policy_never_prunes_unseen_samples():
    table = ScoreTable(100)
    table.update(torch.arange(50), torch.rand(50))
    plan = plan_pass(table, PruningSettings((0.5, )), 1, 10, seed=0,
                     draw=draw_uniform)
    assert set(range(50, 100)) <= set(plan.kept_indices.tolist())
    assert bool((plan.weights[50:] == 1).all())


@pytest.mark.parametrize('world_size,round_up', [(1, True), (2, True),
                                                 (3, False)])
def test_layout_avoids_a_last_batch_of_one(world_size, round_up):
    layout = BatchLayout(batch_size=8, world_size=world_size,
                         round_up=round_up)
    for n in range(40, 120):
        table = seen_table(torch.linspace(0, 1, n))
        plan = plan_pass(table, MEAN_HALF, 1, 10, seed=n, layout=layout)
        assert not layout.has_batch_of_one(plan.num_kept), n
        assert plan.num_kept == expected_num_kept(table, MEAN_HALF,
                                                  layout=layout)
        plain = plan_pass(table, MEAN_HALF, 1, 10, seed=n)
        assert 0 <= plan.num_kept - plain.num_kept <= world_size * 8
        # the weights follow the final counts: each band sums to its size
        below = table.scores < plan.thresholds[0]
        assert float(plan.weights[below].sum()) == pytest.approx(
            int(below.sum()), rel=1e-5)
        assert bool((plan.weights[~below] == 1).all())


def test_layout_with_drop_last_changes_nothing():
    table = seen_table(torch.linspace(0, 1, 18))  # 9 below -> 4 pruned -> 14
    layout = BatchLayout(batch_size=13, drop_last=True)
    assert plan_pass(table, MEAN_HALF, 1, 10, 0, layout).num_kept == 14
    assert BatchLayout(batch_size=13).has_batch_of_one(14)


def test_rank_share_matches_defaultsampler_sharding(monkeypatch):
    """The per-rank count is what MMEngine's DefaultSampler yields."""
    import mmengine.dataset.sampler as mmengine_sampler

    from mmib.core import rank_share
    for n in (1, 7, 10, 23):
        for world in (1, 2, 3):
            for rank in range(world):
                monkeypatch.setattr(mmengine_sampler, 'get_dist_info',
                                    lambda: (rank, world))
                for round_up in (True, False):
                    sampler = mmengine_sampler.DefaultSampler(
                        list(range(n)), seed=0, round_up=round_up)
                    assert rank_share(n, world, rank, round_up) == len(
                        list(iter(sampler))), (n, world, rank, round_up)
