"""InfoBatchOptions: the hook's options as one checked value."""
import pytest

from mmib.core import InfoBatchOptions


def test_options_build_the_planner_and_the_recorded_settings():
    options = InfoBatchOptions(ratio=0.3, policy='orderdp', scores='batch')
    assert options.planner.policy.name == 'orderdp'
    assert options.pruning.ratios == (0.3, )
    assert options.batch_scores and options.momentum == 0.7
    assert options.recorded['policy'] == 'orderdp'
    assert options.recorded['score_momentum'] == 0.7
    assert options.weight_warning is None
    assert 'ratio=0.96' in InfoBatchOptions(ratio=0.96).weight_warning


@pytest.mark.parametrize('kwargs,match', [
    (dict(ratio=1.5), r'ratio=1.5 is outside \[0, 1\)'),
    (dict(policy='nope'), r"policy='nope' is not supported"),
    (dict(scores='pixel'), r"scores='pixel' is not supported"),
    (dict(seed=1.5), r'seed=1.5 must be an integer'),
    (dict(unweighted_losses='loss_x'), r'unweighted_losses=.* must be a list'),
    (dict(target_saving=2), r'target_saving'),
    (dict(quantiles=0.5, threshold='quantile'), r'quantiles=0.5 must be a'),
])
def test_every_option_is_checked_in_one_place_with_its_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        InfoBatchOptions(**kwargs)


@pytest.mark.parametrize('quantiles, match', [
    (0.5, r'quantiles=0\.5 must be a list'),
    (['a'], r"quantiles=\['a'\] holds 'a': each quantile is a number"),
    ([True], r'holds True'),
])
def test_quantiles_that_are_not_numbers_are_named(quantiles, match):
    with pytest.raises(ValueError, match=match):
        InfoBatchOptions(ratio=[0.5], threshold='quantile',
                         quantiles=quantiles)
