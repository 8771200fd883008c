"""The loader installation: the runner's training loader rebuilt around
InfoBatchDataset and InfoBatchSampler, every other setting kept."""
import pytest
import torch
from mmengine.dataset import DefaultSampler, pseudo_collate
from torch.utils.data import DataLoader

from conftest import ListDataset
from mmib.datasets import InfoBatchDataset, InfoBatchSampler
from mmib.engine import wrap_train_dataloader


def test_wrap_keeps_loader_settings_and_sampler_options():
    data = ListDataset(20)
    loader = DataLoader(
        data,
        batch_size=4,
        sampler=DefaultSampler(data, shuffle=False, seed=3, round_up=False),
        collate_fn=pseudo_collate,
        drop_last=True)
    wrapped = wrap_train_dataloader(loader)
    assert isinstance(wrapped.dataset, InfoBatchDataset)
    sampler = wrapped.sampler
    assert isinstance(sampler, InfoBatchSampler)
    assert (sampler.shuffle, sampler.seed, sampler.round_up) == (False, 3,
                                                                 False)
    assert wrapped.batch_size == 4 and wrapped.drop_last
    assert wrapped.collate_fn is pseudo_collate
    assert wrap_train_dataloader(wrapped) is wrapped


def test_unreplaceable_sampler_is_rejected_by_name():
    data = ListDataset(20)
    loader = DataLoader(data, batch_size=4,
                        sampler=torch.utils.data.RandomSampler(data))
    with pytest.raises(ValueError, match='train_dataloader.sampler.*Random'):
        wrap_train_dataloader(loader)
