"""Framework-free InfoBatch maths: plain torch, no MMEngine import."""
from .budget import SavingsBudget
from .clock import (PassClock, full_data_steps, iterations_to_cover,
                    scheduler_steps_for_iter)
from .ledger import SavingsLedger
from .pass_stats import pass_statistics, projected_saving, score_histogram
from .planner import PassPlanner
from .pruning import (BATCH_SCORE_MOMENTUM, SCORE_KINDS, SELECTIONS,
                      BatchLayout, EpochPlan, PruningPolicy, ScoreTable,
                      check_score_momentum, check_scores, derive_seed,
                      exact_weights, expected_num_kept, num_pruning_epochs,
                      plan_epoch, rank_share, score_stamp, stamp_pass,
                      stamp_step)
from .policies import (POLICIES, InfoBatchPolicy, OrderDPPolicy, PassPolicy,
                       RandomPolicy, RePBPolicy, SeTaPolicy, SoftRandomPolicy,
                       build_policy, kmeans_1d, register_policy)
from .state import STATE_VERSION, InfoBatchSnapshot

__all__ = [
    'PassPlanner', 'SavingsBudget', 'POLICIES', 'InfoBatchPolicy',
    'OrderDPPolicy', 'PassPolicy', 'RandomPolicy', 'RePBPolicy', 'SeTaPolicy',
    'SoftRandomPolicy', 'build_policy', 'kmeans_1d', 'register_policy',
    'BATCH_SCORE_MOMENTUM', 'SCORE_KINDS', 'BatchLayout', 'EpochPlan',
    'InfoBatchSnapshot', 'PassClock', 'PruningPolicy', 'SELECTIONS',
    'STATE_VERSION', 'SavingsLedger', 'ScoreTable', 'check_score_momentum',
    'check_scores', 'derive_seed', 'exact_weights', 'expected_num_kept',
    'full_data_steps', 'iterations_to_cover', 'num_pruning_epochs',
    'pass_statistics', 'plan_epoch', 'projected_saving', 'rank_share',
    'scheduler_steps_for_iter', 'score_histogram', 'score_stamp',
    'stamp_pass', 'stamp_step'
]
