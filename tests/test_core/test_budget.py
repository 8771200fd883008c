"""SavingsBudget: what is left of the saving, shared among the pruning
passes."""
import pytest

from mmib.core import SavingsBudget


def test_budget_shares_what_is_left_among_the_pruning_passes():
    budget = SavingsBudget(0.4)
    # 10 passes of 1000, 8 may prune: 6000 in all, 1000 for the scoring
    # pass and 2000 for the annealing ones: 3000 for passes 1-7
    assert budget.kept_for_pass(1, 1000, 10, 8, 1000) == round(3000 / 7)
    # a pass that kept more leaves less for the others
    assert budget.kept_for_pass(7, 1000, 10, 8, 1000 + 6 * 500) == 0 + 1
    budget.check(10, 8)
    with pytest.raises(ValueError, match=r'target_saving=0\.8 cannot be '
                       r'reached: .*at most 70\.0%'):
        SavingsBudget(0.8).check(10, 8)
    with pytest.raises(ValueError, match='target_saving=1.5 must be'):
        SavingsBudget(1.5)


def test_the_budget_warning_says_which_way_the_run_missed():
    from mmib.core import SavingsBudget
    budget = SavingsBudget(0.4)
    assert budget.shortfall(0.405) is None
    assert 'could not prune as many' in budget.shortfall(0.375)
    assert 'pruned more than' in budget.shortfall(0.446)
    # an iteration-based run's reference: max_iters * batch, not passes * N
    assert budget.kept_for_pass(1, 100, 4.0, 4, 100, full_samples=448) == \
        round((0.6 * 448 - 100) / 3)
