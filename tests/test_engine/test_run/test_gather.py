"""The step's indices from a batch, and the one-process gather."""
import pytest
import torch
from mmengine.structures import BaseDataElement

from mmib.datasets import INDEX_KEY
from mmib.engine.run import batch_sample_indices, gather_step


def test_indices_come_from_the_batchs_data_samples():
    samples = [BaseDataElement(metainfo={INDEX_KEY: i}) for i in (4, 0, 7)]
    indices = batch_sample_indices(dict(inputs=None, data_samples=samples))
    assert indices.tolist() == [4, 0, 7] and indices.dtype == torch.int64


def test_a_batch_without_indices_is_named():
    samples = [BaseDataElement(metainfo={})]
    with pytest.raises(Exception, match=INDEX_KEY):
        batch_sample_indices(dict(inputs=None, data_samples=samples))


def test_one_process_gather_is_the_rank_s_own_step():
    indices, losses = torch.tensor([3, 1]), torch.tensor([0.5, 2.0],
                                                         dtype=torch.float64)
    out_i, out_l, pad = gather_step(indices, losses, None, 4, 1)
    assert out_i is indices and pad is None
    assert out_l.dtype == torch.float32 and out_l.tolist() == [0.5, 2.0]
