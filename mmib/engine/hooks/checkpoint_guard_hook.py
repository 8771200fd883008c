"""Keep ``--resume`` from executing code a checkpoint carries, and from
reading MMEngine's fields unchecked."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ...checkpoint import check_resume_fields, defuse_meta_config
from ...mmengine_fields import is_resuming


@HOOKS.register_module()
class CheckpointGuardHook(Hook):
    """Defuses ``meta['config']`` of every loaded checkpoint.

    MMEngine's resume runs that text as Python (to read ``gpu_ids``); this
    hook replaces it by the parsed ``gpu_ids`` first (see
    :func:`~mmib.checkpoint.safety.defuse_meta_config`).
    ``InfoBatchHook`` does the same; mmib's ``tools/train.py`` registers
    this hook for every run, with InfoBatch or without.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Check MMEngine's part of a resumed checkpoint
        (:func:`~mmib.checkpoint.check_resume_fields`) and defuse
        ``meta['config']``."""
        if is_resuming(runner):
            check_resume_fields(checkpoint, runner)
        note = defuse_meta_config(checkpoint)
        if note is not None:
            runner.logger.info(note)
