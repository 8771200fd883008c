"""Pass policies: which samples a pass trains, and with which loss weights.

A policy turns the score table and the pass index into the pass's
:class:`~mmib.core.PassPlan` (kept indices and weights). It is chosen by
name (``InfoBatchHook(policy=...)``) from :data:`POLICIES`; a user adds one
with :func:`register_policy` in a module the config lists in
``custom_imports``. Every policy here is a pure function of ``(scores,
pass index, seed)``: it draws with its own seeded generator, touches no
global random state, and so needs no state of its own in a checkpoint
(:meth:`PassPolicy.state_dict` is there for policies that do).

* ``'infobatch'``: InfoBatch (Qin et al., ICLR 2024), see
  :func:`~mmib.core.plan_pass`.
* ``'random'``: the equal-cost baseline: as many samples pruned as
  InfoBatch would prune, drawn uniformly from the scored samples.
* ``'seta'``: SeTa (Zhou, Gao and Wang, "Scale Efficient Training for Large
  Datasets", CVPR 2025; the authors' code ``mrazhou/SeTa``), see
  :class:`SeTaPolicy`.
* ``'orderdp'``: OrderDP (Jin et al., ICLR 2026), see
  :class:`OrderDPPolicy`.
* ``'repb'``: RePB (ICLR 2026), see :class:`RePBPolicy`.
* ``'soft_random'``: soft random sampling (Cui et al., arXiv 2311.12727):
  uniform draws with replacement, about ``(1 - ratio) * N`` distinct ones
  per pass, see :class:`SoftRandomPolicy`.
"""
import copy
import dataclasses
import math
from typing import Any, Callable, Dict, Optional, Type

import torch

from .plan import (BatchLayout, PassPlan, avoid_batch_of_one, bands_of,
                   derive_seed, draw_in_bands, draw_uniform, full_plan,
                   plan_pass)
from .scores import ScoreTable, stamp_pass, stamp_step
from .settings import PruningSettings, num_pruning_passes

#: the highest ratio a savings budget gives a band (loss weight 20)
MAX_BUDGET_RATIO = 0.95
#: policy name -> class
POLICIES: Dict[str, Type['PassPolicy']] = {}


def register_policy(name: str, force: bool = False) -> Callable:
    """Register a :class:`PassPolicy` subclass under ``name``.

    Args:
        name (str): The name ``InfoBatchHook(policy=name)`` takes.
        force (bool): Replace a policy of the same name.
    """

    def register(cls: Type['PassPolicy']) -> Type['PassPolicy']:
        if name in POLICIES and not force:
            raise KeyError(f'a pass policy named {name!r} is registered '
                           'already (use force=True to replace it)')
        if not (isinstance(cls, type) and issubclass(cls, PassPolicy)):
            raise TypeError(f'{cls!r} is not a PassPolicy subclass')
        cls.name = name
        POLICIES[name] = cls
        return cls

    return register


