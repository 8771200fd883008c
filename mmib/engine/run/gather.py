"""All ranks' per-sample results of a step, in one collective."""
from typing import Optional, Tuple

import numpy as np
import torch
from mmengine.dist import all_gather
from mmengine.structures import BaseDataElement

from ...datasets import INDEX_KEY


def batch_sample_indices(data_batch) -> torch.Tensor:
    """The data set indices of a collated batch, in batch order.

    Args:
        data_batch (dict): A batch of samples from :class:`InfoBatchDataset`.

    Returns:
        Tensor: int64 indices, shape ``(B,)``.
    """
    if isinstance(data_batch, dict):
        data_samples = data_batch.get('data_samples')
        if (isinstance(data_samples, (list, tuple)) and data_samples
                and isinstance(data_samples[0], BaseDataElement)
                and hasattr(data_samples[0], INDEX_KEY)):
            # attribute access: ``metainfo`` builds a dict per sample; numpy
            # then torch.from_numpy: a fraction of torch.tensor's cost in
            # the training loop
            return torch.from_numpy(
                np.array([getattr(s, INDEX_KEY) for s in data_samples],
                         dtype=np.int64))
        if INDEX_KEY in data_batch:
            return torch.as_tensor(data_batch[INDEX_KEY],
                                   dtype=torch.long).reshape(-1)
    raise RuntimeError(
        'InfoBatchHook: the training batch carries no sample indices '
        f'({INDEX_KEY!r}). The training data set must be wrapped by '
        'InfoBatchDataset (the hook does this at before_train); if a custom '
        'collate function drops metainfo, keep data_samples intact.')


def gather_step(indices: torch.Tensor, losses: torch.Tensor,
                padding: Optional[torch.Tensor], batch_size: int,
                world_size: int
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All-gather ``(index, loss, is_padding)`` with one collective.

    Indices stay int64 and the float32 loss bits ride along losslessly in
    the same int64 tensor; short batches are filled with index -1 up to the
    loader's batch size.

    Args:
        indices (Tensor): This rank's sample indices, ``(B,)``.
        losses (Tensor): Their losses, ``(B,)``.
        padding (Tensor, optional): Which are padding repeats, ``(B,)``
            bool; None: none (one process).
        batch_size (int): The loader's batch size.
        world_size (int): Number of processes (1: nothing to gather).

    Returns:
        tuple: Indices, float32 losses and padding flags of all ranks.
    """
    if world_size == 1:
        return indices, losses.float(), padding
    if padding is None:
        padding = torch.zeros(indices.numel(), dtype=torch.bool)
    bits = losses.float().cpu().contiguous().view(torch.int32).long()
    packed = torch.full((max(batch_size, indices.numel()), 3), -1,
                        dtype=torch.long)
    packed[:indices.numel(), 0] = indices
    packed[:indices.numel(), 1] = bits
    packed[:indices.numel(), 2] = padding.long()
    merged = torch.cat(all_gather(packed))
    merged = merged[merged[:, 0] >= 0]
    return (merged[:, 0], merged[:, 1].int().view(torch.float32),
            merged[:, 2].bool())
