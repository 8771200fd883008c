"""MMEngine glue: the hook, the loader installation, per-sample losses."""
from .hooks import InfoBatchHook
from .step_gather import batch_sample_indices
from .infobatch_loader import wrap_train_dataloader
from .per_sample_loss import PerSampleLossRecorder, find_loss_modules

__all__ = [
    'InfoBatchHook', 'PerSampleLossRecorder', 'batch_sample_indices',
    'find_loss_modules', 'wrap_train_dataloader'
]
