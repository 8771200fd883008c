"""InfoBatch pruning maths on plain tensors.

InfoBatch (Qin et al., ICLR 2024) keeps one score per sample, its latest
training loss. Before each epoch the samples are split into *bands* by
thresholds on the scores; in every band but the top one a fraction ``ratio``
of the samples is dropped at random for this epoch, and the kept samples of
that band get the loss weight ``1 / (1 - ratio)`` so that the expected
gradient is unchanged. The top band (scores at or above the last threshold)
and samples never scored yet are always trained with weight 1. The last
``1 - delta`` of the epochs (annealing) train every sample with weight 1.

Two threshold policies:

* ``'mean'`` (the paper): one threshold, the mean of the scores; ``ratio`` is
  the fraction pruned of the samples *below the mean*, so the overall saving
  of an epoch is lower than ``ratio``.
* ``'quantile'``: thresholds at the given quantiles of the scores, one
  ``ratio`` per band below the top quantile (e.g. the authors' ADE20K setting
  ``quantiles=(0.2, 0.85), ratios=(0.75, 0.5)``).

Everything here is vectorised and seeded explicitly: the global torch and
numpy random states are never touched, and the same ``(seed, epoch, scores)``
always gives the same plan.
"""
import math
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

import numpy as np
import torch

THRESHOLD_POLICIES = ('mean', 'quantile')
#: how :func:`plan_epoch` draws: ``'infobatch'`` prunes below the thresholds
#: (the paper); ``'random'`` is the equal-cost baseline: the same count,
#: drawn from all scored samples. (The policy *name* a user sets is the
#: registry's, :data:`mmib.core.POLICIES`; its class sets the draw.)
SELECTIONS = ('infobatch', 'random')