class PassPolicy:
    """The base of pass policies.

    Args:
        pruning (PruningSettings): ``ratio``, ``delta``, thresholds and
            ``rescale`` of the hook.
        **options: Policy-specific settings (``policy_options`` of the hook).
    """

    name = 'base'
    #: whether the annealing passes also train a subset (a savings budget
    #: then shares itself over them too)
    prunes_when_annealing = False
    #: whether the policy takes one ratio (no quantile bands)
    one_ratio = False
    #: whether every kept sample has weight 1 (no rescaling)
    unit_weights = False

    def __init__(self, pruning: PruningSettings, **options: Any) -> None:
        if options:
            raise ValueError(
                f'policy={self.name!r} takes no policy_options, got '
                f'{sorted(options)}.')
        if self.one_ratio and len(pruning.ratios) != 1:
            raise ValueError(f'policy={self.name!r} takes one ratio, got '
                             f'ratio={list(pruning.ratios)}.')
        self.pruning = pruning

    @property
    def prunes(self) -> bool:
        """Whether any pass can train fewer samples than the data set."""
        return self.pruning.prunes

    def shortened_passes(self, num_passes: float) -> int:
        """The passes that may train fewer samples: the first
        ``floor(delta * passes)``, or every pass for a policy that also
        trains a subset while annealing (:attr:`prunes_when_annealing`).

        Args:
            num_passes (float): Passes of the run.
        """
        if self.prunes_when_annealing:
            return math.ceil(num_passes)
        return num_pruning_passes(num_passes, self.pruning.delta)

    def plan(self, table: ScoreTable, pass_index: int, num_passes: float,
             seed: int, layout: Optional[BatchLayout] = None) -> PassPlan:
        """The plan of pass ``pass_index`` (0-based).

        Args:
            table (ScoreTable): The scores.
            pass_index (int): The pass.
            num_passes (float): Passes of the whole run.
            seed (int): The run's pruning seed.
            layout (BatchLayout, optional): Avoid one-sample last batches.
        """
        raise NotImplementedError

    def describe(self) -> str:
        """What the policy does, for the log."""
        return f'policy {self.name!r}'

    def _full_pass_or_draws(self, table: ScoreTable, pass_index: int,
                            num_passes: float, seed: int):
        """The full plan of an annealing pass, a pass before any score or
        a policy that does not prune; else None and the pass's seeded
        generator."""
        annealing = pass_index >= num_pruning_passes(num_passes,
                                                     self.pruning.delta)
        if annealing or not self.prunes or not bool(table.seen.any()):
            return full_plan(pass_index, len(table), annealing), None
        return None, torch.Generator().manual_seed(
            derive_seed(seed, pass_index))

    @classmethod
    def weight_bound(cls, ratios: tuple, rescale: bool, budget: bool,
                     num_passes: float, num_samples: int) -> float:
        """The largest loss weight a plan of this policy can give, to check
        a checkpoint's plan against (here: 1 for :attr:`unit_weights`, else
        the data set's size).

        Args:
            ratios (tuple): The run's ratios.
            rescale (bool): ``rescale`` of the run.
            budget (bool): Whether the run has a ``target_saving``.
            num_passes (float): Passes of the run.
            num_samples (int): Samples of the data set.
        """
        return 1.0 if cls.unit_weights else float(num_samples)

    def ratios_for(self, table: ScoreTable, num_kept: int,
                   pass_index: int = 1, annealing: bool = False) -> tuple:
        """The ratios with which a pass keeps about ``num_kept`` samples
        (for a savings budget). Policies without a rule raise."""
        raise ValueError(f'policy={self.name!r} does not support '
                         'target_saving; set its ratio instead.')

    def with_ratios(self, ratios: tuple) -> 'PassPolicy':
        """This policy with other ratios (same options)."""
        twin = copy.copy(self)
        twin.pruning = dataclasses.replace(self.pruning,
                                           ratios=tuple(ratios))
        return twin

    def state_dict(self) -> Dict[str, Any]:
        """The policy's own state for checkpoints (none here)."""
        return {}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""


@register_policy('infobatch')
class InfoBatchPolicy(PassPolicy):
    """InfoBatch: prune ``ratio`` of the samples below the thresholds, the
    kept ones weighted ``1 / (1 - ratio)`` (:func:`plan_pass`)."""

    #: which samples :func:`plan_pass` prunes
    draw = staticmethod(draw_in_bands)

    def describe(self) -> str:
        from .describe import describe_policy
        return describe_policy(self.pruning)

    def ratios_for(self, table: ScoreTable, num_kept: int,
                   pass_index: int = 1, annealing: bool = False) -> tuple:
        """Scale the band ratios alike so that ``sum(r_b * n_b)`` prunes
        ``N - num_kept``, each at most :data:`MAX_BUDGET_RATIO` (a loss
        weight of 20): where the bands below the thresholds are too small,
        the pass keeps more and the budget's later passes make up for it."""
        _, bands = bands_of(table, self.pruning)
        sizes = torch.bincount(bands, minlength=len(self.pruning.ratios) +
                               1).tolist()
        ratios = self.pruning.ratios
        base = sum(r * n for r, n in zip(ratios, sizes))
        if base <= 0:
            return ratios
        scale = (len(table) - num_kept) / base
        return tuple(
            min(max(0.0, r * scale), MAX_BUDGET_RATIO,
                (n - 1) / n if n > 0 else 0.0)
            for r, n in zip(ratios, sizes))

    def plan(self, table, pass_index, num_passes, seed, layout=None):
        return plan_pass(table, self.pruning, pass_index, num_passes, seed,
                         layout, self.draw)

    @classmethod
    def weight_bound(cls, ratios, rescale, budget, num_passes, num_samples):
        """``1 / (1 - ratio)`` (a band weighs ``n / kept <= that``); with a
        budget, that of :data:`MAX_BUDGET_RATIO`."""
        if not rescale:
            return 1.0
        top = MAX_BUDGET_RATIO if budget else max(ratios, default=0.0)
        return 1.0 / (1.0 - top)


