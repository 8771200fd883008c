"""Unit tests of the framework-free pruning maths (plain tensors)."""
import math

import numpy as np
import pytest
import torch

from mmib.core import (BatchLayout, PruningSettings, ScoreTable, derive_seed,
                       expected_num_kept, full_data_steps,
                       num_pruning_passes, pass_statistics, plan_pass,
                       scheduler_steps_for_iter, score_histogram)


def seen_table(scores) -> ScoreTable:
    scores = torch.as_tensor(scores, dtype=torch.float32)
    table = ScoreTable(scores.numel())
    table.update(torch.arange(scores.numel()), scores)
    return table


MEAN_HALF = PruningSettings(ratios=(0.5, ))


# -- policy validation --------------------------------------------------------
@pytest.mark.parametrize('ratio', [-0.1, 1.0, 1.5, float('nan')])
def test_ratio_outside_range_names_the_setting(ratio):
    with pytest.raises(ValueError, match=r'ratio=.*outside \[0, 1\)'):
        PruningSettings(ratios=(ratio, ))


@pytest.mark.parametrize('delta', [0.0, -0.5, 1.01])
def test_delta_outside_range_names_the_setting(delta):
    with pytest.raises(ValueError, match=r'delta=.*outside \(0, 1\]'):
        PruningSettings(ratios=(0.5, ), delta=delta)


def test_quantile_lists_of_unequal_length():
    with pytest.raises(ValueError, match='quantiles=.*ratio=.*same length'):
        PruningSettings(
            ratios=(0.75, 0.5), threshold='quantile', quantiles=(0.2, ))


def test_bad_threshold_and_quantiles():
    with pytest.raises(ValueError, match="threshold='median'"):
        PruningSettings(ratios=(0.5, ), threshold='median')
    with pytest.raises(ValueError, match='strictly increasing'):
        PruningSettings(
            ratios=(0.5, 0.5), threshold='quantile', quantiles=(0.8, 0.2))
    with pytest.raises(ValueError, match="takes one ratio"):
        PruningSettings(ratios=(0.5, 0.3))


def test_weights_are_inverse_keep_fraction():
    assert MEAN_HALF.weights == (2.0, )
    policy = PruningSettings(
        ratios=(0.75, 0.5), threshold='quantile', quantiles=(0.2, 0.85))
    assert policy.weights == (4.0, 2.0)


# -- annealing ---------------------------------------------------------------
@pytest.mark.parametrize('num_epochs,delta,expected', [(8, 0.875, 7),
                                                       (10, 0.875, 8),
                                                       (200, 0.875, 175),
                                                       (3, 1.0, 3),
                                                       (4, 0.5, 2),
                                                       (1, 0.875, 0)])
def test_num_pruning_passes_is_an_integer_floor(num_epochs, delta, expected):
    assert num_pruning_passes(num_epochs, delta) == expected


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


# -- thresholds, counts, weights ----------------------------------------------
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


# -- seeding -----------------------------------------------------------------
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


# -- score table -------------------------------------------------------------
def test_non_finite_losses_keep_the_previous_score():
    table = seen_table([1.0, 2.0, 3.0])
    rejected = table.update(
        torch.tensor([0, 1, 2]), torch.tensor([float('nan'), 5.0,
                                               float('inf')]))
    assert rejected == 2
    assert table.scores.tolist() == [1.0, 5.0, 3.0]


def test_score_table_state_round_trip_and_size_check():
    table = seen_table(torch.rand(10))
    other = ScoreTable(10)
    other.load_state_dict(table.state_dict())
    assert torch.equal(other.scores, table.scores)
    assert torch.equal(other.seen, table.seen)
    with pytest.raises(ValueError, match='scores for 10 samples'):
        ScoreTable(11).load_state_dict(table.state_dict())


def test_indices_above_float16_range_stay_exact():
    table = ScoreTable(100_000)
    indices = torch.tensor([2049, 65_537, 99_999])
    table.update(indices, torch.tensor([1.0, 2.0, 3.0]))
    assert torch.nonzero(table.seen).squeeze(1).tolist() == indices.tolist()


# -- the schedule clock --------------------------------------------------------
@pytest.mark.parametrize('pass_len,full_len', [(45, 45), (26, 45), (1, 7),
                                               (33, 100), (99, 100)])
def test_clock_covers_the_full_pass(pass_len, full_len):
    steps = [
        scheduler_steps_for_iter(i, pass_len, full_len)
        for i in range(pass_len)
    ]
    assert sum(steps) == full_len
    assert min(steps) >= 1
    assert full_data_steps(pass_len, pass_len, full_len) == full_len
    assert full_data_steps(0, pass_len, full_len) == 0


def test_clock_rejects_bad_positions():
    with pytest.raises(ValueError):
        full_data_steps(5, 4, 10)
    with pytest.raises(ValueError):
        full_data_steps(0, 0, 10)


# -- no one-sample batches ------------------------------------------------------
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


def test_score_momentum_averages_seen_scores():
    table = ScoreTable(3, momentum=0.5)
    table.update(torch.tensor([0, 1]), torch.tensor([4.0, 2.0]))
    table.update(torch.tensor([0, 2]), torch.tensor([2.0, 6.0]))
    # sample 0: 0.5 * 4 + 0.5 * 2; sample 2 was unseen: its loss
    assert table.scores.tolist() == [3.0, 2.0, 6.0]
    with pytest.raises(ValueError, match='score_momentum=1.0'):
        ScoreTable(3, momentum=1.0)


@pytest.mark.parametrize('pass_len,full_len', [(26, 45), (45, 45), (1, 7),
                                               (33, 100)])
def test_iterations_to_cover_is_the_first_iteration_reaching_the_steps(
        pass_len, full_len):
    from mmib.core import iterations_to_cover
    for steps in range(full_len + 2):
        j = iterations_to_cover(steps, pass_len, full_len)
        if steps > full_len:
            assert j is None
            continue
        assert full_data_steps(j, pass_len, full_len) >= steps
        assert j == 0 or full_data_steps(j - 1, pass_len, full_len) < steps


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


# -- pass statistics ----------------------------------------------------------
def test_pass_statistics_bands_split_at_the_mean():
    table = seen_table(torch.arange(10.))  # mean 4.5: 0..4 below
    plan = plan_pass(table, MEAN_HALF, 1, 8, seed=0)
    stats = pass_statistics(table, plan)
    assert stats['threshold_0'] == pytest.approx(4.5)
    assert stats['band0_kept'] + stats['band0_pruned'] == 5
    assert stats['band0_pruned'] == plan.num_pruned > 0
    assert (stats['band1_kept'], stats['band1_pruned']) == (5, 0)
    assert not [k for k in stats if 'hist' in k]


def test_score_histogram_counts_the_scored_samples_only():
    table = ScoreTable(6)
    assert score_histogram(table) is None
    table.update(torch.tensor([0, 1, 2, 3]), torch.tensor([0., 1., 1., 3.]))
    hist = score_histogram(table, bins=3)
    assert hist == dict(counts=[1.0, 2.0, 1.0], range=[0.0, 3.0])
    table = seen_table([2., 2.])  # one value: one full bin, no division by 0
    assert score_histogram(table, bins=4)['counts'] == [2.0, 0.0, 0.0, 0.0]
