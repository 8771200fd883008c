"""PruningSettings: the pruning settings checked and named, their weights."""
import pytest

from mmib.core import PruningSettings, num_pruning_passes

from core_tables import MEAN_HALF


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


@pytest.mark.parametrize('num_epochs,delta,expected', [(8, 0.875, 7),
                                                       (10, 0.875, 8),
                                                       (200, 0.875, 175),
                                                       (3, 1.0, 3),
                                                       (4, 0.5, 2),
                                                       (1, 0.875, 0)])
def test_num_pruning_passes_is_an_integer_floor(num_epochs, delta, expected):
    assert num_pruning_passes(num_epochs, delta) == expected


@pytest.mark.parametrize('kwargs,match', [
    (dict(ratios=('0.5', )), r"ratio='0.5' must be a number"),
    (dict(ratios=(True, )), r'ratio=True must be a number'),
    (dict(ratios=(0.5, ), delta='1'), r"delta='1' must be a number"),
    (dict(ratios=(0.5, ), rescale='no'), r"rescale='no' must be True"),
])
def test_bad_settings_name_the_setting(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PruningSettings(**kwargs)