@dataclass(frozen=True)
class PruningPolicy:
    """What to prune and when.

    Args:
        ratios (tuple[float]): Fraction pruned in each band below the top
            one, each in ``[0, 1)``. One value for ``threshold='mean'``.
        delta (float): Fraction of the epochs that prune, in ``(0, 1]``; the
            remaining ``1 - delta`` train on the full data. Defaults to 0.875.
        threshold (str): ``'mean'`` or ``'quantile'``. Defaults to ``'mean'``.
        quantiles (tuple[float]): Increasing quantiles in ``(0, 1)``, one per
            ratio, for ``threshold='quantile'``. Defaults to ().
        rescale (bool): Whether kept samples of a pruned band get the weight
            ``1 / (1 - ratio)``; False gives every kept sample weight 1 (the
            paper's ablation). Defaults to True.
        selection (str): How :func:`plan_epoch` draws (set by the policy
            class, e.g. :class:`~mmib.core.RandomPolicy`): ``'infobatch'``
            prunes in the bands below the thresholds; ``'random'`` prunes
            the same number of samples, drawn uniformly from all scored
            samples (an equal-cost baseline), and with ``rescale`` weights
            every kept scored sample by ``n_scored / n_kept_scored``.
            Defaults to ``'infobatch'``.
    """

    ratios: Tuple[float, ...]
    delta: float = 0.875
    threshold: str = 'mean'
    quantiles: Tuple[float, ...] = field(default_factory=tuple)
    rescale: bool = True
    selection: str = 'infobatch'

    def __post_init__(self) -> None:
        if self.selection not in SELECTIONS:
            raise ValueError(
                f'selection={self.selection!r} is not a draw of plan_epoch: '
                f'use one of {SELECTIONS} (a policy name such as '
                "policy='seta' goes to build_policy / InfoBatchHook).")
        if not isinstance(self.rescale, bool):
            raise ValueError(
                f'rescale={self.rescale!r} must be True or False.')
        if self.threshold not in THRESHOLD_POLICIES:
            raise ValueError(
                f'threshold={self.threshold!r} is not supported: use one of '
                f'{THRESHOLD_POLICIES}.')
        for r in self.ratios:
            if isinstance(r, bool) or not isinstance(r, (int, float)):
                raise ValueError(
                    f'ratio={r!r} must be a number in [0, 1) (got a '
                    f'{type(r).__name__}), e.g. ratio=0.5.')
            if not 0 <= r < 1:
                raise ValueError(
                    f'ratio={r!r} is outside [0, 1): it is the fraction of '
                    'the below-threshold samples pruned each epoch, e.g. '
                    'ratio=0.5.')
        if isinstance(self.delta, bool) or not isinstance(
                self.delta, (int, float)):
            raise ValueError(
                f'delta={self.delta!r} must be a number in (0, 1] (got a '
                f'{type(self.delta).__name__}), e.g. delta=0.875.')
        if not 0 < self.delta <= 1:
            raise ValueError(
                f'delta={self.delta!r} is outside (0, 1]: it is the fraction '
                'of the training that prunes, e.g. delta=0.875 (the last '
                '12.5% of the epochs train on the full data).')
        if self.threshold == 'mean':
            if len(self.ratios) != 1:
                raise ValueError(
                    "threshold='mean' takes one ratio, got "
                    f'ratio={list(self.ratios)}; for one ratio per band use '
                    "threshold='quantile' with quantiles=[...].")
            if self.quantiles:
                raise ValueError(
                    f'quantiles={list(self.quantiles)} is only used with '
                    "threshold='quantile'.")
        else:
            if len(self.quantiles) != len(self.ratios):
                raise ValueError(
                    f'quantiles={list(self.quantiles)} and '
                    f'ratio={list(self.ratios)} must have the same length: '
                    'one pruning ratio per band below each quantile.')
            if not self.quantiles:
                raise ValueError(
                    "threshold='quantile' needs quantiles=[...], e.g. "
                    'quantiles=[0.2, 0.85] with ratio=[0.75, 0.5].')
            qs = list(self.quantiles)
            if any(not 0 < q < 1 for q in qs) or qs != sorted(set(qs)):
                raise ValueError(
                    f'quantiles={qs} must be strictly increasing values in '
                    '(0, 1).')

    @property
    def weights(self) -> Tuple[float, ...]:
        """Loss weight of the kept samples of each pruned band (all 1
        without ``rescale``)."""
        if not self.rescale:
            return tuple(1.0 for _ in self.ratios)
        return tuple(1.0 / (1.0 - r) for r in self.ratios)

    @property
    def prunes(self) -> bool:
        """Whether any band prunes anything."""
        return any(r > 0 for r in self.ratios)


def num_pruning_epochs(num_epochs: int, delta: float) -> int:
    """Number of leading epochs that prune: ``floor(delta * num_epochs)``.

    Epochs ``0 .. num_pruning_epochs - 1`` prune; the rest (at least
    ``1 - delta`` of the training) anneal on the full data. The comparison is
    on integers, so the annealing epochs never inherit pruning weights.

    Args:
        num_epochs (int): Epochs (data passes) of the whole training.
        delta (float): Fraction of the training that prunes.

    Returns:
        int: The count of pruning epochs.
    """
    # the small epsilon keeps e.g. 0.875 * 8 == 7 exact despite rounding
    return int(math.floor(delta * num_epochs + 1e-9))


def derive_seed(seed: int, epoch: int) -> int:
    """An independent 63-bit seed for ``(seed, epoch)``.

    Args:
        seed (int): The run's seed.
        epoch (int): The epoch (data pass) index.

    Returns:
        int: A seed for ``torch.Generator.manual_seed``.
    """
    sequence = np.random.SeedSequence([int(seed) & (2**63 - 1), int(epoch)])
    return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))


def check_score_momentum(momentum: float) -> float:
    """Validate a score momentum (the weight of the old score).

    Args:
        momentum (float): In ``[0, 1)``; 0 keeps the latest loss.

    Returns:
        float: ``momentum`` as a float.
    """
    if not (isinstance(momentum, (int, float)) and 0 <= momentum < 1):
        raise ValueError(
            f'score_momentum={momentum!r} is outside [0, 1): 0 keeps the '
            'latest loss (the paper), e.g. 0.5 averages over passes.')
    return float(momentum)


