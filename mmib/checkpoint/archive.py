"""A checkpoint file's size, bounded before anything is unpickled.

``torch.save`` writes a zip archive whose entries are *stored*, never
compressed: the pickle (``data.pkl``) describes the structure, one entry per
tensor storage holds the data. A crafted archive can deflate a huge pickle
into a small file (0.5 MB of file, a 512 MB string when read).
:func:`archive_problem` reads only the archive's directory and refuses compressed entries and a
structure pickle above :data:`MAX_PICKLE_BYTES`, so what a load reads is
bounded by the file's own size.
"""
import os.path as osp
import zipfile
from typing import Optional

#: the largest ``data.pkl`` accepted (MMEngine's and mmib's checkpoints hold
#: the structure only: a few MB even with a long log history and config)
MAX_PICKLE_BYTES = 64 * 2**20


def archive_problem(path: str,
                    max_pickle_bytes: int = MAX_PICKLE_BYTES) -> Optional[str]:
    """Why the zip archive at ``path`` must not be unpickled, or None.

    Files that are not zip archives (torch's legacy format) are left to
    torch's loader.

    Args:
        path (str): The checkpoint file.
        max_pickle_bytes (int): Largest ``data.pkl`` accepted.
    """
    if not (osp.isfile(path) and zipfile.is_zipfile(path)):
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        return f'its zip directory cannot be read ({error})'
    for entry in entries:
        if entry.compress_type != zipfile.ZIP_STORED:
            return (f'entry {entry.filename[:80]!r} is compressed '
                    f'({entry.compress_size} -> {entry.file_size} bytes); '
                    'torch.save never compresses')
        if entry.filename.endswith('/data.pkl') or \
                entry.filename == 'data.pkl':
            if entry.file_size > max_pickle_bytes:
                return (f'its structure ({entry.filename[:80]}) is '
                        f'{entry.file_size} bytes, above the '
                        f'{max_pickle_bytes} a checkpoint needs')
    return None
