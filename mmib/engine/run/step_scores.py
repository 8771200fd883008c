"""Per training step: the batch's loss weights in, its scores out.

Before a step, the batch's sample indices (``infobatch_index``) pick their
weights from the pass's plan. After it, the per-sample losses of all ranks
are gathered (one collective), the round-up padding repeats are dropped
(trained, but scored and counted once), and the losses wait in a buffer:
scores are read only when a pass is planned or a checkpoint saved, so they
are stored in one batched update then (:meth:`flush`), not per iteration.
"""
from typing import List, Optional, Tuple

import torch

from ...core import PassPlan, ScoreTable
from .gather import batch_sample_indices, gather_step


class StepScores:
    """The current step's indices and padding, and the unflushed losses.

    With batch scores (BLS: Zhou et al., "Batch Loss Score for Dynamic Data
    Pruning", CVPR 2026; the authors' code ``mrazhou/BLS``) every sample of
    a rank's batch is scored with the batch's mean loss (over the samples
    that have one: an image without a valid pixel has none), and weighted with
    the batch's mean weight: the weighted loss is then the batch loss times
    the mean weight, as the authors scale it. The one all-gather of the
    step is the same.

    Args:
        batch (bool): Batch scores instead of per-sample ones.
            Defaults to False.
    """

    def __init__(self, batch: bool = False) -> None:
        self.batch = batch
        self._indices: Optional[torch.Tensor] = None
        self._padding: Optional[torch.Tensor] = None
        self._pending: List[Tuple[torch.Tensor, torch.Tensor, int]] = []

    def start(self, data_batch, plan: PassPlan,
              first_padding: Optional[int], position: int) -> torch.Tensor:
        """The loss weight of each sample of this rank's batch.

        Args:
            data_batch: The batch from the data loader.
            plan (PassPlan): The pass's plan.
            first_padding (int, optional): Position in this rank's pass from
                which samples are round-up repeats (None: no padding).
            position (int): Position of the batch's first sample in this
                rank's pass.
        """
        indices = batch_sample_indices(data_batch)
        self._indices = indices
        self._padding = None if first_padding is None else torch.arange(
            position, position + indices.numel()) >= first_padding
        # numpy indexing: in the loop, a fraction of a torch index op's cost
        weights = torch.from_numpy(plan.weights.numpy()[indices.numpy()])
        if self.batch and weights.numel():
            weights = weights.mean().expand(weights.numel()).clone()
        return weights

    def finish(self, losses: torch.Tensor, batch_size: int,
               world_size: int, stamp: int = 0) -> Tuple[int, int]:
        """Gather the step's losses of all ranks and buffer them.

        Args:
            losses (Tensor): This rank's per-sample losses.
            batch_size (int): The loader's batch size.
            world_size (int): Number of ranks.
            stamp (int): When the losses were taken
                (:func:`~mmib.core.score_stamp`; the same on all ranks).

        Returns:
            tuple[int, int]: Real samples and padding repeats of the step,
            over all ranks.
        """
        if self.batch and losses.numel():
            losses = losses.detach().float().nanmean().expand(
                losses.numel()).clone()
        indices, losses, padding = gather_step(self._indices, losses,
                                               self._padding, batch_size,
                                               world_size)
        num_padding = 0 if padding is None else int(padding.sum())
        if num_padding:
            indices, losses = indices[~padding], losses[~padding]
        self._pending.append((indices, losses, stamp))
        return indices.numel(), num_padding

    def flush(self, table: ScoreTable) -> int:
        """Store the buffered losses as scores.

        Returns:
            int: Losses not stored (NaN/inf, or no valid pixel).
        """
        if not self._pending:
            return 0
        indices = torch.cat([i for i, _, _ in self._pending])
        losses = torch.cat([loss for _, loss, _ in self._pending])
        stamps = torch.cat([
            torch.full((i.numel(), ), stamp, dtype=torch.int64)
            for i, _, stamp in self._pending
        ])
        self._pending = []
        return table.update(indices, losses, stamps)