@register_policy('random')
class RandomPolicy(InfoBatchPolicy):
    """The equal-cost random-pruning baseline: the count of InfoBatch,
    drawn uniformly from the scored samples
    (:func:`~mmib.core.plan.draw_uniform`)."""

    draw = staticmethod(draw_uniform)

    def describe(self) -> str:
        from .describe import describe_policy
        return describe_policy(self.pruning, uniform=True)


def _plan_of(pass_index: int, kept: torch.Tensor, weights: torch.Tensor,
             num_samples: int) -> PassPlan:
    full = torch.zeros(num_samples)
    full[kept] = weights
    return PassPlan(pass_index=pass_index, kept_indices=torch.sort(kept)[0],
                    weights=full, thresholds=torch.empty(0),
                    annealing=False)


def _unprune_random_few(kept: torch.Tensor, num_samples: int,
                        layout: Optional[BatchLayout],
                        generator: torch.Generator) -> torch.Tensor:
    """``kept`` with the fewest extra samples (drawn at random from the
    others) that leave no rank a one-sample last batch."""
    target = avoid_batch_of_one(kept.numel(), num_samples, layout)
    if target <= kept.numel():
        return kept
    out = torch.ones(num_samples, dtype=torch.bool)
    out[kept] = False
    rest = torch.nonzero(out).squeeze(1)
    extra = rest[torch.randperm(rest.numel(),
                                generator=generator)[:target - kept.numel()]]
    return torch.cat([kept, extra])


def kmeans_1d(values: torch.Tensor, k: int,
              iterations: int = 50) -> torch.Tensor:
    """Lloyd's k-means of scalar values, started at evenly spaced quantiles
    (deterministic), groups ordered by centre. Vectorised: ``(n, k)``
    distances per iteration.

    Args:
        values (Tensor): Shape ``(n,)``.
        k (int): Groups (at most ``n``).

    Returns:
        Tensor: Each value's group, ``0`` = the lowest centre.
    """
    values = values.double()
    k = max(1, min(k, values.numel()))
    centres = torch.quantile(values, (torch.arange(k, dtype=torch.float64) +
                                      0.5) / k)
    labels = torch.zeros(values.numel(), dtype=torch.long)
    for _ in range(iterations):
        labels = (values[:, None] - centres[None, :]).abs().argmin(1)
        sums = torch.zeros(k, dtype=torch.float64).index_add_(0, labels,
                                                              values)
        counts = torch.bincount(labels, minlength=k)
        new = torch.where(counts > 0, sums / counts.clamp(min=1), centres)
        if torch.equal(new, centres):
            break
        centres = new
    order = torch.argsort(centres)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(k)
    return rank[labels]


