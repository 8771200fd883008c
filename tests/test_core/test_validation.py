"""validate_state: a checkpoint state checked field by field, named."""
import pytest
import torch

from mmib.core import InfoBatchOptions, PassGeometry, PassPlan

from core_tables import seen_table, snapshot


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
    state = snapshot().to_dict()
    state['rng'] = None  # the snapshot's stand-in RNG state is not real
    validate_state(state, num_samples=30, max_passes=8)  # sound: passes
    state[path[0]][path[1]] = value
    with pytest.raises(StateError, match=field.replace('.', r'\.')):
        validate_state(state, num_samples=30, max_passes=8)


def test_a_policys_plan_is_checked_with_its_name():
    from mmib.core import PassPolicy, register_policy
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
    state = snapshot().to_dict()
    state['rng'] = None
    state['settings'] = run_settings(policy='infobatch', ratio=0.5,
                                     rescale=True, target_saving=None)
    validate_state(state, max_passes=8, max_full_iters=45)
    for path, value, field in (
            (('clock', 'full_iters'), 8000, 'clock.full_iters'),
            (('ledger', 'iters_full'), 46, 'ledger.iters_full'),
            (('ledger', 'passes_done'), 9, 'ledger.passes_done')):
        bad = snapshot().to_dict()
        bad['rng'], bad['settings'] = None, state['settings']
        bad[path[0]][path[1]] = value
        with pytest.raises(StateError, match=field.replace('.', r'\.')):
            validate_state(bad, max_passes=8, max_full_iters=45)
    # a kept weight of 10 where InfoBatch at ratio 0.5 gives at most 2
    heavy = snapshot().to_dict()
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


@pytest.mark.parametrize('value', [
    torch.zeros(20, device='meta'),
    torch.zeros(20, requires_grad=True),
])
def test_scores_that_are_not_plain_values_are_named(value):
    from mmib.core.validation import StateError, validate_state
    state = snapshot().to_dict()
    state['rng'] = None
    state['table']['scores'] = value
    with pytest.raises(StateError, match=r'table\.scores = .*plain tensor'):
        validate_state(state)


def test_a_position_past_the_end_of_its_pass_is_named():
    from mmib.core.validation import StateError, validate_state
    state = snapshot().to_dict()  # 20 samples in batches of 4
    state['rng'] = None
    kept = state['plan']['kept_indices'].numel()
    state['clock']['pass_iter'] = 3 * -(-kept // 4) + 1
    with pytest.raises(StateError, match=r'clock\.pass_iter'):
        validate_state(state)
