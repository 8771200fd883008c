"""InfoBatch pruning maths on plain tensors.

InfoBatch (Qin et al., ICLR 2024) keeps one score per sample, its latest
training loss. Before each epoch the samples are split into *bands* by
thresholds on the scores; in every band but the top one a fraction ``ratio``
of the samples is dropped at random for this epoch, and the kept samples of
that band get the loss weight ``n_band / kept_band`` (the paper's
``1 / (1 - ratio)``, exact for the whole counts pruned: see
:func:`exact_weights`) so that the expected gradient is unchanged. The top band (scores at or above the last threshold)
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
            ``n_band / kept_band`` (about ``1 / (1 - ratio)``); False gives every kept sample weight 1 (the
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
        """The nominal loss weight ``1 / (1 - ratio)`` of each pruned band
        (all 1 without ``rescale``): the largest a plan gives, since a band
        keeps ``n - floor(ratio * n) >= (1 - ratio) * n`` samples and is
        weighted ``n / kept`` (:func:`exact_weights`)."""
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


#: what a score is: ``'sample'``, each sample's own loss (the paper);
#: ``'batch'``, the mean loss of the batches it was in (BLS)
SCORE_KINDS = ('sample', 'batch')
#: BLS's average factor (the authors' README: ``BLS(..., alpha=0.7)``)
BATCH_SCORE_MOMENTUM = 0.7


def check_scores(scores: str, momentum: Optional[float]) -> Tuple[bool, float]:
    """Validate the hook's ``scores`` and ``score_momentum``.

    Args:
        scores (str): One of :data:`SCORE_KINDS`.
        momentum (float, optional): Weight of the old score; None: 0 for
            per-sample scores, :data:`BATCH_SCORE_MOMENTUM` for batch ones.

    Returns:
        tuple[bool, float]: Whether scores are batch scores, and the
        momentum.
    """
    if scores not in SCORE_KINDS:
        raise ValueError(
            f'scores={scores!r} is not supported: use one of {SCORE_KINDS} '
            "('batch' scores each sample with the mean loss of its batches, "
            'for losses that cannot be split per sample).')
    batch = scores == 'batch'
    if momentum is None:
        momentum = BATCH_SCORE_MOMENTUM if batch else 0.0
    return batch, check_score_momentum(momentum)


#: bits of a score stamp that hold the step within the pass
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
            (drawn at random from the pruned ones; the weights follow the
            final counts).

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
        pruned = _draw_random(table, policy, bands, generator)
        # one group: the scored samples (the unscored ones are never pruned)
        groups, rescaled = table.seen.long(), torch.tensor([False, True])
    else:
        pruned = _draw_in_bands(policy, bands, generator)
        groups = bands
        rescaled = torch.tensor([r > 0 for r in policy.ratios] + [False])

    num_kept = num_samples - pruned.numel()
    target = _avoid_batch_of_one(num_kept, num_samples, layout)
    if target > num_kept:  # un-prune a random few
        order = torch.randperm(pruned.numel(), generator=generator)
        pruned = pruned[order[target - num_kept:]]
    weights = exact_weights(groups, pruned,
                            rescaled if policy.rescale else
                            torch.zeros_like(rescaled))
    kept = torch.nonzero(weights > 0).squeeze(1)
    return EpochPlan(
        epoch=epoch,
        kept_indices=kept,
        weights=weights,
        thresholds=thresholds,
        annealing=False)


def exact_weights(groups: torch.Tensor, pruned: torch.Tensor,
                  rescaled: torch.Tensor) -> torch.Tensor:
    """Loss weights that keep every group's expected weight at exactly 1.

    A group of ``n`` samples of which ``k`` are kept gives each kept one the
    weight ``n / k`` (the paper's ``1 / (1 - ratio)`` is this only when
    ``ratio * n`` is a whole number: a band of 3 at ratio 0.5 prunes
    ``floor(1.5) = 1`` and keeps 2, so ``1 / (1 - 0.5) = 2`` would give the
    band an expected weight of 4/3). The count is the final one, after any
    un-pruning (:func:`_avoid_batch_of_one`), so the identity holds for
    every plan: ``sum(weights[group]) == n``.

    Args:
        groups (Tensor): Each sample's group, shape ``(N,)``, values in
            ``[0, len(rescaled))``.
        pruned (Tensor): Indices of the pruned samples.
        rescaled (Tensor): Bool per group: whether its kept samples are
            rescaled (False: weight 1, e.g. the top band or
            ``rescale=False``).

    Returns:
        Tensor: Shape ``(N,)``: 0 for pruned samples, the group's weight
        for kept ones.
    """
    num_groups = rescaled.numel()
    sizes = torch.bincount(groups, minlength=num_groups).double()
    cut = torch.bincount(groups[pruned], minlength=num_groups).double()
    kept = sizes - cut
    per_group = torch.where(rescaled & (kept > 0), sizes / kept.clamp(min=1),
                            torch.ones_like(sizes))
    weights = per_group.float()[groups]
    weights[pruned] = 0.0
    return weights


def _band_prune_counts(policy: PruningPolicy,
                       bands: torch.Tensor) -> Tuple[int, ...]:
    """``floor(ratio * n_band)`` for each band below the top one."""
    sizes = torch.bincount(bands, minlength=len(policy.ratios) + 1).tolist()
    return tuple(
        int(math.floor(ratio * size))
        for ratio, size in zip(policy.ratios, sizes))


def _draw_in_bands(policy: PruningPolicy, bands: torch.Tensor,
                   generator: torch.Generator) -> torch.Tensor:
    """InfoBatch: prune ``floor(ratio * n_band)`` at random in each band.

    Returns:
        Tensor: The pruned indices.
    """
    pruned = []
    for band, ratio in enumerate(policy.ratios):  # a few bands, not samples
        if ratio == 0:
            continue
        members = torch.nonzero(bands == band).squeeze(1)
        order = torch.randperm(members.numel(), generator=generator)
        pruned.append(members[order[:int(math.floor(ratio *
                                                    members.numel()))]])
    return (torch.cat(pruned) if pruned else torch.empty(0,
                                                         dtype=torch.long))


def _draw_random(table: ScoreTable, policy: PruningPolicy,
                 bands: torch.Tensor,
                 generator: torch.Generator) -> torch.Tensor:
    """The random baseline: as many as InfoBatch would prune, drawn
    uniformly from all scored samples (scores do not choose which).

    Returns:
        Tensor: The pruned indices.
    """
    count = sum(_band_prune_counts(policy, bands))
    scored = torch.nonzero(table.seen).squeeze(1)
    order = torch.randperm(scored.numel(), generator=generator)
    return scored[order[:count]]


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