@register_policy('seta')
class SeTaPolicy(PassPolicy):
    """SeTa: random subsampling, loss groups, a sliding window easy to hard.

    Zhou, Gao and Wang, "Scale Efficient Training for Large Datasets"
    (CVPR 2025; the authors' code ``mrazhou/SeTa``, ``seta.py``). In each
    pruning pass ``k`` (``k = 0`` is the first pass that has scores):

    1. a random subset of ``1 - ratio`` of the scored samples;
    2. its scores grouped by 1-D k-means into ``num_groups`` groups,
       ordered from easy (low loss) to hard;
    3. a window of ``round(num_groups * window_scale)`` consecutive groups
       trained, starting at group ``k mod (num_groups - window + 1)``; the
       first pruning pass trains every group of the subset.

    Kept samples have weight 1 (SeTa does not rescale). In the last
    ``1 - delta`` of the passes it trains a random ``1 - ratio`` subset
    (the authors' "partial annealing"). As everywhere in mmib, samples not
    scored yet are always trained, so the first pass trains all samples.
    The defaults are those of the authors' CIFAR script (``scripts/cifar.sh``:
    ``num_group=5``, ``window_scale=0.9``).

    Args:
        pruning (PruningSettings): ``ratio`` is SeTa's prune ratio (the
            random subsampling), ``delta`` its annealing point.
        num_groups (int): k-means groups. Defaults to 5.
        window_scale (float): Fraction of the groups in the window, in
            ``(0, 1]``. Defaults to 0.9.
    """

    prunes_when_annealing = True  # the authors' partial annealing
    one_ratio = True
    unit_weights = True

    def __init__(self, pruning: PruningSettings, num_groups: int = 5,
                 window_scale: float = 0.9) -> None:
        super().__init__(pruning)
        if isinstance(num_groups, bool) or not isinstance(
                num_groups, int) or num_groups < 1:
            raise ValueError(f'policy_options num_groups={num_groups!r} must '
                             'be a positive integer, e.g. 5.')
        if not (isinstance(window_scale, (int, float))
                and 0 < window_scale <= 1):
            raise ValueError(f'policy_options window_scale={window_scale!r} '
                             'must be in (0, 1], e.g. 0.9.')
        self.num_groups = num_groups
        self.window_scale = float(window_scale)
        self.window = max(1, round(num_groups * window_scale))

    @property
    def prunes(self) -> bool:
        return self.pruning.ratios[0] > 0 or self.window < self.num_groups

    def describe(self) -> str:
        return (f"SeTa: a random {1 - self.pruning.ratios[0]:g} of the "
                f'scored samples, {self.num_groups} loss groups, a window of '
                f'{self.window} sliding from easy to hard, weight 1')

    def plan(self, table, pass_index, num_passes, seed, layout=None):
        n = len(table)
        seen = torch.nonzero(table.seen).squeeze(1)
        if not seen.numel() or not self.prunes:
            return full_plan(pass_index, n, False)
        generator = torch.Generator().manual_seed(derive_seed(seed,
                                                              pass_index))
        keep = 1.0 - self.pruning.ratios[0]
        subset = seen[torch.randperm(seen.numel(),
                                     generator=generator)[:int(keep *
                                                               seen.numel())]]
        unseen = torch.nonzero(~table.seen).squeeze(1)
        annealing = pass_index >= num_pruning_passes(num_passes,
                                                     self.pruning.delta)
        if not annealing and subset.numel() > self.num_groups:
            step = self._pruning_step(pass_index)
            if step > 0:
                groups = kmeans_1d(table.scores[subset], self.num_groups)
                slide = self.num_groups - self.window
                start = step % (slide + 1)
                inside = (groups >= start) & (groups < start + self.window)
                subset = subset[inside]
        kept = _unprune_random_few(torch.cat([subset, unseen]), n, layout,
                                   generator)
        plan = _plan_of(pass_index, kept, torch.ones(kept.numel()), n)
        plan.annealing = annealing
        return plan

    def ratios_for(self, table: ScoreTable, num_kept: int,
                   pass_index: int = 1, annealing: bool = False) -> tuple:
        """The subsample fraction ``f`` with ``f * S * window / groups``
        about ``num_kept`` (``S`` scored samples; the first pruning pass
        has no window), at most 1."""
        scored = max(1, int(table.seen.sum()))
        window = (self.window / self.num_groups
                  if self._pruning_step(pass_index) > 0 and not annealing
                  else 1.0)
        fraction = min(1.0, num_kept / (scored * window))
        return (max(0.0, 1.0 - fraction), )

    @staticmethod
    def _pruning_step(pass_index: int) -> int:
        """``k`` of the window: pass 0 only scores, pass 1 is ``k = 0``."""
        return pass_index - 1


