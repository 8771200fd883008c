"""StepScores on plain tensors (one process): a batch's weights from the
plan, padding repeats dropped, losses buffered until flushed; batch scores
(BLS) score every sample with its batch's mean loss and weight it with the
batch's mean weight."""
import torch

from mmib.core import PassPlan, ScoreTable
from mmib.datasets import INDEX_KEY
from mmib.engine.run.step_scores import StepScores


def _plan(weights):
    weights = torch.tensor(weights)
    return PassPlan(1, torch.nonzero(weights > 0).squeeze(1), weights,
                    torch.empty(0), False)


def _batch(indices):
    return {INDEX_KEY: torch.tensor(indices)}


def test_per_sample_weights_scores_and_padding():
    steps = StepScores()
    plan = _plan([2.0, 1.0, 0.0, 4.0])
    weights = steps.start(_batch([3, 0, 1]), plan, first_padding=2,
                          position=0)
    assert weights.tolist() == [4.0, 2.0, 1.0]
    # from position 2 on the rank's samples are round-up repeats: trained,
    # counted apart, not scored
    real, padding = steps.finish(torch.tensor([0.5, 1.5, 9.0]), 3, 1)
    assert (real, padding) == (2, 1)
    table = ScoreTable(4)
    assert steps.flush(table) == 0
    assert table.scores.tolist() == [1.5, 0.0, 0.0, 0.5]
    assert table.seen.tolist() == [True, False, False, True]
    assert steps.flush(table) == 0  # nothing left


def test_batch_scores_use_the_batch_mean_loss_and_weight():
    steps = StepScores(batch=True)
    plan = _plan([2.0, 1.0, 0.0, 3.0])
    weights = steps.start(_batch([3, 0, 1]), plan, None, 0)
    # the batch loss times the mean weight: every sample weighs 2
    assert weights.tolist() == [2.0, 2.0, 2.0]
    losses = torch.tensor([1.0, 2.0, 6.0], requires_grad=True)
    steps.finish(losses, 3, 1)
    table = ScoreTable(4, momentum=0.7, from_zero=True)
    steps.flush(table)
    torch.testing.assert_close(table.scores,
                               torch.tensor([0.9, 0.9, 0.0, 0.9]))
    assert table.seen.tolist() == [True, True, False, True]
    # the weighted mean loss equals BLS's batch loss times the mean weight
    per_sample = torch.tensor([1.0, 2.0, 6.0])
    assert float((weights * per_sample).mean()) == 2.0 * 3.0
