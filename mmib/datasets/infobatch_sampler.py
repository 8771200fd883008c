"""``InfoBatchSampler``: yields only the current epoch's kept samples."""
import math
from typing import Iterator, Optional, Sized

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import Sampler

from ..core import rank_share


@DATA_SAMPLERS.register_module()
class InfoBatchSampler(Sampler):
    """A :class:`~mmengine.dataset.DefaultSampler` over the kept samples.

    Each pass (epoch) :class:`~mmib.engine.InfoBatchHook` hands it the
    sorted indices to train (:meth:`set_kept_indices`). The sampler draws a
    random permutation of *all* indices, keeps the kept ones in that order,
    and shards them across ranks exactly as ``DefaultSampler`` shards the
    full data set, so ``len(sampler)`` (and the data loader's length) is the
    shortened pass and pruned samples are never loaded.

    The permutation of pass ``p`` is ``DefaultSampler``'s (a generator seeded
    with ``seed + p``) or, with ``stream=True``, ``InfiniteSampler``'s (the
    ``p``-th permutation of one generator seeded with ``seed``). With all
    indices kept the order is therefore exactly that of the sampler it
    replaces.

    Args:
        dataset (Sized): The training data set.
        shuffle (bool): Whether to shuffle. Defaults to True.
        seed (int, optional): Shuffling seed, identical on all ranks. Defaults
            to None (a synchronised random seed).
        round_up (bool): Pad the kept list so every rank gets the same number
            of samples, as ``DefaultSampler`` does. Defaults to True.
        stream (bool): Draw the passes' permutations as ``InfiniteSampler``
            does. Defaults to False.
        num_repeats (int): Repeated augmentation as mmpretrain's
            ``RepeatAugSampler`` does it: each kept sample of the
            permutation ``num_repeats`` times in a row, the list sharded
            across ranks by stride (so the copies land on different ranks),
            and each rank trains the first ``ceil(kept / world_size)`` of
            its shard. With all samples kept the indices are exactly
            ``RepeatAugSampler``'s. Defaults to 1 (no repeats).
    """

    def __init__(self,
                 dataset: Sized,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True,
                 stream: bool = False,
                 num_repeats: int = 1) -> None:
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.round_up = round_up
        self.stream = stream
        if int(num_repeats) != num_repeats or num_repeats < 1:
            raise ValueError('InfoBatchSampler: num_repeats must be a '
                             f'positive integer, got {num_repeats!r}')
        self.num_repeats = int(num_repeats)
        if self.num_repeats > 1 and not round_up:
            raise ValueError('InfoBatchSampler: num_repeats > 1 shards as '
                             'RepeatAugSampler does, which always rounds '
                             'up; use round_up=True')
        self._stream_state = None  # (next pass, generator) when stream=True
        self.epoch = 0
        self.kept_indices: Optional[torch.Tensor] = None
        self._skip = 0

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

    def skip_next(self, num_samples: int) -> None:
        """Leave out the first ``num_samples`` of this rank's next pass.

        Used when resuming in the middle of a pass: the pass continues with
        exactly the samples the interrupted run had not trained yet, and
        the skipped ones are never loaded. ``len`` is not changed.

        Args:
            num_samples (int): Samples of this rank to skip, once.
        """
        self._skip = int(num_samples)

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
            return self.world_size * rank_share(
                self.num_kept, self.world_size, self.rank, round_up=True)
        return self.num_kept

    def _permutation(self) -> torch.Tensor:
        """A permutation of all indices for the current pass."""
        n = len(self.dataset)
        if not self.shuffle:
            return torch.arange(n)
        if not self.stream:
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)
            return torch.randperm(n, generator=generator)
        if self._stream_state is None or self._stream_state[0] > self.epoch:
            generator = torch.Generator()
            generator.manual_seed(self.seed)
            self._stream_state = [0, generator]
        state = self._stream_state
        while state[0] < self.epoch:  # fast-forward (e.g. after a resume)
            torch.randperm(n, generator=state[1])
            state[0] += 1
        state[0] += 1
        return torch.randperm(n, generator=state[1])

    def __iter__(self) -> Iterator[int]:
        order = self._permutation()
        if self.kept_indices is not None:
            kept = torch.zeros(order.numel(), dtype=torch.bool)
            kept[self.kept_indices] = True
            order = order[kept[order]]
        shard = (self._repeated_shard(order) if self.num_repeats > 1 else
                 self._shard(order))
        shard, self._skip = shard[self._skip:], 0
        return iter(shard.tolist())

    def _shard(self, order: torch.Tensor) -> torch.Tensor:
        """This rank's indices of the pass (``DefaultSampler``'s
        arithmetic: rounded up with repeats, strided across ranks)."""
        total_size = self.total_size
        if total_size > order.numel():
            repeats = math.ceil(total_size / order.numel())
            order = order.repeat(repeats)[:total_size]
        return order[self.rank:total_size:self.world_size]

    def _repeated_shard(self, order: torch.Tensor) -> torch.Tensor:
        """This rank's indices with repeated augmentation (see
        ``num_repeats``; ``RepeatAugSampler``'s arithmetic)."""
        repeated = order.repeat_interleave(self.num_repeats)
        per_rank = math.ceil(repeated.numel() / self.world_size)
        total = per_rank * self.world_size
        padding = total - repeated.numel()
        if padding > 0:
            repeated = torch.cat([repeated, repeated[:padding]])
        return repeated[self.rank:total:self.world_size][:len(self)]

    def __len__(self) -> int:
        return rank_share(self.num_kept, self.world_size, self.rank,
                          self.round_up)

    @property
    def num_real(self) -> int:
        """This rank's samples of the pass that are not round-up repeats
        (they come first in its shard)."""
        if self.num_repeats > 1:  # no round-up repeats: all are trained
            return len(self)
        return rank_share(self.num_kept, self.world_size, self.rank, False)
