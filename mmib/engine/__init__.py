"""MMEngine glue: the hooks, the loop glue, the run state and the loss
adapters."""
from .hooks import CheckpointGuardHook, InfoBatchHook
from .loop import wrap_train_dataloader
from .loss_adapters import (LOSS_ADAPTERS, LossAdapter,
                            PerSampleLossRecorder, find_loss_modules)
from .run import batch_sample_indices

__all__ = [
    'CheckpointGuardHook', 'InfoBatchHook', 'LOSS_ADAPTERS', 'LossAdapter',
    'PerSampleLossRecorder', 'batch_sample_indices', 'find_loss_modules',
    'wrap_train_dataloader'
]
