"""Checkpoint handling: the hook's state in and out of a checkpoint, the
file's bounds (archive), the bounded decoder and trust scope, MMEngine's
part of a resumed checkpoint, RNG states, and which file ``--resume``
reads."""
from .io import CHECKPOINT_KEY, read_checkpoint, write_checkpoint
from .mmengine_part import ResumeFieldError, check_resume_fields
from .rng_state import capture_rng, restore_global_rng, restore_torch_rng
from .safety import (CheckpointTrustError, ScopedCheckpointTrust,
                     defuse_meta_config)

__all__ = [
    'CHECKPOINT_KEY', 'CheckpointTrustError', 'ResumeFieldError',
    'ScopedCheckpointTrust', 'check_resume_fields',
    'capture_rng', 'defuse_meta_config', 'read_checkpoint',
    'restore_global_rng', 'restore_torch_rng', 'write_checkpoint'
]
