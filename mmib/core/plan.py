"""A pass's plan: which samples it trains and with which loss weights.

InfoBatch (Qin et al., ICLR 2024) keeps one score per sample, its latest
training loss. Before each pass the samples are split into *bands* by
thresholds on the scores; in every band but the top one a fraction ``ratio``
of the samples is dropped at random for this pass, and the kept samples of
that band get the loss weight ``n_band / kept_band`` (the paper's
``1 / (1 - ratio)``, exact for the whole counts pruned: see
:func:`exact_weights`) so that the expected gradient is unchanged. The top
band (scores at or above the last threshold) and samples never scored yet
are always trained with weight 1. The last
``1 - delta`` of the passes (annealing) train every sample with weight 1.

Two threshold policies:

* ``'mean'`` (the paper): one threshold, the mean of the scores; ``ratio`` is
  the fraction pruned of the samples *below the mean*, so the overall saving
  of a pass is lower than ``ratio``.
* ``'quantile'``: thresholds at the given quantiles of the scores, one
  ``ratio`` per band below the top quantile (e.g. the authors' ADE20K setting
  ``quantiles=(0.2, 0.85), ratios=(0.75, 0.5)``).

Everything here is vectorised and seeded explicitly: the global torch and
numpy random states are never touched, and the same ``(seed, pass, scores)``
always gives the same plan.
"""
import math
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import numpy as np
import torch

from .scores import ScoreTable
from .settings import PruningSettings, num_pruning_passes

#: a draw of :func:`plan_pass`: ``(table, settings, bands, generator)`` ->
#: ``(pruned indices, each sample's group, per group: rescaled or not)``
Draw = Callable[..., Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def derive_seed(seed: int, pass_index: int) -> int:
    """An independent 63-bit seed for ``(seed, pass_index)``.

    Args:
        seed (int): The run's seed.
        pass_index (int): The pass index.

    Returns:
        int: A seed for ``torch.Generator.manual_seed``.
    """
    sequence = np.random.SeedSequence(
        [int(seed) & (2**63 - 1), int(pass_index)])
    return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))


@dataclass
class PassPlan:
    """The samples to train in one pass and their loss weights.

    Args:
        pass_index (int): The pass this plan is for.
        kept_indices (Tensor): Sorted indices of the samples to train.
        weights (Tensor): Loss weight of every sample, shape ``(N,)``; 0 for
            pruned samples.
        thresholds (Tensor): The score thresholds used (empty when nothing
            was pruned).
        annealing (bool): Whether this is a full-data annealing pass.
    """

    pass_index: int
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
        """Samples trained this pass."""
        return self.kept_indices.numel()

    @property
    def num_pruned(self) -> int:
        """Samples skipped this pass."""
        return self.num_samples - self.num_kept


def full_plan(pass_index: int, num_samples: int, annealing: bool) -> PassPlan:
    """The plan that trains every sample with weight 1."""
    return PassPlan(
        pass_index=pass_index,
        kept_indices=torch.arange(num_samples),
        weights=torch.ones(num_samples),
        thresholds=torch.empty(0),
        annealing=annealing)


def bands_of(table: ScoreTable, policy: PruningSettings):
    """The thresholds and each sample's band.

    Band ``b`` holds ``thresholds[b-1] <= score < thresholds[b]``; the top
    band (``len(thresholds)``) and unseen samples are never pruned.
    """
    thresholds = thresholds_of(policy, table.scores[table.seen])
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


def thresholds_of(policy: PruningSettings,
                  seen_scores: torch.Tensor) -> torch.Tensor:
    """The thresholds of ``policy`` over the scored samples' scores."""
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
        """Whether some rank would end its pass on a one-sample batch."""
        if self.drop_last or self.batch_size <= 1:
            return False
        ranks = [0] if self.round_up else range(self.world_size)
        return any(
            rank_share(num_kept, self.world_size, r, self.round_up) %
            self.batch_size == 1 for r in ranks)


def avoid_batch_of_one(num_kept: int, num_samples: int,
                       layout: Optional[BatchLayout]) -> int:
    """The smallest count >= ``num_kept`` without one-sample batches."""
    if layout is None:
        return num_kept
    while num_kept < num_samples and layout.has_batch_of_one(num_kept):
        num_kept += 1
    return num_kept


