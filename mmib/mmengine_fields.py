"""The one place where mmib reads or writes MMEngine's private fields.

MMEngine 0.10 has no public way to shorten a running train loop or to tell
gradient accumulation where a shortened run ends, and keeps the resume flag,
the randomness settings and the visualizer's backends private. Each access
is one named function here; ``tests/test_engine/test_mmengine_fields.py``
checks every field against the installed MMEngine, so a change there fails a
test, not a run.
"""
from typing import Any

#: (class path, attribute) of every private field used below
FIELDS = (
    ('mmengine.runner.EpochBasedTrainLoop', '_max_iters'),
    ('mmengine.runner.IterBasedTrainLoop', '_max_iters'),
    ('mmengine.optim.OptimWrapper', '_accumulative_counts'),
    ('mmengine.optim.OptimWrapper', '_max_counts'),
    ('mmengine.optim.OptimWrapper', '_remainder_counts'),
    ('mmengine.runner.Runner', '_resume'),
    ('mmengine.runner.Runner', '_randomness_cfg'),
    ('mmengine.runner.checkpoint.CheckpointLoader', '_schemes'),
    ('mmengine.visualization.Visualizer', '_vis_backends'),
)


def set_max_iters(runner: Any, max_iters: int) -> None:
    """Set the train loop's length (``loop._max_iters``: what
    ``runner.max_iters``, the ETA and the last-iteration checks of
    ``CheckpointHook`` read) and the message hub's ``max_iters``."""
    runner.train_loop._max_iters = max_iters
    runner.message_hub.update_info('max_iters', max_iters)


def sync_accumulation(runner: Any, max_iters: int) -> None:
    """Tell gradient accumulation where the shortened run ends
    (``_max_counts``, ``_remainder_counts``), so its last, partial group
    steps and is scaled as MMEngine does at the end of any run."""
    wrappers = runner.optim_wrapper
    wrappers = (list(wrappers.values())
                if hasattr(wrappers, 'values') else [wrappers])
    for wrapper in wrappers:
        counts = getattr(wrapper, '_accumulative_counts', 1)
        if counts > 1:
            wrapper._max_counts = max_iters
            wrapper._remainder_counts = max_iters % counts


def is_resuming(runner: Any) -> bool:
    """Whether the runner resumes (``runner._resume``), not ``load_from``."""
    return bool(getattr(runner, '_resume', False))


def diff_rank_seed(runner: Any) -> bool:
    """``randomness.diff_rank_seed`` of the runner's config."""
    return bool((getattr(runner, '_randomness_cfg', None)
                 or {}).get('diff_rank_seed', False))


def vis_backends(visualizer: Any) -> list:
    """The visualizer's backends (``visualizer._vis_backends``; MMEngine
    looks them up only by name), to give each what it can show."""
    return list(getattr(visualizer, '_vis_backends', {}).values())


def local_checkpoint_loader():
    """MMEngine's loader of local checkpoint files
    (``CheckpointLoader._schemes['']``), or None."""
    from mmengine.runner.checkpoint import CheckpointLoader
    return CheckpointLoader._schemes.get('')


def set_local_checkpoint_loader(loader) -> None:
    """Put ``loader`` in place of MMEngine's local checkpoint loader."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader._schemes[''] = loader
