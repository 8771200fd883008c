"""InfoBatchSampler: the kept samples of a pass in DefaultSampler's order,
shared by the ranks; the repeated-augmentation equivalent."""
import math

import pytest
import torch
from mmengine.dataset import DefaultSampler

from conftest import ListDataset
from mmib.datasets import InfoBatchSampler


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


def _as_rank(sampler, rank: int, world_size: int):
    sampler.rank, sampler.world_size = rank, world_size
    return sampler


@pytest.mark.parametrize('n,world_size', [(10, 1), (11, 2), (13, 3)])
def test_repeat_aug_equivalent_matches_mmpretrain_when_all_kept(
        n, world_size):
    from mmpretrain.datasets.samplers import RepeatAugSampler

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
