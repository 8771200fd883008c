"""The hook's settings as a checkpoint keeps them, and what a resume with
other settings does.

A checkpoint records the settings the run was planned with. A resume with
other settings is named: the kind of score (``scores``) cannot change, as
the stored scores would mean something else; any other change (policy,
ratio, delta, thresholds, rescaling, budget, momentum) applies from the
next pass, while an interrupted pass finishes with the plan it started
with, and the warning says so.
"""
from typing import Any, Dict, Optional, Tuple

#: settings a resume may not change: the stored scores depend on them
FIXED = ('scores', )


def run_settings(**settings: Any) -> Dict[str, Any]:
    """The settings as plain data (lists for sequences)."""
    def plain(value):
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        return value
    return {name: plain(value) for name, value in settings.items()}


def describe_changes(saved: Optional[Dict[str, Any]], now: Dict[str, Any],
                     next_pass: int) -> Tuple[Optional[str], Optional[str]]:
    """The error (a fixed setting changed) and the warning (others changed)
    of a resume from a checkpoint planned with ``saved``.

    Args:
        saved (dict, optional): The checkpoint's settings (None: a
            checkpoint of an mmib that did not record them).
        now (dict): This run's settings.
        next_pass (int): The 1-based pass from which new settings plan.

    Returns:
        tuple: ``(error, warning)``, each None when there is nothing to say.
    """
    if not saved:
        return None, None
    changed = [name for name in now
               if name in saved and saved[name] != now[name]]
    fixed = [name for name in changed if name in FIXED]
    if fixed:
        name = fixed[0]
        return (f'InfoBatch: resuming with {name}={now[name]!r} where the '
                f'checkpoint was trained with {name}={saved[name]!r}: its '
                'stored scores mean something else and cannot carry over. '
                f'Resume with {name}={saved[name]!r}, or start without '
                '--resume.'), None
    if not changed:
        return None, None
    listed = ', '.join(f'{name}={now[name]!r} (was {saved[name]!r})'
                       for name in changed)
    return None, (f'InfoBatch: resuming with changed settings: {listed}. '
                  'The scores and the savings so far carry over; an '
                  'interrupted pass finishes with the plan it started with; '
                  f'the new settings plan every pass from pass {next_pass} '
                  'on.')


def check_settings(settings: Any) -> Optional[str]:
    """Why a checkpoint's settings are not plain data, or None.

    Args:
        settings: ``checkpoint['infobatch']['settings']``.
    """
    if not isinstance(settings, dict) or len(settings) > 32:
        return 'a dict of at most 32 settings'

    def plain(value, depth=0) -> bool:
        if depth > 3:
            return False
        if value is None or isinstance(value, (bool, int, float)):
            return True
        if isinstance(value, str):
            return len(value) <= 200
        if isinstance(value, list):
            return len(value) <= 64 and all(plain(v, depth + 1)
                                            for v in value)
        if isinstance(value, dict):
            return len(value) <= 32 and all(
                isinstance(k, str) and plain(v, depth + 1)
                for k, v in value.items())
        return False
    if not all(isinstance(k, str) and plain(v) for k, v in settings.items()):
        return 'plain settings (numbers, short strings, short lists)'
    return None
