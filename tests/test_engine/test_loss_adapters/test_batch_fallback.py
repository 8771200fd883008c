"""A loss that cannot be split per sample is weighted as a whole: by the
batch's mean weight, its value in every sample's score (hand computation on
one batch), whatever the ``scores`` setting."""
import torch
from mmseg.models.losses import CrossEntropyLoss, LovaszLoss
from torch import nn

import mmib  # noqa: F401  (compat fixes for mmseg on the CPU stack)
from mmib.engine.loss_adapters import PerSampleLossRecorder


class TwoLosses(nn.Module):
    """Cross-entropy (splittable) plus a batch Lovasz (not splittable)."""

    def __init__(self) -> None:
        super().__init__()
        self.loss_ce = CrossEntropyLoss()
        self.loss_lovasz = LovaszLoss(loss_type='multi_class',
                                      per_image=False, reduction='none')

    def forward(self, logits, labels):
        return self.loss_ce(logits, labels), self.loss_lovasz(logits, labels)


def test_an_unsplittable_loss_is_weighted_by_the_batch_mean_weight():
    model = TwoLosses()
    torch.manual_seed(0)
    logits = torch.randn(4, 3, 5, 5, requires_grad=True)
    labels = torch.randint(0, 3, (4, 5, 5))
    own_ce, own_lovasz = model(logits, labels)
    weights = torch.tensor([2.0, 0.5, 1.0, 1.5])
    recorder = PerSampleLossRecorder(model)
    recorder.start_step(weights)
    ce, lovasz = model(logits, labels)
    scores = recorder.finish_step_losses()
    assert 'loss_lovasz' in recorder.unsplittable
    assert torch.allclose(lovasz, own_lovasz * weights.mean())
    per_pixel = nn.functional.cross_entropy(logits, labels, reduction='none')
    per_image = per_pixel.reshape(4, -1).mean(1)
    assert torch.allclose(ce, (per_pixel * weights.reshape(4, 1, 1)).mean())
    assert torch.allclose(scores, per_image + own_lovasz.detach(), atol=1e-6)
    recorder.remove()
