"""Keep ``--resume`` from executing code a checkpoint carries."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ..checkpoint_safety import defuse_meta_config


@HOOKS.register_module()
class CheckpointGuardHook(Hook):
    """Defuses ``meta['config']`` of every loaded checkpoint.

    MMEngine's resume runs that text as Python (to read ``gpu_ids``); this
    hook replaces it by the parsed ``gpu_ids`` first (see
    :func:`~mmib.engine.checkpoint_safety.defuse_meta_config`).
    ``InfoBatchHook`` does the same; mmib's ``tools/train.py`` registers
    this hook for every run, with InfoBatch or without.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        note = defuse_meta_config(checkpoint)
        if note is not None:
            runner.logger.info(note)
