"""The versions of other packages that mmib works with, checked at import.

``import mmib`` calls :func:`check_dependencies` first, before anything
imports torch, mmengine or mmcv: a package outside its range gives one
:class:`DependencyError` that names the package, the version found and the
range, instead of a deep traceback later. Versions are read from the
installed distributions' metadata (``importlib.metadata``), so the check
imports nothing and changes nothing.

The ranges are those of ``requirements/runtime.txt``, ``mminstall.txt`` and
``optional.txt`` (a test keeps them equal). torch and mmcv are checked here
only: they are never installed by mmib, since a user's CUDA build of torch or
full mmcv must not be replaced.
"""
import importlib.metadata
import re
from typing import Dict, Optional, Sequence, Tuple

#: distribution -> (lowest version, first version above the range or None)
Range = Tuple[str, Optional[str]]

REQUIRED: Dict[str, Range] = {
    'torch': ('2.5.0', None),  # torch.serialization.safe_globals
    'mmengine': ('0.10.3', '0.11.0'),
    'numpy': ('1.26.0', '3.0.0'),
}
#: either distribution provides the ``mmcv`` module
MMCV_DISTRIBUTIONS: Sequence[str] = ('mmcv', 'mmcv-lite')
MMCV: Range = ('2.0.0', '2.4.0')
#: checked only where installed
OPTIONAL: Dict[str, Range] = {
    'mmpretrain': ('1.2.0', '2.0.0'),
    'mmsegmentation': ('1.2.0', '2.0.0'),
}


class DependencyError(ImportError):
    """A package mmib needs is missing or outside its supported range."""


def version_key(version: str) -> Tuple[int, ...]:
    """The numeric release part of a version string, for comparisons.

    ``'2.13.0+cpu'`` -> ``(2, 13, 0)``, ``'2.0.0rc4'`` -> ``(2, 0, 0)``.
    """
    match = re.match(r'\d+(?:\.\d+)*', version.strip())
    if match is None:
        raise ValueError(f'not a version: {version!r}')
    parts = [int(p) for p in match.group(0).split('.')]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def in_range(version: str, supported: Range) -> bool:
    """Whether ``version`` lies in ``[lowest, above)``."""
    lowest, above = supported
    key = version_key(version)
    return key >= version_key(lowest) and (
        above is None or key < version_key(above))


def specifier(supported: Range) -> str:
    """The range as pip writes it, e.g. ``'>=0.10.3,<0.11.0'``."""
    lowest, above = supported
    return f'>={lowest}' + (f',<{above}' if above else '')


def installed_version(distribution: str) -> Optional[str]:
    """The installed version of ``distribution``, or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _outside(name: str, version: str, supported: Range) -> str:
    return (f'{name} {version} is installed; mmib supports '
            f'{name}{specifier(supported)}. Install a version in the range, '
            f"e.g. pip install '{name}{specifier(supported)}'")


def check_dependencies() -> None:
    """Raise :class:`DependencyError` for a missing or out-of-range package.

    Required: torch, mmengine, numpy and one of mmcv / mmcv-lite. Optional
    (checked where installed): mmpretrain, mmsegmentation.
    """
    problems = []
    for name, supported in REQUIRED.items():
        version = installed_version(name)
        if version is None:
            problems.append(
                f'{name} is not installed; mmib needs '
                f'{name}{specifier(supported)}'
                + (' (install the build for your CUDA, see pytorch.org)'
                   if name == 'torch' else ''))
        elif not in_range(version, supported):
            problems.append(_outside(name, version, supported))
    mmcv = [(d, installed_version(d)) for d in MMCV_DISTRIBUTIONS]
    mmcv = [(d, v) for d, v in mmcv if v is not None]
    if not mmcv:
        problems.append(
            f'neither mmcv nor mmcv-lite is installed; mmib needs one of '
            f'them, {specifier(MMCV)} (the full mmcv for CUDA ops: see '
            "OpenMMLab's install guide; on a CPU-only machine "
            f"pip install 'mmcv-lite{specifier(MMCV)}')")
    for name, version in mmcv:
        if not in_range(version, MMCV):
            problems.append(_outside(name, version, MMCV))
    for name, supported in OPTIONAL.items():
        version = installed_version(name)
        if version is not None and not in_range(version, supported):
            problems.append(_outside(name, version, supported))
    if problems:
        raise DependencyError('mmib cannot be imported: ' +
                              '; '.join(problems) + '.')