class ScoreTable:
    """The score (training loss) of every sample.

    By default a score is the sample's latest loss (the paper). With
    ``momentum > 0`` it is an exponential moving average, ``momentum * old +
    (1 - momentum) * new``, which smooths losses that are noisy from pass to
    pass (e.g. MAE's random masks). Samples never scored are *unseen*: they
    take no part in the thresholds and are never pruned, so the first epoch
    trains everything.

    Args:
        num_samples (int): Length of the data set.
        momentum (float): Weight of the old score, in ``[0, 1)``.
            Defaults to 0 (the latest loss).
    """

    def __init__(self, num_samples: int, momentum: float = 0.0) -> None:
        if num_samples <= 0:
            raise ValueError(f'num_samples must be positive, got '
                             f'{num_samples}')
        self.momentum = check_score_momentum(momentum)
        self.scores = torch.zeros(num_samples, dtype=torch.float32)
        self.seen = torch.zeros(num_samples, dtype=torch.bool)

    def __len__(self) -> int:
        return self.scores.numel()

    def update(self, indices: torch.Tensor, losses: torch.Tensor) -> int:
        """Store ``losses`` as the new scores of ``indices``.

        Non-finite losses (NaN, inf) are not stored: the sample keeps its
        previous score. A sample that appears several times (repeated
        augmentation) gets the mean of its finite losses.

        Args:
            indices (Tensor): Integer sample indices, shape ``(B,)``.
            losses (Tensor): Per-sample losses, shape ``(B,)``.

        Returns:
            int: How many losses were rejected as non-finite.
        """
        indices = indices.reshape(-1).long().cpu()
        losses = losses.detach().reshape(-1).float().cpu()
        if indices.numel() != losses.numel():
            raise ValueError(f'{indices.numel()} indices but '
                             f'{losses.numel()} losses')
        finite = torch.isfinite(losses)
        num_rejected = losses.numel() - int(finite.sum())
        if num_rejected:
            indices, losses = indices[finite], losses[finite]
        unique, inverse = torch.unique(indices, return_inverse=True)
        if unique.numel() < indices.numel():  # repeats: one mean per sample
            sums = torch.zeros(unique.numel()).index_add_(0, inverse, losses)
            counts = torch.bincount(inverse, minlength=unique.numel())
            indices, losses = unique, sums / counts
        if self.momentum:
            old = self.scores[indices]
            losses = torch.where(self.seen[indices],
                                 self.momentum * old +
                                 (1 - self.momentum) * losses, losses)
        self.scores[indices] = losses
        self.seen[indices] = True
        return num_rejected

    def state_dict(self) -> Dict[str, torch.Tensor]:
        """Tensors to checkpoint."""
        return dict(scores=self.scores.clone(), seen=self.seen.clone())

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


@dataclass
class EpochPlan:
    """The samples to train in one epoch and their loss weights.

    Args:
        epoch (int): The epoch this plan is for.
        kept_indices (Tensor): Sorted indices of the samples to train.
        weights (Tensor): Loss weight of every sample, shape ``(N,)``; 0 for
            pruned samples.
        thresholds (Tensor): The score thresholds used (empty when nothing
            was pruned).
        annealing (bool): Whether this is a full-data annealing epoch.
    """

    epoch: int
    kept_indices: torch.Tensor
    weights: torch.Tensor
    thresholds: torch.Tensor
    annealing: bool

    @property
    def num_samples(self) -> int:
        """Size of the data set."""
        return self.weights.numel()

    @property
    def num_kept(self) -> int:
        """Samples trained this epoch."""
        return self.kept_indices.numel()

    @property
    def num_pruned(self) -> int:
        """Samples skipped this epoch."""
        return self.num_samples - self.num_kept


def _full_plan(epoch: int, num_samples: int, annealing: bool) -> EpochPlan:
    return EpochPlan(
        epoch=epoch,
        kept_indices=torch.arange(num_samples),
        weights=torch.ones(num_samples),
        thresholds=torch.empty(0),
        annealing=annealing)


