"""InfoBatchDataset: each sample tagged with its index, which batches
carry to the step."""
import pytest
import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import IterableDataset

from conftest import ListDataset
from mmib.datasets import INDEX_KEY, InfoBatchDataset
from mmib.engine import batch_sample_indices


class Stream(IterableDataset):

    def __iter__(self):
        yield dict(inputs=torch.zeros(1))


def test_dataset_tags_index_in_metainfo_and_batches_carry_it():
    from mmpretrain.structures import DataSample

    class Packed(ListDataset):

        def __getitem__(self, i):
            return dict(inputs=torch.zeros(1), data_samples=DataSample())

    wrapped = InfoBatchDataset(Packed(10))
    assert wrapped[7]['data_samples'].metainfo[INDEX_KEY] == 7
    batch = pseudo_collate([wrapped[i] for i in (3, 1, 8)])
    assert batch_sample_indices(batch).tolist() == [3, 1, 8]
    # samples without data_samples carry it at the top level
    plain = InfoBatchDataset(ListDataset(10))
    batch = pseudo_collate([plain[i] for i in (2, 5)])
    assert batch_sample_indices(batch).tolist() == [2, 5]
    with pytest.raises(RuntimeError, match='InfoBatchDataset'):
        batch_sample_indices(dict(inputs=[torch.zeros(1)]))


def test_dataset_without_len_is_rejected_by_name():
    with pytest.raises(TypeError, match='__len__.*train_dataloader.dataset'):
        InfoBatchDataset(Stream())
