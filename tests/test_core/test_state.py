"""Unit tests of the framework-free clock, ledger, snapshot and baselines."""
import io
import math

import pytest
import torch

from mmib.core import (InfoBatchOptions, InfoBatchSnapshot, PassClock,
                       PassGeometry, PassPlan, PruningSettings,
                       SavingsLedger, ScoreTable, draw_uniform,
                       expected_num_kept, full_data_steps, plan_pass)
from mmib.core.state import STATE_VERSION


def seen_table(scores) -> ScoreTable:
    scores = torch.as_tensor(scores, dtype=torch.float32)
    table = ScoreTable(scores.numel())
    table.update(torch.arange(scores.numel()), scores)
    return table


# -- the pass clock ------------------------------------------------------------
def test_clock_covers_full_pass_and_stops_at_target():
    clock = PassClock()
    steps = [clock.step(7, 10, target=25) for _ in range(7)]
    assert sum(steps) == 10 and min(steps) >= 1
    assert clock.full_iters == 10 and clock.pass_iter == 7
    clock.reset_to_pass(1)
    assert (clock.pass_index, clock.pass_iter, clock.full_iters) == (1, 0, 10)
    clock.full_iters = 24
    assert clock.step(7, 10, target=25) == 1
    assert clock.step(7, 10, target=25) == 0  # never past the target
    assert clock.full_iters == 25


def test_clock_end_in_pass_and_remaining_iters():
    clock = PassClock(pass_index=3, pass_iter=2, full_iters=32)
    # pass started at 32 - floor(2 * 10 / 5) = 28; 35 is 7 full steps on
    assert clock.pass_start_full_iters(5, 10) == 28
    assert clock.end_in_pass(35, 5, 10) == 4  # ceil(7 * 5 / 10)
    assert full_data_steps(4, 5, 10) >= 7
    assert clock.end_in_pass(50, 5, 10) is None
    # 3 iterations left in this pass; after it 38 of 80 covered: 4.2
    # passes left, 2 of them pruning (at half length), 2.2 full
    remaining = clock.remaining_iters(5, 10, 80, pruning_passes=6,
                                      pass_is_pruned=True)
    assert remaining == 3 + math.ceil((2 * 0.5 + 2.2) * 10)


def test_clock_state_round_trip_is_plain():
    clock = PassClock(2, 5, 300, 1, 77)
    state = clock.state_dict()
    assert all(type(v) is int for v in state.values())
    other = PassClock()
    other.load_state_dict(state)
    assert other == clock


# -- the savings ledger ------------------------------------------------------
def test_ledger_counts_and_savings():
    ledger = SavingsLedger()
    for _ in range(3):
        ledger.record_step(32, 0, 2)
    ledger.record_step(4, 2, 1)
    ledger.unscored += 1
    ledger.end_pass()
    s = ledger.savings(num_samples=200)
    assert s['samples_trained'] == 100 and s['padding_samples'] == 2
    assert s['samples_full'] == 200 and s['saved_samples'] == 0.5
    assert s['iters_trained'] == 4 and s['iters_full'] == 7
    assert s['saved_iters'] == pytest.approx(1 - 4 / 7)
    assert ledger.unscored == 1
    half = ledger.savings(num_samples=200, current_pass_fraction=0.5)
    assert half['samples_full'] == 300
    other = SavingsLedger()
    other.load_state_dict(ledger.state_dict())
    assert other == ledger
    assert SavingsLedger().savings(0)['saved_samples'] == 0.0


# -- the snapshot ------------------------------------------------------------
def _snapshot() -> InfoBatchSnapshot:
    table = seen_table(torch.linspace(0, 1, 20) ** 2)
    plan = plan_pass(table, PruningSettings(ratios=(0.5, )), 1, 8, seed=0)
    return InfoBatchSnapshot(
        table=table.state_dict(),
        clock=PassClock(1, 3, 40, 0, 23),
        ledger=SavingsLedger(55, 0, 9, 23, 1, 0),
        plan=plan,
        ratios=(0.5, ),
        layout=dict(num_samples=20, batch_size=4, world_size=1),
        rng=dict(torch=torch.get_rng_state(), python=dict(
            version=3, state=[1, 2, 3], gauss=None)))


