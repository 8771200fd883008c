"""The run: one pruned ``train()`` (:class:`PrunedTraining`, which the hook
routes events to), its state (scores, clock, ledger, plan), each step's
scores with their one all-gather, the resume plan, and the savings log."""
from .gather import batch_sample_indices, gather_step
from .pruned_training import PrunedTraining
from .resume_plan import PendingResume, plan_resume
from .savings_log import SavingsLog
from .step_scores import StepScores
from .training_run import TrainingRun

__all__ = [
    'PendingResume', 'PrunedTraining', 'SavingsLog', 'StepScores',
    'TrainingRun', 'batch_sample_indices', 'gather_step', 'plan_resume'
]
