"""MMEngine glue: the hook, the loader installation, per-sample losses."""
from .hooks import CheckpointGuardHook, InfoBatchHook
from .step_gather import batch_sample_indices
from .infobatch_loader import wrap_train_dataloader
from .loss_adapters import (LOSS_ADAPTERS, LossAdapter,
                            PerSampleLossRecorder, find_loss_modules)

__all__ = [
    'CheckpointGuardHook', 'InfoBatchHook', 'LOSS_ADAPTERS', 'LossAdapter', 'PerSampleLossRecorder',
    'batch_sample_indices', 'find_loss_modules', 'wrap_train_dataloader'
]
