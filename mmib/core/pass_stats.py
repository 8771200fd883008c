"""Per-pass statistics of the scores and the pruning (for plots and logs)."""
from typing import Dict

import numpy as np
import torch

from .pruning import EpochPlan, ScoreTable, assign_bands

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def pass_statistics(table: ScoreTable, plan: EpochPlan,
                    bins: int = 20) -> Dict[str, float]:
    """Score distribution, thresholds and kept/pruned counts of a pass.

    Args:
        table (ScoreTable): The scores the pass was planned with.
        plan (EpochPlan): The pass's plan.
        bins (int): Histogram bins (equal width between the lowest and the
            highest score). Defaults to 20.

    Returns:
        dict: Flat ``name -> number``: ``kept``, ``pruned``, ``scored``,
        ``threshold_<k>``, ``score_mean``, ``score_q<pct>``, ``hist_min``,
        ``hist_max``, ``hist_<bin>`` (counts), and per band ``band<b>_kept``
        / ``band<b>_pruned`` (band ``len(thresholds)`` is the top one, with
        the unscored samples).
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
        low, high = float(values.min()), float(values.max())
        counts = torch.histc(scores.float(), bins=bins, min=low,
                             max=high if high > low else low + 1)
        stats['hist_min'], stats['hist_max'] = low, high
        for b, count in enumerate(counts.tolist()):
            stats[f'hist_{b:02d}'] = count
    bands = assign_bands(table, plan.thresholds)
    kept = plan.weights > 0
    for b in range(len(thresholds) + 1):
        members = bands == b
        stats[f'band{b}_kept'] = int((members & kept).sum())
        stats[f'band{b}_pruned'] = int((members & ~kept).sum())
    return stats


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