def _bands(table: 'ScoreTable', policy: PruningPolicy):
    """The thresholds and each sample's band.

    Band ``b`` holds ``thresholds[b-1] <= score < thresholds[b]``; the top
    band (``len(thresholds)``) and unseen samples are never pruned.
    """
    thresholds = _thresholds(policy, table.scores[table.seen])
    return thresholds, assign_bands(table, thresholds)


def assign_bands(table: 'ScoreTable',
                 thresholds: torch.Tensor) -> torch.Tensor:
    """Each sample's band for the given thresholds.

    Args:
        table (ScoreTable): The scores.
        thresholds (Tensor): Increasing thresholds.

    Returns:
        Tensor: Band ``b`` for ``thresholds[b-1] <= score < thresholds[b]``;
        unseen samples are in the top band ``len(thresholds)``.
    """
    bands = torch.bucketize(table.scores, thresholds, right=True)
    bands[~table.seen] = len(thresholds)
    return bands


def _thresholds(policy: PruningPolicy, seen_scores: torch.Tensor
                ) -> torch.Tensor:
    if policy.threshold == 'mean':
        return seen_scores.double().mean().reshape(1).float()
    # numpy's quantile partitions (linear time) where torch.quantile sorts
    values = seen_scores.double().numpy()
    return torch.from_numpy(np.quantile(values, policy.quantiles)).float()


def rank_share(num_kept: int, world_size: int, rank: int,
               round_up: bool) -> int:
    """Samples one rank trains in a pass, as ``DefaultSampler`` shards.

    Args:
        num_kept (int): Samples of the pass, all ranks together.
        world_size (int): Number of ranks.
        rank (int): This rank.
        round_up (bool): Whether the list is padded with repeats so that
            every rank gets ``ceil(num_kept / world_size)``; without it
            rank ``r`` gets ``ceil((num_kept - r) / world_size)``, which is
            also the number of its samples that are not repeats.

    Returns:
        int: The rank's samples in the pass.
    """
    if round_up:
        return math.ceil(num_kept / world_size)
    return max(0, math.ceil((num_kept - rank) / world_size))


@dataclass(frozen=True)
class BatchLayout:
    """How the kept samples are batched, to avoid one-sample batches.

    Args:
        batch_size (int): Samples per batch on each rank.
        world_size (int): Number of ranks. Defaults to 1.
        round_up (bool): Whether every rank gets ``ceil(kept / world_size)``
            samples (``DefaultSampler``'s ``round_up``). Defaults to True.
        drop_last (bool): Whether the loader drops a short last batch.
            Defaults to False.
    """

    batch_size: int
    world_size: int = 1
    round_up: bool = True
    drop_last: bool = False

    def has_batch_of_one(self, num_kept: int) -> bool:
        """Whether some rank would end its epoch on a one-sample batch."""
        if self.drop_last or self.batch_size <= 1:
            return False
        ranks = [0] if self.round_up else range(self.world_size)
        return any(
            rank_share(num_kept, self.world_size, r, self.round_up) %
            self.batch_size == 1 for r in ranks)


def _avoid_batch_of_one(num_kept: int, num_samples: int,
                        layout: Optional[BatchLayout]) -> int:
    """The smallest count >= ``num_kept`` without one-sample batches."""
    if layout is None:
        return num_kept
    while num_kept < num_samples and layout.has_batch_of_one(num_kept):
        num_kept += 1
    return num_kept


