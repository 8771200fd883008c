"""Framework-free InfoBatch maths: plain torch, no MMEngine import."""
from .clock import (full_data_steps, iterations_to_cover,
                    scheduler_steps_for_iter)
from .pruning import (BatchLayout, EpochPlan, PruningPolicy, ScoreTable,
                      check_score_momentum, derive_seed, expected_num_kept,
                      num_pruning_epochs, plan_epoch, rank_share)

__all__ = [
    'BatchLayout', 'EpochPlan', 'PruningPolicy', 'ScoreTable',
    'check_score_momentum', 'derive_seed',
    'expected_num_kept', 'full_data_steps', 'iterations_to_cover',
    'num_pruning_epochs', 'plan_epoch', 'rank_share',
    'scheduler_steps_for_iter'
]
