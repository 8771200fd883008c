"""Per-pass statistics of the scores and the pruning (for plots and logs)."""
from typing import Dict, List, Optional

import numpy as np
import torch

from .plan import PassPlan, assign_bands
from .scores import ScoreTable

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def pass_statistics(table: ScoreTable, plan: PassPlan) -> Dict[str, float]:
    """Score distribution, thresholds and kept/pruned counts of a pass.

    Args:
        table (ScoreTable): The scores the pass was planned with.
        plan (PassPlan): The pass's plan.

    Returns:
        dict: Flat ``name -> number``: ``kept``, ``pruned``, ``scored``,
        ``threshold_<k>``, ``score_mean``, ``score_q<pct>``, and per band
        ``band<b>_kept`` / ``band<b>_pruned``. Band ``b`` holds the samples
        between threshold ``b - 1`` and threshold ``b``: with the mean
        threshold ``band0`` is below the mean (the prunable ones) and
        ``band1`` at or above it with the unscored samples (always kept);
        band ``len(thresholds)`` is always the top one. The histogram of
        the scores is :func:`score_histogram`.
    """
    stats: Dict[str, float] = dict(
        kept=plan.num_kept,
        pruned=plan.num_pruned,
        scored=int(table.seen.sum()),
        annealing=int(plan.annealing))
    thresholds = plan.thresholds.tolist()
    for k, value in enumerate(thresholds):
        stats[f'threshold_{k}'] = value
    scores = table.scores[table.seen]
    if scores.numel():
        values = scores.double().numpy()
        stats['score_mean'] = float(values.mean())
        for q, v in zip(QUANTILES, np.quantile(values, QUANTILES)):
            stats[f'score_q{round(q * 100):02d}'] = float(v)
    bands = assign_bands(table, plan.thresholds)
    kept = plan.weights > 0
    for b in range(len(thresholds) + 1):
        members = bands == b
        stats[f'band{b}_kept'] = int((members & kept).sum())
        stats[f'band{b}_pruned'] = int((members & ~kept).sum())
    return stats


def score_histogram(table: ScoreTable,
                    bins: int = 20) -> Optional[Dict[str, List[float]]]:
    """Counts of the scored samples in equal-width bins.

    Args:
        table (ScoreTable): The scores.
        bins (int): Bins between the lowest and the highest score.
            Defaults to 20.

    Returns:
        dict or None: ``counts`` (``bins`` numbers) and ``range`` (the
        lowest and the highest score), or None before any sample is scored.
    """
    scores = table.scores[table.seen].float()
    if not scores.numel():
        return None
    low, high = float(scores.min()), float(scores.max())
    counts = torch.histc(scores, bins=bins, min=low,
                         max=high if high > low else low + 1)
    return dict(counts=counts.tolist(), range=[low, high])


def projected_saving(samples_before: int, kept: int, num_samples: int,
                     pass_index: int, num_passes: float,
                     pruning_passes: int) -> float:
    """The run's saved fraction if every later pruning pass keeps as many
    samples as this one.

    Args:
        samples_before (int): Samples trained before this pass.
        kept (int): Samples this pass trains.
        num_samples (int): Samples of a full pass.
        pass_index (int): 0-based index of this pass.
        num_passes (float): Passes of the whole run.
        pruning_passes (int): Passes that prune.

    Returns:
        float: ``1 - expected samples / (num_passes * num_samples)``.
    """
    after = max(0.0, num_passes - (pass_index + 1))
    pruning_after = min(after, max(0, pruning_passes - (pass_index + 1)))
    expected = (samples_before + kept + pruning_after * kept +
                (after - pruning_after) * num_samples)
    return 1.0 - expected / (num_passes * num_samples)
