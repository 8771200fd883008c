"""Pass policies on synthetic scores (plain tensors): the registry,
InfoBatch, random, SeTa, soft random, OrderDP, RePB."""
import math

import pytest
import torch

from mmib.core import (POLICIES, PassPlan, PassPolicy, PruningSettings,
                       ScoreTable, build_policy, draw_in_bands, draw_uniform,
                       kmeans_1d, plan_pass, register_policy)

from core_tables import seen_table, spread_table


def _stamped_table(scores, passes, steps, counts):
    from mmib.core import score_stamp
    table = ScoreTable(len(scores))
    stamps = torch.tensor([score_stamp(p, s) for p, s in zip(passes, steps)])
    table.update(torch.arange(len(scores)), torch.as_tensor(scores), stamps)
    table.counts = torch.as_tensor(counts, dtype=torch.int32)
    return table


def seta(ratio=0.3, **options):
    return build_policy('seta', PruningSettings(ratios=(ratio, )), options)


def test_the_four_policies_are_registered_and_unknown_names_are_named():
    assert {'infobatch', 'random', 'seta', 'soft_random'} <= set(POLICIES)
    with pytest.raises(ValueError, match=r"policy='nope' is not supported"):
        build_policy('nope', PruningSettings(ratios=(0.5, )))
    with pytest.raises(ValueError, match='takes no policy_options'):
        build_policy('infobatch', PruningSettings(ratios=(0.5, )),
                     dict(num_groups=3))


