"""InfoBatchDataset, InfoBatchSampler and the loader installation."""
import pytest
import torch
from mmengine.dataset import DefaultSampler, pseudo_collate
from torch.utils.data import DataLoader, IterableDataset

import mmib  # noqa: F401
from mmib.datasets import INDEX_KEY, InfoBatchDataset, InfoBatchSampler
from mmib.engine import batch_sample_indices, wrap_train_dataloader


class ListDataset:

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return dict(inputs=torch.tensor([float(i)]))


class Stream(IterableDataset):

    def __iter__(self):
        yield dict(inputs=torch.zeros(1))


def test_all_kept_yields_defaultsampler_order():
    data = ListDataset(50)
    for epoch in (0, 3):
        default = DefaultSampler(data, shuffle=True, seed=5)
        ours = InfoBatchSampler(data, shuffle=True, seed=5)
        default.set_epoch(epoch)
        ours.set_epoch(epoch)
        assert list(ours) == list(default)
        assert len(ours) == len(default) == 50


def test_kept_indices_only_and_epoch_length():
    sampler = InfoBatchSampler(ListDataset(50), shuffle=True, seed=0)
    kept = torch.tensor([1, 4, 9, 16, 25, 36, 49])
    sampler.set_kept_indices(kept)
    assert sorted(sampler) == kept.tolist()
    assert len(sampler) == 7
    sampler.set_kept_indices(None)
    assert len(sampler) == 50
    with pytest.raises(ValueError, match='at least one'):
        sampler.set_kept_indices(torch.tensor([], dtype=torch.long))


@pytest.mark.parametrize('round_up', [True, False])
def test_ranks_share_the_kept_list(round_up):
    kept = torch.arange(0, 23)
    shards = []
    for rank in range(3):
        sampler = InfoBatchSampler(ListDataset(40), seed=1, round_up=round_up)
        sampler.rank, sampler.world_size = rank, 3
        sampler.set_kept_indices(kept)
        shard = list(sampler)
        assert len(shard) == len(sampler)
        shards.append(shard)
    union = [i for s in shards for i in s]
    assert set(union) == set(kept.tolist())
    if round_up:
        assert len({len(s) for s in shards}) == 1 and len(union) == 24
    else:
        assert len(union) == 23


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


def _as_rank(sampler, rank: int, world_size: int):
    sampler.rank, sampler.world_size = rank, world_size
    return sampler


@pytest.mark.parametrize('n,world_size', [(10, 1), (11, 2), (13, 3)])
def test_repeat_aug_equivalent_matches_mmpretrain_when_all_kept(
        n, world_size):
    import math

    from mmpretrain.datasets.samplers import RepeatAugSampler

    from mmib.datasets import InfoBatchSampler
    data = list(range(n))
    for rank in range(world_size):
        stock = RepeatAugSampler(data, shuffle=True, num_repeats=3, seed=7)
        stock.rank, stock.world_size = rank, world_size
        stock.num_samples = math.ceil(n * 3 / world_size)
        stock.total_size = stock.num_samples * world_size
        stock.num_selected_samples = math.ceil(n / world_size)
        ours = _as_rank(InfoBatchSampler(data, seed=7, num_repeats=3), rank,
                        world_size)
        for epoch in (0, 1):
            stock.set_epoch(epoch)
            ours.set_epoch(epoch)
            assert list(ours) == list(stock)
            assert len(ours) == len(stock) == ours.num_real


def test_repeat_aug_equivalent_trains_only_kept_samples_repeated():
    from mmib.datasets import InfoBatchSampler
    kept = torch.tensor([0, 2, 3, 5, 8, 9, 12])
    shards = []
    for rank in range(2):
        sampler = _as_rank(InfoBatchSampler(list(range(14)), seed=1,
                                            num_repeats=3), rank, 2)
        sampler.set_kept_indices(kept)
        shards.append(list(sampler))
        assert len(shards[-1]) == len(sampler) == 4  # ceil(7 / 2)
    both = torch.tensor(shards[0] + shards[1])
    assert set(both.tolist()) <= set(kept.tolist())
    # copies go to different ranks first: stride sharding of i,i,i,j,j,j
    assert torch.bincount(both).max() <= 3
    with pytest.raises(ValueError, match='num_repeats'):
        InfoBatchSampler(list(range(3)), num_repeats=0)


def test_repeated_samples_get_the_mean_of_their_losses():
    from mmib.core import ScoreTable
    table = ScoreTable(4)
    rejected = table.update(torch.tensor([1, 2, 1, 1, 3]),
                            torch.tensor([1.0, 5.0, 2.0, float('nan'), 4.0]))
    assert rejected == 1
    torch.testing.assert_close(table.scores, torch.tensor([0., 1.5, 5., 4.]))
    assert table.seen.tolist() == [False, True, True, True]
