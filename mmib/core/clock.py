"""The schedule clock: maps iterations of a shortened pass onto the full one.

A *pass* is one sweep over the data (an epoch). With InfoBatch a pass trains
``pass_len`` iterations where the full data would take ``full_len``. The
parameter schedules of the config are written in full-data iterations, so
after ``done`` iterations of the shortened pass the schedule should stand at
``full_data_steps(done, pass_len, full_len)``; at the end of the pass it
stands exactly at ``full_len``, and the schedule ends with the training.
"""


from typing import Optional


def full_data_steps(done: int, pass_len: int, full_len: int) -> int:
    """Full-data iterations covered after ``done`` iterations of a pass.

    Args:
        done (int): Iterations of the current pass already trained,
            ``0 <= done <= pass_len``.
        pass_len (int): Iterations of the current (possibly pruned) pass.
        full_len (int): Iterations the pass takes on the full data.

    Returns:
        int: ``floor(done * full_len / pass_len)``; ``full_len`` when
        ``done == pass_len``.
    """
    if pass_len <= 0:
        raise ValueError(f'pass_len must be positive, got {pass_len}')
    if not 0 <= done <= pass_len:
        raise ValueError(f'done={done} is outside [0, pass_len={pass_len}]')
    return done * full_len // pass_len


def scheduler_steps_for_iter(batch_idx: int, pass_len: int,
                             full_len: int) -> int:
    """Number of scheduler steps that iteration ``batch_idx`` stands for.

    Args:
        batch_idx (int): 0-based index of the iteration inside its pass.
        pass_len (int): Iterations of the current pass.
        full_len (int): Iterations the pass takes on the full data.

    Returns:
        int: At least 1 when ``pass_len <= full_len``; the steps of all
        iterations of a pass add up to ``full_len``.
    """
    return (full_data_steps(batch_idx + 1, pass_len, full_len) -
            full_data_steps(batch_idx, pass_len, full_len))


def iterations_to_cover(full_steps: int, pass_len: int,
                        full_len: int) -> Optional[int]:
    """Iterations of a pass after which ``full_steps`` are covered.

    Args:
        full_steps (int): Full-data iterations to cover from the start of
            the pass, ``>= 0``.
        pass_len (int): Iterations of the pass.
        full_len (int): Iterations the pass takes on the full data.

    Returns:
        int or None: The smallest ``j`` with
        ``full_data_steps(j, pass_len, full_len) >= full_steps``
        (``floor(j * F / L) >= s`` exactly when ``j >= ceil(s * L / F)``),
        or None if the whole pass covers fewer.
    """
    if full_steps > full_len:
        return None
    return -(-full_steps * pass_len // full_len)  # integer ceil
