"""Framework-free InfoBatch maths: plain torch, no MMEngine import.

Settings (:mod:`.settings`, :mod:`.options`), scores (:mod:`.scores`), the
pass plan and its draws (:mod:`.plan`), policies (:mod:`.policies`) and the
planner with its budget, the schedule clock, the savings ledger, the
checkpoint snapshot and its validation, and the log text.
"""
from .budget import SavingsBudget
from .clock import (PassClock, full_data_steps, iterations_to_cover,
                    scheduler_steps_for_iter)
from .geometry import PassGeometry
from .ledger import SavingsLedger
from .options import InfoBatchOptions
from .pass_stats import pass_statistics, projected_saving, score_histogram
from .plan import (BatchLayout, PassPlan, avoid_batch_of_one, bands_of,
                   derive_seed, draw_in_bands, draw_uniform, exact_weights,
                   expected_num_kept, full_plan, plan_pass, rank_share)
from .planner import PassPlanner
from .policies import (POLICIES, InfoBatchPolicy, OrderDPPolicy, PassPolicy,
                       RandomPolicy, RePBPolicy, SeTaPolicy, SoftRandomPolicy,
                       build_policy, kmeans_1d, register_policy)
from .scores import ScoreTable, score_stamp, stamp_pass, stamp_step
from .settings import (BATCH_SCORE_MOMENTUM, SCORE_KINDS, PruningSettings,
                       check_score_momentum, check_scores, num_pruning_passes)
from .state import STATE_VERSION, InfoBatchSnapshot

__all__ = [
    'BATCH_SCORE_MOMENTUM', 'BatchLayout', 'InfoBatchOptions',
    'InfoBatchPolicy', 'InfoBatchSnapshot', 'OrderDPPolicy', 'POLICIES',
    'PassClock', 'PassGeometry', 'PassPlan', 'PassPlanner', 'PassPolicy',
    'PruningSettings', 'RandomPolicy', 'RePBPolicy', 'SCORE_KINDS',
    'STATE_VERSION', 'SavingsBudget', 'SavingsLedger', 'ScoreTable',
    'SeTaPolicy', 'SoftRandomPolicy', 'avoid_batch_of_one', 'bands_of',
    'build_policy', 'check_score_momentum', 'check_scores', 'derive_seed',
    'draw_in_bands', 'draw_uniform', 'exact_weights', 'expected_num_kept',
    'full_data_steps', 'full_plan', 'iterations_to_cover', 'kmeans_1d',
    'num_pruning_passes', 'pass_statistics', 'plan_pass', 'projected_saving',
    'rank_share', 'register_policy', 'scheduler_steps_for_iter',
    'score_histogram', 'score_stamp', 'stamp_pass', 'stamp_step'
]
