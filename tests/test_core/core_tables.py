"""What the core unit tests build alike: score tables of given scores, the
pruning settings of the paper's default, a checkpoint snapshot."""
import torch

from mmib.core import (InfoBatchSnapshot, PassClock, PruningSettings,
                       SavingsLedger, ScoreTable, plan_pass)

#: InfoBatch's default: half of the samples below the mean score pruned
MEAN_HALF = PruningSettings(ratios=(0.5, ))


def seen_table(scores) -> ScoreTable:
    """A score table in which every sample has been scored: ``scores``."""
    scores = torch.as_tensor(scores, dtype=torch.float32)
    table = ScoreTable(scores.numel())
    table.update(torch.arange(scores.numel()), scores)
    return table


def spread_table(n: int = 1000, seed: int = 0) -> ScoreTable:
    """``n`` scores drawn uniformly from [0, 4)."""
    g = torch.Generator().manual_seed(seed)
    return seen_table(torch.rand(n, generator=g) * 4)


def snapshot() -> InfoBatchSnapshot:
    """The checkpoint state of a run 23 samples into its second pass."""
    table = seen_table(torch.linspace(0, 1, 20) ** 2)
    plan = plan_pass(table, MEAN_HALF, 1, 8, seed=0)
    return InfoBatchSnapshot(
        table=table.state_dict(),
        clock=PassClock(1, 3, 40, 0, 23),
        ledger=SavingsLedger(55, 0, 9, 23, 1, 0),
        plan=plan,
        ratios=(0.5, ),
        layout=dict(num_samples=20, batch_size=4, world_size=1),
        rng=dict(torch=torch.get_rng_state(), python=dict(
            version=3, state=[1, 2, 3], gauss=None)))
