"""``InfoBatchSampler``: yields only the current epoch's kept samples."""
import math
from typing import Iterator, Optional, Sized

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import Sampler


@DATA_SAMPLERS.register_module()
class InfoBatchSampler(Sampler):
    """A :class:`~mmengine.dataset.DefaultSampler` over the kept samples.

    Each epoch :class:`~mmib.engine.InfoBatchHook` hands it the sorted
    indices to train (:meth:`set_kept_indices`); the sampler shuffles them
    with ``seed + epoch`` and shards them across ranks exactly as
    ``DefaultSampler`` shards the full data set, so ``len(sampler)`` (and the
    data loader's length) is the shortened epoch and pruned samples are never
    loaded. With all indices kept it yields the same order as
    ``DefaultSampler`` with the same seed.

    Args:
        dataset (Sized): The training data set.
        shuffle (bool): Whether to shuffle the kept indices. Defaults to True.
        seed (int, optional): Shuffling seed, identical on all ranks. Defaults
            to None (a synchronised random seed).
        round_up (bool): Pad the kept list so every rank gets the same number
            of samples, as ``DefaultSampler`` does. Defaults to True.
    """

    def __init__(self,
                 dataset: Sized,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.round_up = round_up
        self.epoch = 0
        self.kept_indices: Optional[torch.Tensor] = None

    @property
    def num_kept(self) -> int:
        """Samples kept this epoch, over all ranks, before padding."""
        if self.kept_indices is None:
            return len(self.dataset)
        return self.kept_indices.numel()

    def set_kept_indices(self, kept_indices: Optional[torch.Tensor]) -> None:
        """Set the samples of the coming epoch.

        Args:
            kept_indices (Tensor, optional): Sorted indices to train; None
                trains the whole data set.
        """
        if kept_indices is not None:
            if kept_indices.numel() == 0:
                raise ValueError('an InfoBatch epoch must keep at least one '
                                 'sample')
            kept_indices = kept_indices.long().cpu()
        self.kept_indices = kept_indices

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch that seeds the shuffle.

        Args:
            epoch (int): Epoch number.
        """
        self.epoch = epoch

    @property
    def total_size(self) -> int:
        """Samples all ranks together yield this epoch, padding included."""
        if self.round_up:
            return math.ceil(self.num_kept / self.world_size) * self.world_size
        return self.num_kept

    def __iter__(self) -> Iterator[int]:
        kept = (torch.arange(len(self.dataset))
                if self.kept_indices is None else self.kept_indices)
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)
            kept = kept[torch.randperm(kept.numel(), generator=generator)]
        total_size = self.total_size
        if total_size > kept.numel():
            repeats = math.ceil(total_size / kept.numel())
            kept = kept.repeat(repeats)[:total_size]
        return iter(kept[self.rank:total_size:self.world_size].tolist())

    def __len__(self) -> int:
        if self.round_up:
            return self.total_size // self.world_size
        return math.ceil((self.num_kept - self.rank) / self.world_size)