def plan_epoch(table: ScoreTable,
               policy: PruningPolicy,
               epoch: int,
               num_epochs: int,
               seed: int,
               layout: Optional[BatchLayout] = None) -> EpochPlan:
    """Decide which samples epoch ``epoch`` trains and with which weights.

    Args:
        table (ScoreTable): The current scores.
        policy (PruningPolicy): Ratios, thresholds and annealing.
        epoch (int): 0-based epoch (data pass) index.
        num_epochs (int): Epochs of the whole training.
        seed (int): The run's seed; with ``epoch`` it fixes the random draw.
        layout (BatchLayout, optional): If given, and the kept samples would
            leave some rank a last batch of one sample (which BatchNorm
            cannot train on), the fewest extra samples needed are un-pruned
            (drawn at random from the pruned ones, with their band's weight).

    Returns:
        EpochPlan: The kept indices (sorted) and the weights.
    """
    num_samples = len(table)
    annealing = epoch >= num_pruning_epochs(num_epochs, policy.delta)
    if annealing or not policy.prunes or not bool(table.seen.any()):
        return _full_plan(epoch, num_samples, annealing)

    thresholds, bands = _bands(table, policy)
    generator = torch.Generator().manual_seed(derive_seed(seed, epoch))
    if policy.selection == 'random':
        weights, pruned = _draw_random(table, policy, bands, generator)
    else:
        weights, pruned = _draw_in_bands(policy, bands, generator)

    num_kept = num_samples - pruned.numel()
    target = _avoid_batch_of_one(num_kept, num_samples, layout)
    if target > num_kept:  # un-prune a random few
        order = torch.randperm(pruned.numel(), generator=generator)
        pruned = pruned[order[target - num_kept:]]
    if policy.selection == 'random' and policy.rescale:
        # one weight for all kept scored samples, from the final count
        scored = int(table.seen.sum())
        weights[table.seen] = scored / (scored - pruned.numel())
    weights[pruned] = 0.0
    kept = torch.nonzero(weights > 0).squeeze(1)
    return EpochPlan(
        epoch=epoch,
        kept_indices=kept,
        weights=weights,
        thresholds=thresholds,
        annealing=False)


def _band_prune_counts(policy: PruningPolicy,
                       bands: torch.Tensor) -> Tuple[int, ...]:
    """``floor(ratio * n_band)`` for each band below the top one."""
    sizes = torch.bincount(bands, minlength=len(policy.ratios) + 1).tolist()
    return tuple(
        int(math.floor(ratio * size))
        for ratio, size in zip(policy.ratios, sizes))


def _draw_in_bands(policy: PruningPolicy, bands: torch.Tensor,
                   generator: torch.Generator):
    """InfoBatch: prune ``floor(ratio * n_band)`` at random in each band;
    the band's samples get its weight."""
    weights = torch.ones(bands.numel())
    pruned = []
    for band, (ratio, weight) in enumerate(zip(policy.ratios,
                                               policy.weights)):
        if ratio == 0:
            continue
        members = torch.nonzero(bands == band).squeeze(1)
        order = torch.randperm(members.numel(), generator=generator)
        weights[members] = weight
        pruned.append(members[order[:int(math.floor(ratio *
                                                    members.numel()))]])
    pruned = torch.cat(pruned) if pruned else torch.empty(0, dtype=torch.long)
    return weights, pruned


def _draw_random(table: ScoreTable, policy: PruningPolicy,
                 bands: torch.Tensor, generator: torch.Generator):
    """The random baseline: as many as InfoBatch would prune, drawn
    uniformly from all scored samples (scores do not choose which)."""
    count = sum(_band_prune_counts(policy, bands))
    scored = torch.nonzero(table.seen).squeeze(1)
    order = torch.randperm(scored.numel(), generator=generator)
    return torch.ones(bands.numel()), scored[order[:count]]


def expected_num_kept(table: ScoreTable,
                      policy: PruningPolicy,
                      layout: Optional[BatchLayout] = None) -> int:
    """How many samples :func:`plan_epoch` keeps for the current scores.

    Useful to predict savings: the count is deterministic, only *which*
    samples are kept is random.

    Args:
        table (ScoreTable): The current scores.
        policy (PruningPolicy): Ratios and thresholds.
        layout (BatchLayout, optional): As for :func:`plan_epoch`.

    Returns:
        int: Samples kept in a pruning epoch.
    """
    if not bool(table.seen.any()) or not policy.prunes:
        return len(table)
    _, bands = _bands(table, policy)
    pruned = sum(_band_prune_counts(policy, bands))
    return _avoid_batch_of_one(len(table) - pruned, len(table), layout)
