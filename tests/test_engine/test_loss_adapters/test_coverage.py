"""LossCoverageCheck on a plain model (the real recorder, no Runner): at
the first training step every term that carries gradient reaches a weighted
loss, or is named; ``unweighted_losses`` lets a named term through with a
warning; the check then leaves the model."""
import pytest
import torch
from torch import nn

from mmib.engine import PerSampleLossRecorder
from mmib.engine.loss_adapters.coverage import LossCoverageCheck


class Model(nn.Module):
    """A classifier whose loss dict has a cross-entropy term (a loss
    module) and, optionally, an L2 term it adds itself."""

    def __init__(self, l2: bool) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.loss_ce = nn.CrossEntropyLoss()
        self.l2 = l2

    def forward(self, x, y, mode='loss'):
        losses = dict(loss_ce=self.loss_ce(self.fc(x), y))
        if self.l2:
            losses['loss_l2'] = self.fc.weight.pow(2).sum()
        losses['acc'] = torch.tensor(0.5)  # no gradient: not a term
        return losses


def step(l2: bool, unweighted=()):
    model = Model(l2)
    recorder = PerSampleLossRecorder(model)
    check = LossCoverageCheck(unweighted)
    warnings = []
    check.attach(model, recorder, warnings.append)
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 1, 0])
    recorder.start_step(torch.ones(4))
    try:
        model(x, y, mode='loss')
    finally:
        recorder.finish_step()
    return model, recorder, warnings, (x, y)


def test_a_loss_all_of_whose_terms_are_weighted_passes_silently():
    model, recorder, warnings, batch = step(l2=False)
    assert warnings == []
    model.l2 = True  # the check ran at the first step and left the model
    recorder.start_step(torch.ones(4))
    model(*batch, mode='loss')
    recorder.finish_step()


def test_a_term_no_loss_module_computes_is_named_with_the_way_out():
    with pytest.raises(RuntimeError) as error:
        step(l2=True)
    message = str(error.value)
    assert "the loss terms ['loss_l2'] carry gradient but reach no loss " \
        'module InfoBatch weights' in message
    assert "InfoBatchHook(unweighted_losses=['loss_l2'])" in message


def test_unweighted_losses_lets_a_named_term_through_with_a_warning():
    model, recorder, warnings, batch = step(True, ['loss_l2'])
    assert len(warnings) == 1
    assert "the loss terms ['loss_l2'] stay unweighted" in warnings[0]
    recorder.start_step(torch.ones(4))
    model(*batch, mode='loss')  # later steps are not checked again
    recorder.finish_step()
    assert len(warnings) == 1
    with pytest.raises(ValueError, match=r"unweighted_losses=\['loss_x'\]\): "
                       r"no such term .* \['acc', 'loss_ce'\]"):
        step(l2=False, unweighted=['loss_x'])