@register_policy('soft_random')
class SoftRandomPolicy(PassPolicy):
    """Soft random sampling: uniform draws with replacement per pass (Cui et
    al., arXiv 2311.12727), an equal-cost baseline that ignores the scores.

    ``ratio`` is, as for the other policies, the (expected) fraction of the
    samples a pass leaves out: the pass makes ``m = -N ln(ratio)`` draws, of
    which about ``N (1 - ratio)`` are distinct. A sample drawn ``c`` times is
    trained once with loss weight ``c`` (the expected gradient of ``c``
    copies, at the cost of one). With ``rescale`` the weights are multiplied
    by ``N / m``, so the expected gradient of a pass is the full data's. The
    last ``1 - delta`` of the passes train all samples.

    Args:
        pruning (PruningSettings): ``ratio``, ``delta`` and ``rescale``.
    """

    one_ratio = True

    def __init__(self, pruning: PruningSettings) -> None:
        super().__init__(pruning)

    def draws(self, num_samples: int) -> int:
        """Draws of a pass: ``-N ln(ratio)``."""
        return max(1, round(-num_samples * math.log(self.pruning.ratios[0])))

    def ratios_for(self, table: ScoreTable, num_kept: int,
                   pass_index: int = 1, annealing: bool = False) -> tuple:
        """``ratio = 1 - num_kept / N`` (the expected distinct count)."""
        return (min(0.999, max(0.0, 1 - num_kept / len(table))), )

    def describe(self) -> str:
        return (f'soft random sampling: -N ln({self.pruning.ratios[0]:g}) '
                'uniform draws with replacement per pass, '
                + ('rescaled' if self.pruning.rescale else 'weight = draws'))

    def plan(self, table, pass_index, num_passes, seed, layout=None):
        n = len(table)
        full, generator = self._full_pass_or_draws(table, pass_index,
                                                   num_passes, seed)
        if full is not None:
            return full
        draws = self.draws(n)
        picks = torch.randint(0, n, (draws, ), generator=generator)
        counts = torch.bincount(picks, minlength=n).float()
        target = avoid_batch_of_one(int((counts > 0).sum()), n, layout)
        missing = torch.nonzero(counts == 0).squeeze(1)
        extra = target - int((counts > 0).sum())
        if extra > 0:  # un-prune a random few, weight 1 draw each
            counts[missing[torch.randperm(missing.numel(),
                                          generator=generator)[:extra]]] = 1
        if self.pruning.rescale:
            counts = counts * (n / counts.sum())
        kept = torch.nonzero(counts > 0).squeeze(1)
        return _plan_of(pass_index, kept, counts[kept], n)


