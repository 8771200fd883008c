"""Which checkpoint ``--resume`` reads, when the work dir holds damaged files.

MMEngine's auto-resume reads the path in ``WORK_DIR/last_checkpoint``. A
kill while MMEngine rewrites that file leaves it empty or half-written, and
a kill while a checkpoint is written leaves a truncated ``.pth``; MMEngine
then fails with ``FileNotFoundError:  can not be found.`` or a torch stream
error although intact checkpoints are there. :func:`find_resumable` checks
the named file and falls back to the newest intact ``.pth`` of the work dir,
with a note naming what was skipped. :func:`checkpoint_problem` tells why a
file does not load, cheaply (``mmap``, no tensor data read).
"""
import glob
import os
import os.path as osp
import pickle
from typing import List, Optional, Tuple

import torch

from .archive import archive_problem


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be resumed from, or None if it loads.

    A file that only needs mmib's stand-ins (MMEngine's own format, which
    torch's ``weights_only`` loader refuses by name) counts as intact: the
    runner's load reads it within mmib's trust scope.
    """
    if not osp.isfile(path):
        return 'no such file'
    if osp.getsize(path) == 0:
        return 'the file is empty'
    problem = archive_problem(path)
    if problem is not None:
        return problem
    try:
        torch.load(path, map_location='cpu', weights_only=True, mmap=True)
    except pickle.UnpicklingError as error:
        if 'Weights only load failed' in str(error):
            return None  # intact, in MMEngine's own format
        return f'{type(error).__name__}: {str(error)[:200]}'
    except Exception as error:  # truncated zip, stream errors, ...
        return f'{type(error).__name__}: {str(error)[:200]}'
    return None


def find_resumable(work_dir: str) -> Tuple[Optional[str], List[str]]:
    """The checkpoint auto-resume should read, and notes on skipped files.

    Returns:
        tuple: ``(path or None, notes)``. None: the work dir holds no
        checkpoint (a fresh start, as MMEngine does).

    Raises:
        FileNotFoundError: Checkpoints are there but none loads.
    """
    notes: List[str] = []
    named = None
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if not named:
            notes.append(f'{pointer} is empty')
        elif osp.dirname(osp.abspath(named)) != osp.abspath(work_dir):
            # a copied work dir: its pointer names the original run's file
            notes.append(f'{pointer} names {named}, a file of another work '
                         'dir; this work dir\'s own checkpoints are used')
            named = None
        else:
            problem = checkpoint_problem(named)
            if problem is None:
                return named, notes
            notes.append(f'{pointer} names {named}: {problem}')
    candidates = sorted(
        glob.glob(osp.join(work_dir, '*.pth')),
        key=lambda p: (os.stat(p).st_mtime_ns, p), reverse=True)
    for path in candidates:
        if named and osp.abspath(path) == osp.abspath(named):
            continue
        problem = checkpoint_problem(path)
        if problem is None:
            return path, notes
        notes.append(f'{path}: {problem}')
    if candidates or notes:
        raise FileNotFoundError(
            f'--resume: no intact checkpoint in {work_dir}: ' +
            '; '.join(notes) + '. Resume from a checkpoint of another work '
            'dir (--resume PATH), or start in a new --work-dir.')
    return None, notes


def planted_links(work_dir: str) -> List[str]:
    """Symbolic links where MMEngine writes its checkpoints
    (``last_checkpoint``, ``*.pth``): saving would write through them into
    another file (a link planted in a shared work dir)."""
    if not osp.isdir(work_dir):
        return []
    names = [osp.join(work_dir, 'last_checkpoint')] + glob.glob(
        osp.join(work_dir, '*.pth'))
    return sorted(p for p in names if osp.islink(p))
