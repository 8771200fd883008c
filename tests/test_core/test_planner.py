"""PassPlanner: the run's policy for each pass, with a savings budget's
count."""
import pytest
import torch

from mmib.core import (PassGeometry, PassPlanner, PruningSettings,
                       SavingsBudget, build_policy)

from core_tables import MEAN_HALF, spread_table

# 10 passes of 1,000 samples in 10 iterations each; 8 may prune
GEOMETRY = PassGeometry(full_pass_len=10, target_full_iters=100, delta=0.8)


def test_without_a_budget_the_policy_plans_alone():
    policy = build_policy('infobatch', MEAN_HALF)
    planner = PassPlanner(policy)
    table = spread_table()
    plan = planner.plan(table, 1, GEOMETRY, 1000, seed=3)
    alone = policy.plan(table, 1, GEOMETRY.num_passes, 3)
    assert torch.equal(plan.kept_indices, alone.kept_indices)
    assert torch.equal(plan.weights, alone.weights)
    assert planner.describe_target() == ''
    assert planner.shortfall(0.1) is None
    planner.check_run(10.0, num_repeats=4)  # nothing to check


def test_a_budget_sets_each_pass_to_its_share_of_what_is_left():
    planner = PassPlanner(build_policy('infobatch', MEAN_HALF),
                          SavingsBudget(0.3))
    table = spread_table()
    # 7,000 of 10,000 to train: 1,000 scored, 2,000 annealing: 4,000
    # left for passes 1..7
    plan = planner.plan(table, 1, GEOMETRY, 1000, seed=0)
    assert abs(plan.num_kept - 4000 / 7) <= 2
    # a run that trained more leaves less for each later pass
    later = planner.plan(table, 4, GEOMETRY, 1000 + 3 * 700, seed=0)
    assert later.num_kept < plan.num_kept
    assert planner.describe_target() == ' against a target saving of 30.0%'
    assert 'could not prune as many' in planner.shortfall(0.25)


def test_a_budget_that_cannot_be_followed_is_refused_before_training():
    with pytest.raises(ValueError, match='target_saving needs a ratio'):
        PassPlanner(build_policy('infobatch',
                                 PruningSettings(ratios=(0.0, ))),
                    SavingsBudget(0.3))
    planner = PassPlanner(build_policy('infobatch', MEAN_HALF),
                          SavingsBudget(0.4))
    with pytest.raises(ValueError, match="RepeatAugSampler's repeated"):
        planner.check_run(10.0, num_repeats=3)
    with pytest.raises(ValueError, match='cannot be reached'):
        PassPlanner(build_policy('infobatch', MEAN_HALF),
                    SavingsBudget(0.8)).check_run(10.0)