def test_a_user_policy_registers_and_builds():
    @register_policy('keep_top_half_test', force=True)
    class KeepTopHalf(PassPolicy):
        def plan(self, table, pass_index, num_passes, seed, layout=None):
            keep = torch.argsort(table.scores)[len(table) // 2:]
            weights = torch.zeros(len(table))
            weights[keep] = 1.0
            return PassPlan(
                pass_index, torch.sort(keep)[0], weights, torch.empty(0),
                False)

    policy = build_policy('keep_top_half_test', PruningSettings(ratios=(0.5, )))
    plan = policy.plan(spread_table(10), 1, 4, 0)
    assert plan.num_kept == 5
    with pytest.raises(KeyError, match='registered already'):
        register_policy('keep_top_half_test')(KeepTopHalf)
    del POLICIES['keep_top_half_test']


def test_infobatch_and_random_policies_are_plan_pass():
    table = spread_table()
    for name, draw in (('infobatch', draw_in_bands),
                       ('random', draw_uniform)):
        a = build_policy(name, PruningSettings(ratios=(0.5, ))).plan(
            table, 1, 8, 3)
        b = plan_pass(table, PruningSettings(ratios=(0.5, )), 1, 8, 3,
                      draw=draw)
        assert torch.equal(a.kept_indices, b.kept_indices)
        assert torch.equal(a.weights, b.weights)


def test_kmeans_1d_orders_groups_by_centre():
    values = torch.cat([torch.full((5, ), 9.0), torch.full((4, ), 0.0),
                        torch.full((3, ), 4.0)])
    assert kmeans_1d(values, 3).tolist() == [2] * 5 + [0] * 4 + [1] * 3


def test_seta_subsample_then_a_window_sliding_easy_to_hard():
    table = spread_table()
    policy = seta(0.3, num_groups=5, window_scale=0.9)  # window 4, slide 1
    assert policy.window == 4
    unseen = ScoreTable(1000)
    assert seta().plan(unseen, 0, 10, 0).num_kept == 1000  # nothing scored
    first = policy.plan(table, 1, 10, 0)  # k = 0: the whole subsample
    assert first.num_kept == 700
    assert torch.equal(first.weights[first.kept_indices], torch.ones(700))
    second = policy.plan(table, 2, 10, 0)  # k = 1: groups 1-4 (no easiest)
    third = policy.plan(table, 3, 10, 0)  # k = 2: groups 0-3 (no hardest)
    assert 400 < second.num_kept < 700 and 400 < third.num_kept < 700
    assert table.scores[second.kept_indices].min() > 0.5  # easy ones out
    assert table.scores[third.kept_indices].max() < 3.5  # hard ones out
    # annealing: a random 1 - ratio of the data, weight 1 (partial)
    last = policy.plan(table, 9, 10, 0)
    assert last.annealing and last.num_kept == 700
    # deterministic and global random state untouched
    state = torch.get_rng_state()
    again = policy.plan(table, 2, 10, 0)
    assert torch.equal(again.kept_indices, second.kept_indices)
    assert torch.equal(torch.get_rng_state(), state)


def test_seta_options_are_checked():
    with pytest.raises(ValueError, match='num_groups=0'):
        seta(num_groups=0)
    with pytest.raises(ValueError, match='window_scale=1.5'):
        seta(window_scale=1.5)
    assert not seta(0.0, window_scale=1.0).prunes  # ratio 0: the plain run


@pytest.mark.parametrize('rescale', [True, False])
def test_soft_random_draws_with_replacement(rescale):
    table = spread_table(2000)
    pruning = PruningSettings(ratios=(0.5, ), rescale=rescale)
    plan = build_policy('soft_random', pruning).plan(table, 1, 8, 5)
    distinct = plan.num_kept  # -N ln(0.5) draws: about N / 2 distinct
    assert abs(distinct - 1000) < 60
    weights = plan.weights[plan.kept_indices]
    if rescale:  # the expected gradient of a full pass
        assert float(plan.weights.sum()) == pytest.approx(2000)
    else:  # one weight per draw
        assert float(weights.sum()) == round(-2000 * math.log(0.5))
        assert torch.equal(weights, weights.round())
    assert build_policy('soft_random', pruning).plan(table, 7, 8, 5).annealing


@pytest.mark.parametrize('name', ['infobatch', 'random', 'seta',
                                  'soft_random'])
def test_each_policy_keeps_about_the_budget_count(name):
    table = spread_table(2000)
    policy = build_policy(name, PruningSettings(ratios=(0.5, )))
    # InfoBatch prunes only below the mean; SeTa's window drops a group
    for kept in ((1100, 1500) if name == 'seta' else (1100, 1500, 1900)):
        for pass_index in (1, 2):  # SeTa: no window, then a window
            ratios = policy.ratios_for(table, kept, pass_index)
            plan = policy.with_ratios(ratios).plan(table, pass_index, 10, 0)
            tolerance = 0.08 if name in ('soft_random', 'seta') else 0.01
            assert abs(plan.num_kept - kept) <= tolerance * 2000, (
                name, kept, pass_index, plan.num_kept)


def test_orderdp_trains_the_top_of_a_random_pool():
    table = spread_table(1000)
    policy = build_policy('orderdp', PruningSettings(ratios=(0.4, )),
                          dict(pool_ratio=0.75))
    plan = policy.plan(table, 1, 10, seed=3)
    # exactly q = N - floor(0.4 N) samples, weight 1, saving exactly 40%
    assert plan.num_kept == 600
    assert torch.equal(plan.weights[plan.kept_indices], torch.ones(600))
    assert float(plan.weights.sum()) == 600
    # the kept are the top 600 of a pool of 750: a sample scoring above the
    # lowest kept one and not kept was not pooled (at most 1000 - 750)
    kept = torch.zeros(1000, dtype=torch.bool)
    kept[plan.kept_indices] = True
    lowest_kept = table.scores[kept].min()
    assert 0 < int(((table.scores > lowest_kept) & ~kept).sum()) <= 250
    assert table.scores[plan.kept_indices].mean() > table.scores.mean()
    # the pool is random: another pass (seed) keeps another set, and some
    # low-score samples are kept (a pure top-k would keep none below it)
    other = policy.plan(table, 2, 10, seed=3)
    assert not torch.equal(plan.kept_indices, other.kept_indices)
    order = torch.argsort(table.scores, descending=True)
    assert not torch.equal(plan.kept_indices.sort()[0],
                           order[:600].sort()[0])
    # no annealing: every pass prunes, delta does not stop it
    late = policy.plan(table, 9, 10, seed=3)
    assert late.num_kept == 600 and not late.annealing
    assert policy.shortened_passes(10) == 10


def test_orderdp_pool_of_the_kept_count_is_a_uniform_subset():
    table = spread_table(1000)
    policy = build_policy('orderdp', PruningSettings(ratios=(0.5, )),
                          dict(pool_ratio=0.2))  # q = 500 > s = 200
    plan = policy.plan(table, 1, 10, seed=0)
    assert plan.num_kept == 500
    # a uniform subset: its mean score is near the whole set's
    assert abs(float(table.scores[plan.kept_indices].mean() -
                     table.scores.mean())) < 0.2


def test_orderdp_options_and_budget_ratio_are_checked():
    with pytest.raises(ValueError, match='pool_ratio=1.5'):
        build_policy('orderdp', PruningSettings(ratios=(0.5, )),
                     dict(pool_ratio=1.5))
    with pytest.raises(ValueError, match="policy='orderdp' takes one ratio"):
        build_policy('orderdp', PruningSettings(
            ratios=(0.5, 0.5), threshold='quantile', quantiles=(0.2, 0.8)))
    policy = build_policy('orderdp', PruningSettings(ratios=(0.5, )))
    assert policy.ratios_for(spread_table(100), 70) == pytest.approx((0.3, ))
    # unseen samples are always trained: the first pass trains everything
    assert policy.plan(ScoreTable(50), 0, 10, 0).num_kept == 50


@pytest.mark.parametrize('name, pruning, groups', [
    ('infobatch', PruningSettings(ratios=(0.5, )), 'bands'),
    ('infobatch', PruningSettings(ratios=(0.75, 0.5), threshold='quantile',
                                  quantiles=(0.2, 0.85)), 'bands'),
    ('infobatch', PruningSettings(ratios=(0.95, )), 'bands'),
    ('random', PruningSettings(ratios=(0.5, )), 'scored'),
    ('soft_random', PruningSettings(ratios=(0.5, )), 'all'),
])
def test_every_rescaling_policy_keeps_each_groups_weight(name, pruning,
                                                         groups):
    """The kept samples of each band (group) weigh as much as the whole
    band: sum of weights == band size, for odd band sizes too (InfoBatch's
    1 / (1 - ratio) would give a band of 3 at ratio 0.5 the weight 4/3)."""
    from mmib.core.plan import bands_of as _bands
    for n, seed in ((7, 0), (101, 1), (1000, 2)):
        table = spread_table(n, seed)
        plan = build_policy(name, pruning).plan(table, 1, 10, seed)
        if groups == 'bands':
            _, labels = _bands(table, pruning)
        else:
            labels = torch.zeros(n, dtype=torch.long)
        for band in labels.unique():
            members = labels == band
            assert float(plan.weights[members].sum()) == pytest.approx(
                int(members.sum()), rel=1e-5), (name, n, int(band))
    # a band of 3 at ratio 0.5: one pruned, the two kept weigh 3/2 each
    table = seen_table([0.0, 0.1, 0.2, 5.0])
    plan = plan_pass(table, PruningSettings(ratios=(0.5, )), 1, 10, seed=0)
    assert sorted(plan.weights.tolist()) == [0.0, 1.0, 1.5, 1.5]


def test_repb_compares_scores_only_within_their_window():
    # pass 1 scored samples 0-7 in two windows of 2 steps; samples 8, 9
    # were last scored in pass 0 (stale)
    scores = [1, 2, 3, 4, 10, 20, 30, 40, 0.1, 99]
    table = _stamped_table(scores, [1] * 8 + [0, 0],
                           [0, 0, 1, 1, 2, 2, 3, 3, 5, 6], [2] * 8 + [1, 1])
    policy = build_policy('repb', PruningSettings(ratios=(0.5, )),
                          dict(window=2))
    below, stale = policy.candidates(table, pass_index=2)
    # window 1 mean 2.5: samples 0, 1; window 2 mean 25: samples 4, 5 (10
    # and 20 are far above the global mean of the fresh scores' 0-7 but
    # below their own window's); the stale ones are not compared
    assert sorted(below.tolist()) == [0, 1, 4, 5]
    assert sorted(stale.tolist()) == [8, 9]
    plan = policy.plan(table, 2, 10, seed=0)
    # floor(0.5 * 4) of the below ones and floor(0.5 * 2) of the stale
    assert plan.num_kept == 10 - 2 - 1
    pruned = set(range(10)) - set(plan.kept_indices.tolist())
    assert len(pruned & {0, 1, 4, 5}) == 2 and len(pruned & {8, 9}) == 1
    # E = 3 passes; fresh samples were trained twice before: 3 / 3; a
    # stale one trained once before: 3 / 2
    weights = plan.weights
    assert all(weights[i] == 1.0 for i in range(8) if i not in pruned)
    assert [float(weights[i]) for i in (8, 9) if i not in pruned] == [1.5]


def test_repb_weights_ratio_zero_budget_and_annealing():
    table = _stamped_table([1.0, 2.0, 3.0, 4.0], [0] * 4, [0, 0, 1, 1],
                           [1] * 4)
    off = build_policy('repb', PruningSettings(ratios=(0.5, ), rescale=False))
    plan = off.plan(table, 1, 10, seed=0)
    assert bool((plan.weights[plan.kept_indices] == 1).all())
    zero = build_policy('repb', PruningSettings(ratios=(0.0, )))
    assert zero.plan(table, 1, 10, 0).num_kept == 4
    policy = build_policy('repb', PruningSettings(ratios=(0.5, ), delta=0.5))
    assert policy.plan(table, 5, 10, 0).annealing  # pass 6 of 10 anneals
    # the budget's ratio prunes N - kept of the candidates (2 below their
    # window's mean), at most 0.95
    assert policy.ratios_for(table, 3, pass_index=1) == (0.5, )
    assert policy.ratios_for(table, 0, pass_index=1) == (0.95, )
    with pytest.raises(ValueError, match='window=0'):
        build_policy('repb', PruningSettings(ratios=(0.5, )), dict(window=0))
