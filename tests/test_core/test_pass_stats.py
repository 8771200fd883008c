"""The statistics of a pass: bands at the mean, score histogram."""
import pytest
import torch

from mmib.core import ScoreTable, pass_statistics, plan_pass, score_histogram

from core_tables import MEAN_HALF, seen_table


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
