"""The hooks a config adds: ``InfoBatchHook`` and ``CheckpointGuardHook``."""
from .checkpoint_guard_hook import CheckpointGuardHook
from .infobatch_hook import InfoBatchHook

__all__ = ['CheckpointGuardHook', 'InfoBatchHook']
