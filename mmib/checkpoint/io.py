"""What a checkpoint carries for InfoBatch, in and out.

Out (``before_save_checkpoint``): the message hub as plain data and the
hook's snapshot under ``checkpoint['infobatch']``, so the file loads with
torch's default ``weights_only`` allow-list. In (``after_load_checkpoint``):
``meta['config']`` defused (never executed), the message hub decoded within
limits (either format), the InfoBatch state kept for ``before_train``,
where :func:`~mmib.engine.run.plan_resume` validates it against the
run before anything trains. See :mod:`mmib.checkpoint.safety` for the
decoding.
"""
from typing import Any, Callable, Optional

from ..core import InfoBatchSnapshot
from ..core.state import CHECKPOINT_KEY
from ..core.validation import validate_state
from .rng_state import validate_rng
from .safety import (CheckpointTrustError, defuse_meta_config,
                     is_plain_message_hub, plain_message_hub,
                     leftover_stand_in, restore_plain_message_hub,
                     restore_stand_ins)

__all__ = ['CHECKPOINT_KEY', 'check_message_hub', 'check_state',
           'read_checkpoint', 'write_checkpoint']


def write_checkpoint(checkpoint: dict,
                     snapshot: Optional[InfoBatchSnapshot]) -> None:
    """Make ``checkpoint`` plain data and add the hook's snapshot.

    Args:
        checkpoint (dict): The checkpoint being saved (changed in place).
        snapshot (InfoBatchSnapshot, optional): None outside training.
    """
    if 'message_hub' in checkpoint:
        checkpoint['message_hub'] = plain_message_hub(
            checkpoint['message_hub'])
    if snapshot is not None:
        checkpoint[CHECKPOINT_KEY] = snapshot.to_dict()


def read_checkpoint(checkpoint: dict, resuming: bool,
                    log: Callable[[str], Any]) -> Optional[dict]:
    """Turn a loaded checkpoint back into live objects, safely.

    Args:
        checkpoint (dict): The loaded checkpoint (changed in place).
        resuming (bool): ``--resume``; with ``load_from`` (fine-tuning) the
            InfoBatch state is not restored.
        log (callable): Takes one line for the log.

    Returns:
        dict or None: ``checkpoint['infobatch']`` to restore (not yet
        validated: that needs the run's data set and schedule).

    Raises:
        CheckpointTrustError: The message hub is damaged or crafted.
    """
    note = defuse_meta_config(checkpoint)
    if note is not None:
        log(note)
    hub = checkpoint.get('message_hub')
    if is_plain_message_hub(hub):
        checkpoint['message_hub'] = restore_plain_message_hub(hub)
        # mmib writes no stand-in anywhere: one left (in place of a model
        # parameter, say) would be skipped by the load without a word
        field = leftover_stand_in(checkpoint)
        if field is not None:
            raise CheckpointTrustError(
                f'checkpoint field {field}: a numpy or MMEngine object in a '
                'checkpoint mmib wrote as plain data; refused to load this '
                'checkpoint (it is damaged or crafted).')
    else:
        restore_stand_ins(checkpoint)
        if hub is not None and CHECKPOINT_KEY not in checkpoint:
            log("InfoBatch: the checkpoint is in MMEngine's own format "
                "(written without mmib); it was read through mmib's "
                'stand-ins for its message-hub buffers and numpy arrays, '
                'trusted only during this load.')
    if hub is not None:
        check_message_hub(checkpoint['message_hub'])
    if not resuming:
        return None  # load_from (fine-tuning): scores start fresh
    state = checkpoint.get(CHECKPOINT_KEY)
    if state is None:
        log('InfoBatch: the checkpoint has no InfoBatch state; scores start '
            'fresh.')
        return None
    return state


def check_message_hub(hub: Any) -> None:
    """The decoded message hub has the shape ``MessageHub.load_state_dict``
    reads: ``log_scalars`` of ``HistoryBuffer``s, ``runtime_info`` with
    string keys, ``resumed_keys`` of booleans (a tensor there would reach
    ``not value`` inside MMEngine).

    Raises:
        CheckpointTrustError: Naming the field.
    """
    from mmengine.logging import HistoryBuffer

    def refuse(field: str, why: str) -> None:
        raise CheckpointTrustError(
            f'checkpoint field message_hub{field}: {why}; refused to load '
            'this checkpoint (it was not written by MMEngine or mmib, or is '
            'damaged).')

    if not isinstance(hub, dict):
        refuse('', f'a {type(hub).__name__}, not a dict')
    for key in hub:
        if key not in ('log_scalars', 'runtime_info', 'resumed_keys'):
            refuse(f'[{key!r}]'[:80], 'not a message-hub field')
    for name, kind in (('log_scalars', HistoryBuffer), ('runtime_info', None),
                       ('resumed_keys', bool)):
        part = hub.get(name, {})
        if not isinstance(part, dict):
            refuse(f'.{name}', f'a {type(part).__name__}, not a dict')
        for key, value in part.items():
            if not isinstance(key, str):
                refuse(f'.{name}', f'key {key!r}'[:80] + ' is not a string')
            if kind is not None and not isinstance(value, kind):
                refuse(f'.{name}[{key!r}]'[:80],
                       f'a {type(value).__name__}, not a {kind.__name__}')


def check_state(state: Any, num_samples: Optional[int] = None,
                max_passes: Optional[float] = None,
                max_full_iters: Optional[int] = None) -> None:
    """Check ``checkpoint['infobatch']`` before anything of it is used.

    The fields of the pruning state are checked by
    :func:`mmib.core.validation.validate_state`, the random states by
    :func:`mmib.checkpoint.rng_state.validate_rng` (loaded into scratch
    generators). Arguments as for ``validate_state``.

    Raises:
        StateError: Naming the first bad field and what it should hold.
    """
    validate_state(state, num_samples, max_passes, max_full_iters)
    if state.get('rng') is not None:
        validate_rng(state['rng'], legacy=state.get('version') == 2)