@register_policy('orderdp')
class OrderDPPolicy(PassPolicy):
    """OrderDP: the highest stored losses of a uniform random pool.

    Jin et al., ICLR 2026 (the authors' code ``shengze-xu/OrderDP``,
    ``cifar/orderDP/orderDP.py``). Each pass after the first (which scores
    every sample):

    1. a pool of ``s = pool_ratio * N`` samples drawn uniformly without
       replacement;
    2. of the pool, the ``q = N - floor(ratio * N)`` samples with the
       highest stored scores are trained, each with weight 1.

    The random pool makes the choice stochastic (a sample of low loss is
    trained whenever its pool holds fewer than ``q`` samples of higher
    loss), the order statistic makes it favour hard samples. There is no
    rescaling and no annealing: every pass after the first trains exactly
    ``q`` samples, so ``delta`` and ``rescale`` are not used and the run
    saves ``ratio * (passes - 1) / passes``. When ``q > s`` the pool grows
    to ``q`` (a uniform random subset). The authors' CIFAR defaults
    ``random_len_ratio=0.75, top_q_ratio=0.85`` are ``pool_ratio=0.75``
    with ``ratio = 1 - 0.75 * 0.85 = 0.3625``.

    Args:
        pruning (PruningSettings): ``ratio`` is the fraction of the samples a
            pass leaves out.
        pool_ratio (float): The pool's fraction of the samples, in
            ``(0, 1]``. Defaults to 0.75 (the authors').
    """

    prunes_when_annealing = True  # no annealing: every pass prunes
    one_ratio = True
    unit_weights = True

    def __init__(self, pruning: PruningSettings,
                 pool_ratio: float = 0.75) -> None:
        super().__init__(pruning)
        if isinstance(pool_ratio, bool) or not (
                isinstance(pool_ratio, (int, float)) and 0 < pool_ratio <= 1):
            raise ValueError(f'policy_options pool_ratio={pool_ratio!r} must '
                             'be in (0, 1], e.g. 0.75 (the authors\').')
        self.pool_ratio = float(pool_ratio)

    def describe(self) -> str:
        return (f'OrderDP: of a uniform random pool of {self.pool_ratio:g} of '
                f'the samples, the {1 - self.pruning.ratios[0]:g} of all '
                'samples with the highest scores, weight 1, every pass after '
                'the first (no annealing: delta is not used)')

    def ratios_for(self, table: ScoreTable, num_kept: int,
                   pass_index: int = 1, annealing: bool = False) -> tuple:
        """``ratio = 1 - num_kept / N``."""
        return (min(0.999, max(0.0, 1 - num_kept / len(table))), )

    def plan(self, table, pass_index, num_passes, seed, layout=None):
        n = len(table)
        seen = torch.nonzero(table.seen).squeeze(1)
        if not seen.numel() or not self.prunes:
            return full_plan(pass_index, n, False)
        generator = torch.Generator().manual_seed(derive_seed(seed,
                                                              pass_index))
        num_seen = seen.numel()
        top = num_seen - math.floor(self.pruning.ratios[0] * num_seen)
        pool_size = max(top, int(self.pool_ratio * num_seen))
        pool = seen[torch.randperm(num_seen, generator=generator)[:pool_size]]
        chosen = pool[torch.topk(table.scores[pool], top, sorted=False)[1]]
        kept = torch.cat([chosen, torch.nonzero(~table.seen).squeeze(1)])
        kept = _unprune_random_few(kept, n, layout, generator)
        return _plan_of(pass_index, kept, torch.ones(kept.numel()), n)