def test_snapshot_is_versioned_plain_data_loading_with_weights_only():
    state = _snapshot().to_dict()
    assert state['version'] == STATE_VERSION
    blob = io.BytesIO()
    torch.save(state, blob)
    blob.seek(0)
    loaded = torch.load(blob, weights_only=True)  # torch's default list
    back = InfoBatchSnapshot.from_dict(loaded)
    original = _snapshot()
    assert back.clock == original.clock and back.ledger == original.ledger
    assert torch.equal(back.plan.kept_indices, original.plan.kept_indices)
    assert torch.equal(back.plan.weights, original.plan.weights)
    assert back.ratios == (0.5, ) and back.layout['batch_size'] == 4


def test_snapshot_rejects_unknown_version_with_a_way_out():
    state = _snapshot().to_dict()
    state['version'] = 99
    with pytest.raises(ValueError, match='version 99.*without --resume'):
        InfoBatchSnapshot.from_dict(state)


# -- baselines: rescale=False and random pruning ------------------------------
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


@pytest.mark.parametrize('kwargs,match', [
    (dict(ratios=('0.5', )), r"ratio='0.5' must be a number"),
    (dict(ratios=(True, )), r'ratio=True must be a number'),
    (dict(ratios=(0.5, ), delta='1'), r"delta='1' must be a number"),
    (dict(ratios=(0.5, ), rescale='no'), r"rescale='no' must be True"),
])
def test_bad_settings_name_the_setting(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PruningSettings(**kwargs)


def test_pass_plan_fields_survive_plain_round_trip():
    from mmib.core.state import plan_from_dict, plan_to_dict
    plan = PassPlan(3, torch.tensor([0, 2]), torch.tensor([2., 0., 1.]),
                    torch.tensor([0.5]), False)
    back = plan_from_dict(plan_to_dict(plan))
    assert back.pass_index == 3 and back.num_kept == 2 and not back.annealing


# -- validation: every field, every time -----------------------------------
@pytest.mark.parametrize('path, value, field', [
    (('ledger', 'samples_trained'), -1, 'ledger.samples_trained'),
    (('clock', 'pass_iter'), 'two', 'clock.pass_iter'),
    (('table', 'counts'), torch.full((20, ), -1, dtype=torch.int32),
     'table.counts'),
    (('table', 'stamps'), torch.zeros(20, dtype=torch.int32),
     'table.stamps'),
    (('table', 'seen'), torch.ones(10, dtype=torch.bool), 'table.seen'),
])
def test_a_changed_data_set_does_not_skip_the_checks(path, value, field):
    """The state of a 20-sample run resumed on 30 samples: the resume plan
    handles the new size, but only after every field was checked."""
    from mmib.core.validation import StateError, validate_state
    state = _snapshot().to_dict()
    state['rng'] = None  # the snapshot's stand-in RNG state is not real
    validate_state(state, num_samples=30, max_passes=8)  # sound: passes
    state[path[0]][path[1]] = value
    with pytest.raises(StateError, match=field.replace('.', r'\.')):
        validate_state(state, num_samples=30, max_passes=8)


def test_a_policys_plan_is_checked_with_its_name():
    from mmib.core import PassPlanner, PassPolicy, register_policy
    from mmib.core.policies import POLICIES

    @register_policy('bad_plan_test', force=True)
    class BadPlan(PassPolicy):
        kept = torch.tensor([3, 1])

        def plan(self, table, pass_index, num_passes, seed, layout=None):
            weights = torch.zeros(len(table))
            weights[self.kept.clamp(max=len(table) - 1)] = 1.0
            return PassPlan(pass_index, self.kept, weights, torch.empty(0),
                            False)

    try:
        planner = InfoBatchOptions(policy='bad_plan_test').planner
        table = seen_table(torch.rand(5))
        geometry = PassGeometry(1, 4, 0.875)
        with pytest.raises(ValueError, match=r"policy='bad_plan_test' "
                           'returned a plan with repeated or unsorted'):
            planner.plan(table, 1, geometry, 0, 0)
        BadPlan.kept = torch.tensor([1, 7])
        with pytest.raises(ValueError, match=r'indices in \[1, 7\]'):
            planner.plan(table, 1, geometry, 0, 0)
    finally:
        POLICIES.pop('bad_plan_test', None)


def test_bounds_are_those_of_this_run_and_this_policy():
    """Counters bounded by the run's schedule, weights by what the policy
    the plan was made with can give."""
    from mmib.core.setting_changes import run_settings
    from mmib.core.validation import StateError, validate_state
    state = _snapshot().to_dict()
    state['rng'] = None
    state['settings'] = run_settings(policy='infobatch', ratio=0.5,
                                     rescale=True, target_saving=None)
    validate_state(state, max_passes=8, max_full_iters=45)
    for path, value, field in (
            (('clock', 'full_iters'), 8000, 'clock.full_iters'),
            (('ledger', 'iters_full'), 46, 'ledger.iters_full'),
            (('ledger', 'passes_done'), 9, 'ledger.passes_done')):
        bad = _snapshot().to_dict()
        bad['rng'], bad['settings'] = None, state['settings']
        bad[path[0]][path[1]] = value
        with pytest.raises(StateError, match=field.replace('.', r'\.')):
            validate_state(bad, max_passes=8, max_full_iters=45)
    # a kept weight of 10 where InfoBatch at ratio 0.5 gives at most 2
    heavy = _snapshot().to_dict()
    heavy['rng'], heavy['settings'] = None, state['settings']
    kept = heavy['plan']['kept_indices']
    heavy['plan']['weights'][kept[0]] = 10.0
    with pytest.raises(StateError, match=r"weights <= 2 \(what "
                       r"policy='infobatch' gives"):
        validate_state(heavy, max_passes=8)
    # the settings the plan was made with decide (a pass resumed with a
    # new ratio keeps its old plan)
    heavy['plan']['weights'][kept[0]] = 1.5
    heavy['settings'] = run_settings(policy='infobatch', ratio=0.2,
                                     rescale=True, target_saving=None)
    heavy['plan_settings'] = state['settings']
    validate_state(heavy, max_passes=8)
    del heavy['plan_settings']
    with pytest.raises(StateError, match='weights <= 1.25'):
        validate_state(heavy, max_passes=8)


@pytest.mark.parametrize('quantiles, match', [
    (0.5, r'quantiles=0\.5 must be a list'),
    (['a'], r"quantiles=\['a'\] holds 'a': each quantile is a number"),
    ([True], r'holds True'),
])
def test_quantiles_that_are_not_numbers_are_named(quantiles, match):
    with pytest.raises(ValueError, match=match):
        InfoBatchOptions(ratio=[0.5], threshold='quantile',
                         quantiles=quantiles)


@pytest.mark.parametrize('value', [
    torch.zeros(20, device='meta'),
    torch.zeros(20, requires_grad=True),
])
def test_scores_that_are_not_plain_values_are_named(value):
    from mmib.core.validation import StateError, validate_state
    state = _snapshot().to_dict()
    state['rng'] = None
    state['table']['scores'] = value
    with pytest.raises(StateError, match=r'table\.scores = .*plain tensor'):
        validate_state(state)


def test_a_position_past_the_end_of_its_pass_is_named():
    from mmib.core.validation import StateError, validate_state
    state = _snapshot().to_dict()  # 20 samples in batches of 4
    state['rng'] = None
    kept = state['plan']['kept_indices'].numel()
    state['clock']['pass_iter'] = 3 * -(-kept // 4) + 1
    with pytest.raises(StateError, match=r'clock\.pass_iter'):
        validate_state(state)
