"""The settings of a pruned run: what to prune and when, and what a score
is.

:class:`PruningSettings` holds the pruning settings every policy plans with
(ratios, ``delta``, thresholds, rescaling); :func:`check_scores` the kind of
score. :class:`~mmib.core.InfoBatchOptions` builds both from the hook's
options.
"""
import math
from dataclasses import dataclass, field
from typing import Optional, Tuple

THRESHOLD_POLICIES = ('mean', 'quantile')


@dataclass(frozen=True)
class PruningSettings:
    """What to prune and when: the settings every policy plans with.

    Args:
        ratios (tuple[float]): Fraction pruned in each band below the top
            one, each in ``[0, 1)``. One value for ``threshold='mean'``.
        delta (float): Fraction of the epochs that prune, in ``(0, 1]``; the
            remaining ``1 - delta`` train on the full data. Defaults to 0.875.
        threshold (str): ``'mean'`` or ``'quantile'``. Defaults to ``'mean'``.
        quantiles (tuple[float]): Increasing quantiles in ``(0, 1)``, one per
            ratio, for ``threshold='quantile'``. Defaults to ().
        rescale (bool): Whether kept samples of a pruned band get the weight
            ``n_band / kept_band`` (about ``1 / (1 - ratio)``); False gives
            every kept sample weight 1 (the paper's ablation). Defaults to True.
    """

    ratios: Tuple[float, ...]
    delta: float = 0.875
    threshold: str = 'mean'
    quantiles: Tuple[float, ...] = field(default_factory=tuple)
    rescale: bool = True

    def __post_init__(self) -> None:
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


def num_pruning_passes(num_epochs: int, delta: float) -> int:
    """Number of leading epochs that prune: ``floor(delta * num_epochs)``.

    Epochs ``0 .. num_pruning_passes - 1`` prune; the rest (at least
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