@register_policy('repb')
class RePBPolicy(PassPolicy):
    """RePB: thresholds within local windows, the stale resampled
    uniformly, weights by cumulative presence.

    "Inconsistency Biases in Dynamic Data Pruning" (ICLR 2026, RePB; the
    authors' code ``mrazhou/RePB`` was not in reach here, so this follows
    the paper's description). It names two biases of InfoBatch: *score
    context drift* (a threshold over scores taken under many model states,
    some of them passes old) and *temporal gradient bias* (a sample's
    presence over the run drifts from uniform). In each pruning pass ``k``
    (pass 0 scores every sample):

    1. **Local windows.** The samples scored in pass ``k - 1`` are grouped
       by the window of ``window`` consecutive steps in which their score
       was taken (a nearly constant model); each is compared only with its
       window's mean. ``ratio`` of the samples below their window's mean
       are pruned, drawn at random.
    2. **Uniform resampling.** The samples not trained in pass ``k - 1``
       hold stale scores, which are not compared: ``ratio`` of them are
       pruned uniformly at random, the rest come back.
    3. **Cumulative temporal reweighting.** A kept sample trained in
       ``N_i`` of the ``E = k + 1`` passes so far (this one included) gets
       the weight ``E / N_i``, so that its presence over the run is made up
       to every pass's (1 for a sample never pruned); without ``rescale``
       every weight is 1.

    The last ``1 - delta`` of the passes train every sample with weight 1.
    A savings budget scales the one ratio of steps 1 and 2.

    Args:
        pruning (PruningSettings): ``ratio``, ``delta`` and ``rescale``.
        window (int): Steps per local window. Defaults to 16.
    """

    one_ratio = True

    def __init__(self, pruning: PruningSettings, window: int = 16) -> None:
        super().__init__(pruning)
        if isinstance(window, bool) or not isinstance(window,
                                                      int) or window < 1:
            raise ValueError(f'policy_options window={window!r} must be a '
                             'positive number of steps, e.g. 16.')
        self.window = window

    @classmethod
    def weight_bound(cls, ratios, rescale, budget, num_passes, num_samples):
        """``E / N_i <= E``, the passes of the run."""
        return float(max(1.0, math.ceil(num_passes))) if rescale else 1.0

    def describe(self) -> str:
        return (f'RePB: {self.pruning.ratios[0]:g} of the samples below the '
                f'mean of their {self.window}-step window of the last pass '
                'and of the samples it did not train (uniformly), kept '
                'samples weighted by passes / passes present' +
                ('' if self.pruning.rescale else ' (off: rescale=False)'))

    def candidates(self, table: ScoreTable, pass_index: int):
        """The samples that may be pruned: below their window's mean among
        the last pass's scores, and the stale ones.

        Returns:
            tuple[Tensor, Tensor]: Indices below their window's mean, and
            of the stale samples.
        """
        fresh = table.seen & (stamp_pass(table.stamps) == pass_index - 1)
        stale = torch.nonzero(table.seen & ~fresh).squeeze(1)
        members = torch.nonzero(fresh).squeeze(1)
        if not members.numel():
            return members, stale
        windows = stamp_step(table.stamps[members]) // self.window
        _, windows = torch.unique(windows, return_inverse=True)
        scores = table.scores[members].double()
        count = torch.bincount(windows).double()
        means = torch.zeros(count.numel(), dtype=torch.float64).index_add_(
            0, windows, scores) / count
        return members[scores < means[windows]], stale

    def ratios_for(self, table: ScoreTable, num_kept: int,
                   pass_index: int = 1, annealing: bool = False) -> tuple:
        """The ratio that prunes ``N - num_kept`` of the candidates, at most
        :data:`MAX_BUDGET_RATIO`."""
        below, stale = self.candidates(table, pass_index)
        pool = below.numel() + stale.numel()
        if not pool:
            return self.pruning.ratios
        return (min(MAX_BUDGET_RATIO,
                    max(0.0, (len(table) - num_kept) / pool)), )

    def plan(self, table, pass_index, num_passes, seed, layout=None):
        n = len(table)
        full, generator = self._full_pass_or_draws(table, pass_index,
                                                   num_passes, seed)
        if full is not None:
            return full
        ratio = self.pruning.ratios[0]
        pruned = [
            group[torch.randperm(group.numel(), generator=generator)
                  [:math.floor(ratio * group.numel())]]
            for group in self.candidates(table, pass_index)
        ]
        keep = torch.ones(n, dtype=torch.bool)
        keep[torch.cat(pruned)] = False
        kept = _unprune_random_few(torch.nonzero(keep).squeeze(1), n, layout,
                                   generator)
        weights = torch.ones(kept.numel())
        if self.pruning.rescale:  # unseen samples (no score yet) weigh 1
            passes = float(pass_index + 1)
            present = (table.counts[kept].double() + 1).clamp(max=passes)
            weights = torch.where(table.seen[kept], passes / present,
                                  torch.ones((), dtype=torch.float64)
                                  ).float()
        return _plan_of(pass_index, kept, weights, n)


def build_policy(name: str, pruning: PruningSettings,
                 options: Optional[Dict[str, Any]] = None) -> PassPolicy:
    """The registered policy ``name``, built with ``options``.

    Raises:
        ValueError: For an unknown name (listing the registered ones).
    """
    if name not in POLICIES:
        raise ValueError(f'policy={name!r} is not supported: use one of '
                         f"{sorted(POLICIES)} ('random' is the equal-cost "
                         'random-pruning baseline), or register yours with '
                         'mmib.core.register_policy in a module listed in '
                         'custom_imports.')
    return POLICIES[name](pruning, **(options or {}))