def plan_pass(table: ScoreTable,
              policy: PruningSettings,
              pass_index: int,
              num_passes: float,
              seed: int,
              layout: Optional[BatchLayout] = None,
              draw: Optional[Draw] = None) -> PassPlan:
    """Decide which samples pass ``pass_index`` trains and with which
    weights.

    Args:
        table (ScoreTable): The current scores.
        policy (PruningSettings): Ratios, thresholds and annealing.
        pass_index (int): 0-based pass index.
        num_passes (float): Passes of the whole training.
        seed (int): The run's seed; with ``pass_index`` it fixes the draw.
        layout (BatchLayout, optional): If given, and the kept samples would
            leave some rank a last batch of one sample (which BatchNorm
            cannot train on), the fewest extra samples needed are un-pruned
            (drawn at random from the pruned ones; the weights follow the
            final counts).
        draw (Draw, optional): Which samples are pruned; None:
            :func:`draw_in_bands` (InfoBatch). The random baseline passes
            :func:`draw_uniform`.

    Returns:
        PassPlan: The kept indices (sorted) and the weights.
    """
    num_samples = len(table)
    annealing = pass_index >= num_pruning_passes(num_passes, policy.delta)
    if annealing or not policy.prunes or not bool(table.seen.any()):
        return full_plan(pass_index, num_samples, annealing)

    thresholds, bands = bands_of(table, policy)
    generator = torch.Generator().manual_seed(derive_seed(seed, pass_index))
    pruned, groups, rescaled = (draw or draw_in_bands)(table, policy, bands,
                                                       generator)
    num_kept = num_samples - pruned.numel()
    target = avoid_batch_of_one(num_kept, num_samples, layout)
    if target > num_kept:  # un-prune a random few
        order = torch.randperm(pruned.numel(), generator=generator)
        pruned = pruned[order[target - num_kept:]]
    weights = exact_weights(groups, pruned,
                            rescaled if policy.rescale else
                            torch.zeros_like(rescaled))
    kept = torch.nonzero(weights > 0).squeeze(1)
    return PassPlan(
        pass_index=pass_index,
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
    un-pruning (:func:`avoid_batch_of_one`), so the identity holds for
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


def band_prune_counts(policy: PruningSettings,
                      bands: torch.Tensor) -> Tuple[int, ...]:
    """``floor(ratio * n_band)`` for each band below the top one."""
    sizes = torch.bincount(bands, minlength=len(policy.ratios) + 1).tolist()
    return tuple(
        int(math.floor(ratio * size))
        for ratio, size in zip(policy.ratios, sizes))


def draw_in_bands(table: ScoreTable, policy: PruningSettings,
                  bands: torch.Tensor, generator: torch.Generator) -> tuple:
    """InfoBatch's draw (:data:`Draw`): ``floor(ratio * n_band)`` pruned at
    random in each band below the top one; the bands are the groups, the
    pruned ones rescaled."""
    pruned = []
    for band, ratio in enumerate(policy.ratios):  # a few bands, not samples
        if ratio == 0:
            continue
        members = torch.nonzero(bands == band).squeeze(1)
        order = torch.randperm(members.numel(), generator=generator)
        pruned.append(members[order[:int(math.floor(ratio *
                                                    members.numel()))]])
    pruned = (torch.cat(pruned)
              if pruned else torch.empty(0, dtype=torch.long))
    rescaled = torch.tensor([r > 0 for r in policy.ratios] + [False])
    return pruned, bands, rescaled


def draw_uniform(table: ScoreTable, policy: PruningSettings,
                 bands: torch.Tensor, generator: torch.Generator) -> tuple:
    """The random baseline's draw (:data:`Draw`): as many as InfoBatch
    would prune, drawn uniformly from all scored samples (scores do not
    choose which); one rescaled group, the scored samples (the unscored
    ones are never pruned)."""
    count = sum(band_prune_counts(policy, bands))
    scored = torch.nonzero(table.seen).squeeze(1)
    order = torch.randperm(scored.numel(), generator=generator)
    return (scored[order[:count]], table.seen.long(),
            torch.tensor([False, True]))


def expected_num_kept(table: ScoreTable,
                      policy: PruningSettings,
                      layout: Optional[BatchLayout] = None) -> int:
    """How many samples :func:`plan_pass` keeps for the current scores.

    Useful to predict savings: the count is deterministic, only *which*
    samples are kept is random.

    Args:
        table (ScoreTable): The current scores.
        policy (PruningSettings): Ratios and thresholds.
        layout (BatchLayout, optional): As for :func:`plan_pass`.

    Returns:
        int: Samples kept in a pruning pass.
    """
    if not bool(table.seen.any()) or not policy.prunes:
        return len(table)
    _, bands = bands_of(table, policy)
    pruned = sum(band_prune_counts(policy, bands))
    return avoid_batch_of_one(len(table) - pruned, len(table), layout)
