"""The score table: every sample's score, how often and when it was taken.
"""
from typing import Dict, Optional

import torch

from .settings import check_score_momentum

_STAMP_BITS = 32


def score_stamp(pass_index: int, pass_iter: int) -> int:
    """When a score was taken: pass and step of the pass in one integer
    (ordered like the training steps).

    Args:
        pass_index (int): The pass (0-based).
        pass_iter (int): The step within the pass (0-based).
    """
    return (int(pass_index) << _STAMP_BITS) | int(pass_iter)


def stamp_pass(stamps: torch.Tensor) -> torch.Tensor:
    """The pass of each :func:`score_stamp`."""
    return stamps >> _STAMP_BITS


def stamp_step(stamps: torch.Tensor) -> torch.Tensor:
    """The step within its pass of each :func:`score_stamp`."""
    return stamps & ((1 << _STAMP_BITS) - 1)


class ScoreTable:
    """The score (training loss) of every sample.

    By default a score is the sample's latest loss (the paper). With
    ``momentum > 0`` it is an exponential moving average, ``momentum * old +
    (1 - momentum) * new``, which smooths losses that are noisy from pass to
    pass (e.g. MAE's random masks). Samples never scored are *unseen*: they
    take no part in the thresholds and are never pruned, so the first epoch
    trains everything.

    With ``from_zero`` the average starts from a score of 0, as the batch
    loss scores of BLS do (Zhou et al., "Batch Loss Score for Dynamic Data
    Pruning", CVPR 2026; the authors' code ``mrazhou/BLS`` sets every score
    to 0 and applies the average from the first visit): a sample's first
    score is then ``(1 - momentum) * loss``.

    The table also keeps, per sample, how many times it was scored
    (``counts``: the passes that trained it) and when its score was taken
    (``stamps``: :func:`score_stamp` of the pass and step), for policies
    that compare only scores of one model state or reweight by presence
    (RePB).

    Args:
        num_samples (int): Length of the data set.
        momentum (float): Weight of the old score, in ``[0, 1)``.
            Defaults to 0 (the latest loss).
        from_zero (bool): Whether the average of a sample's first visit
            starts from 0 (BLS) instead of from the loss itself.
            Defaults to False.
    """

    def __init__(self, num_samples: int, momentum: float = 0.0,
                 from_zero: bool = False) -> None:
        if num_samples <= 0:
            raise ValueError(f'num_samples must be positive, got '
                             f'{num_samples}')
        self.momentum = check_score_momentum(momentum)
        self.from_zero = bool(from_zero)
        self.scores = torch.zeros(num_samples, dtype=torch.float32)
        self.seen = torch.zeros(num_samples, dtype=torch.bool)
        self.counts = torch.zeros(num_samples, dtype=torch.int32)
        self.stamps = torch.zeros(num_samples, dtype=torch.int64)

    def __len__(self) -> int:
        return self.scores.numel()

    def update(self, indices: torch.Tensor, losses: torch.Tensor,
               stamps: Optional[torch.Tensor] = None) -> int:
        """Store ``losses`` as the new scores of ``indices``.

        Non-finite losses (NaN, inf) are not stored: the sample keeps its
        previous score. A sample that appears several times (repeated
        augmentation) gets the mean of its finite losses, is counted once
        and keeps its latest stamp.

        Args:
            indices (Tensor): Integer sample indices, shape ``(B,)``.
            losses (Tensor): Per-sample losses, shape ``(B,)``.
            stamps (Tensor, optional): When each loss was taken
                (:func:`score_stamp`), shape ``(B,)``. Defaults to 0.

        Returns:
            int: How many losses were rejected as non-finite.
        """
        indices = indices.reshape(-1).long().cpu()
        losses = losses.detach().reshape(-1).float().cpu()
        stamps = (torch.zeros(indices.numel(), dtype=torch.int64)
                  if stamps is None else stamps.reshape(-1).long().cpu())
        if not indices.numel() == losses.numel() == stamps.numel():
            raise ValueError(f'{indices.numel()} indices but '
                             f'{losses.numel()} losses and '
                             f'{stamps.numel()} stamps')
        finite = torch.isfinite(losses)
        num_rejected = losses.numel() - int(finite.sum())
        if num_rejected:
            indices, losses = indices[finite], losses[finite]
            stamps = stamps[finite]
        unique, inverse = torch.unique(indices, return_inverse=True)
        if unique.numel() < indices.numel():  # repeats: one mean per sample
            sums = torch.zeros(unique.numel()).index_add_(0, inverse, losses)
            counts = torch.bincount(inverse, minlength=unique.numel())
            stamps = torch.zeros(unique.numel(), dtype=torch.int64
                                 ).scatter_reduce_(0, inverse, stamps, 'amax')
            indices, losses = unique, sums / counts
        if self.momentum:
            old = torch.where(self.seen[indices], self.scores[indices],
                              torch.zeros(()))
            average = self.momentum * old + (1 - self.momentum) * losses
            losses = (average if self.from_zero else torch.where(
                self.seen[indices], average, losses))
        self.scores[indices] = losses
        self.seen[indices] = True
        self.counts[indices] += 1
        self.stamps[indices] = stamps
        return num_rejected

    def state_dict(self) -> Dict[str, torch.Tensor]:
        """Tensors to checkpoint."""
        return dict(scores=self.scores.clone(), seen=self.seen.clone(),
                    counts=self.counts.clone(), stamps=self.stamps.clone())

    def load_state_dict(self, state: Dict[str, torch.Tensor]) -> None:
        """Restore from :meth:`state_dict`.

        Args:
            state (dict): What :meth:`state_dict` returned.
        """
        scores, seen = state['scores'], state['seen']
        if scores.numel() != len(self):
            raise ValueError(
                f'the checkpoint holds InfoBatch scores for {scores.numel()} '
                f'samples but the training data set has {len(self)}: resume '
                'with the data set the run was started with.')
        self.scores = scores.float().clone()
        self.seen = seen.bool().clone()
        # a checkpoint of mmib before counts and stamps: zeros
        self.counts = torch.as_tensor(state.get(
            'counts', torch.zeros(len(self))), dtype=torch.int32).clone()
        self.stamps = torch.as_tensor(state.get(
            'stamps', torch.zeros(len(self))), dtype=torch.int64).clone()
