"""ScoreTable: the per-sample scores, their stamps, momentum and batch
scores."""
import pytest
import torch

from mmib.core import ScoreTable

from core_tables import seen_table


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


def test_score_momentum_averages_seen_scores():
    table = ScoreTable(3, momentum=0.5)
    table.update(torch.tensor([0, 1]), torch.tensor([4.0, 2.0]))
    table.update(torch.tensor([0, 2]), torch.tensor([2.0, 6.0]))
    # sample 0: 0.5 * 4 + 0.5 * 2; sample 2 was unseen: its loss
    assert table.scores.tolist() == [3.0, 2.0, 6.0]
    with pytest.raises(ValueError, match='score_momentum=1.0'):
        ScoreTable(3, momentum=1.0)


def test_batch_scores_average_from_zero_as_the_authors_do():
    from mmib.core import check_scores
    batch, momentum = check_scores('batch', None)
    assert batch and momentum == 0.7
    assert check_scores('sample', None) == (False, 0.0)
    with pytest.raises(ValueError, match="scores='pixel' is not supported"):
        check_scores('pixel', None)
    table = ScoreTable(3, momentum=0.7, from_zero=True)
    table.update(torch.tensor([0, 1]), torch.tensor([2.0, 2.0]))
    torch.testing.assert_close(table.scores, torch.tensor([0.6, 0.6, 0.0]))
    table.update(torch.tensor([0, 2]), torch.tensor([1.0, 1.0]))
    torch.testing.assert_close(table.scores,
                               torch.tensor([0.7 * 0.6 + 0.3, 0.6, 0.3]))
    assert table.seen.tolist() == [True, True, True]


def test_repeated_samples_get_the_mean_of_their_losses():
    table = ScoreTable(4)
    rejected = table.update(torch.tensor([1, 2, 1, 1, 3]),
                            torch.tensor([1.0, 5.0, 2.0, float('nan'), 4.0]))
    assert rejected == 1
    torch.testing.assert_close(table.scores, torch.tensor([0., 1.5, 5., 4.]))
    assert table.seen.tolist() == [False, True, True, True]
