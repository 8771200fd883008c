"""Fixes for the known breaks of the CPU OpenMMLab stack.

``import mmib`` applies two import fixes, each only where it is needed,
before anything imports torchvision or mmcv.ops:

1. **torchvision's compiled ops.** The torchvision 0.28 wheel that matches
   the CPU torch 2.13 links CUDA; its ``_C`` extension does not load, and
   ``import torchvision`` then fails with ``operator torchvision::nms does not
   exist`` (its ``_meta_registrations`` register fakes for ops that were never
   defined). Defining the ``torchvision::nms`` and ``torchvision::qnms`` op
   schemas first lets the pure-Python parts (transforms, models) import.
   Only applied when torchvision's compiled library does not load; found
   without importing torchvision, so ``import mmib`` changes nothing global.
2. **mmcv-lite has no compiled ``mmcv.ops``.** ``import mmcv.ops`` fails on
   the missing ``mmcv._ext``, and ``import mmseg.models`` needs
   ``mmcv.ops.point_sample`` (pure Python) and the name
   ``sigmoid_focal_loss`` (only called on CUDA; mmseg falls back to its
   Python focal loss on CPU). When the real ``mmcv.ops`` cannot be imported,
   a small ``mmcv.ops`` module is provided that loads ``point_sample.py`` from
   mmcv's own source and raises a clear error for any compiled op.

One more fix is **not** applied by ``import mmib``: it changes what a
working function of another library does, so it is applied only where asked
for: ``tools/train.py`` calls it, and so can a user's own script. It does
something only under numpy >= 2 with mmcv installed:

3. **mmcv's ``adjust_hue`` under numpy >= 2.** Its pillow branch shifts the
   hue channel with ``np.uint8(hue_factor * 255)``, which numpy 2 refuses
   for a negative factor (``OverflowError``): every ``ColorJitter`` with a
   ``hue`` range (the BYOL, MoCo v3, SimCLR, ... view pipelines) crashes on
   about half of its images. :func:`fix_mmcv_adjust_hue` makes the same
   shift modulo 256 (numpy 1's wrap-around) for negative factors and calls
   mmcv's own function for everything else.

``--resume`` under torch >= 2.6 (``weights_only=True`` rejects MMEngine's
``HistoryBuffer``) is not fixed here, process-wide: the hook writes
checkpoints that torch's default allow-list loads, and reads MMEngine's own
format through stand-ins only during the runner's load
(:mod:`mmib.checkpoint.safety`). ``import mmib`` leaves
``torch.serialization``'s allow-list as it was.

One more break, of MMEngine's launcher rather than of an import, is handled
by :func:`init_cpu_process_group`, which ``tools/train.py`` calls: with
``--launcher pytorch`` MMEngine always calls ``torch.cuda.set_device``, which
fails on a CPU-only torch. On a machine without CUDA the process group is
initialised with gloo first; MMEngine then skips its own initialisation.
"""
import importlib
import importlib.machinery
import importlib.util
import os
import sys
import types

from typing import Optional

import torch

_torchvision_library = None  # keeps the op schemas of fix 1 alive


def _drop_modules(prefix: str) -> None:
    for name in [m for m in sys.modules
                 if m == prefix or m.startswith(prefix + '.')]:
        del sys.modules[name]


def _torchvision_ops_load() -> Optional[bool]:
    """Whether torchvision's compiled ops load, found without importing
    torchvision (its import pulls in ``torch._dynamo``, which registers
    classes in torch's ``weights_only`` allow-list: ``import mmib`` must not).

    Returns:
        bool or None: None if torchvision is not installed.
    """
    spec = importlib.util.find_spec('torchvision')
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = list(spec.submodule_search_locations)[0]
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(folder, '_C' + suffix)
        if os.path.exists(path):
            try:  # what torchvision's own import does first
                torch.ops.load_library(path)
                return True
            except OSError:
                return False
    return False


def fix_torchvision_import() -> bool:
    """Make ``import torchvision`` work when its compiled ops do not load.

    Torchvision itself is not imported here.

    Returns:
        bool: True if the fix was needed and applied.
    """
    global _torchvision_library
    if 'torchvision' in sys.modules or _torchvision_library is not None:
        return False  # imported already (so it imports), or fixed
    if _torchvision_ops_load() is not False:
        return False  # not installed, or its ops load: nothing to fix
    library = torch.library.Library('torchvision', 'FRAGMENT')
    for op in ('nms', 'qnms'):
        try:
            library.define(
                f'{op}(Tensor dets, Tensor scores, float iou_threshold) '
                '-> Tensor')
        except RuntimeError:  # already defined by someone else
            pass
    _torchvision_library = library
    return True


def _missing_compiled_op(name: str):

    def op(*args, **kwargs):
        raise RuntimeError(
            f'mmcv.ops.{name} needs mmcv compiled with its C++/CUDA ops, but '
            'mmcv-lite is installed. Install the full mmcv 2.1.0 (e.g. '
            '`pip install "setuptools<81" && pip install --no-build-isolation'
            ' mmcv==2.1.0`) to use it.')

    op.__name__ = name
    return op


class _LiteOpsModule(types.ModuleType):
    """``mmcv.ops`` for mmcv-lite: pure-Python ops, clear errors otherwise."""

    def __getattr__(self, name: str):
        if name.startswith('__'):
            raise AttributeError(name)
        return _missing_compiled_op(name)


def fix_mmcv_ops() -> bool:
    """Provide ``mmcv.ops.point_sample`` when mmcv has no compiled ops.

    Returns:
        bool: True if the stand-in ``mmcv.ops`` was installed.
    """
    try:
        importlib.import_module('mmcv.ops')
        return False
    except ModuleNotFoundError as error:
        if error.name == 'mmcv':
            return False  # mmcv not installed: nothing to fix
        if 'mmcv._ext' not in str(error) and error.name != 'mmcv._ext':
            raise
    except ImportError:
        pass
    _drop_modules('mmcv.ops')
    mmcv = importlib.import_module('mmcv')
    ops_dir = os.path.join(os.path.dirname(mmcv.__file__), 'ops')
    ops = _LiteOpsModule('mmcv.ops',
                         'mmcv.ops stand-in installed by mmib.compat')
    ops.__path__ = [ops_dir]
    sys.modules['mmcv.ops'] = ops
    mmcv.ops = ops
    spec = importlib.util.spec_from_file_location(
        'mmcv.ops.point_sample', os.path.join(ops_dir, 'point_sample.py'))
    point_sample = importlib.util.module_from_spec(spec)
    sys.modules['mmcv.ops.point_sample'] = point_sample
    spec.loader.exec_module(point_sample)
    for name in ('point_sample', 'SimpleRoIAlign',
                 'rel_roi_point_to_rel_img_point', 'bilinear_grid_sample'):
        setattr(ops, name, getattr(point_sample, name))
    return True


def _wrapping_adjust_hue(original):
    """mmcv's ``adjust_hue`` with numpy 1's uint8 wrap-around for negative
    hue factors on the pillow backend (see fix 3)."""
    import numpy as np
    from mmcv.image import photometric
    from PIL import Image

    def adjust_hue(img, hue_factor: float, backend=None):
        backend = backend or photometric.imread_backend
        if hue_factor >= 0 or backend != 'pillow' or not isinstance(
                img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3:
            return original(img, hue_factor, backend=backend)
        if hue_factor < -0.5:
            return original(img, hue_factor, backend=backend)  # its error
        pil_image = Image.fromarray(img[..., ::-1], mode='RGB')
        h, s, v = pil_image.convert('HSV').split()
        shift = int(hue_factor * 255) % 256  # what np.uint8 wrapped to
        np_h = ((np.array(h, dtype=np.int64) + shift) % 256).astype(np.uint8)
        h = Image.fromarray(np_h, 'L')
        pil_image = Image.merge('HSV', (h, s, v)).convert('RGB')
        return np.array(pil_image, dtype=img.dtype)[..., ::-1]

    adjust_hue.__wrapped__ = original
    adjust_hue.__doc__ = original.__doc__
    return adjust_hue


def fix_mmcv_adjust_hue() -> bool:
    """Fix 3: a negative hue shift under numpy >= 2 (see the module doc).

    Returns:
        bool: True if mmcv's ``adjust_hue`` was wrapped now.
    """
    import numpy as np
    if int(np.__version__.split('.')[0]) < 2:
        return False
    try:
        import mmcv
        from mmcv import image
        from mmcv.image import photometric
    except ImportError:
        return False
    original = photometric.adjust_hue
    if hasattr(original, '__wrapped__'):
        return False  # done already
    fixed = _wrapping_adjust_hue(original)
    for module in (photometric, image, mmcv):
        if getattr(module, 'adjust_hue', None) is original:
            module.adjust_hue = fixed
    return True


def init_cpu_process_group(launcher: str,
                           timeout: Optional[float] = None) -> bool:
    """Start a gloo process group for ``--launcher pytorch`` without CUDA.

    Args:
        launcher (str): The ``--launcher`` of ``tools/train.py``.
        timeout (float, optional): Seconds a collective waits for the other
            ranks (the config's ``env_cfg.dist_cfg.timeout``, as MMEngine's
            own launcher honours it); None: torch's default (30 minutes).

    Returns:
        bool: True if this function initialised the process group.
    """
    import datetime

    import torch.distributed as dist

    if (launcher != 'pytorch' or torch.cuda.is_available()
            or not dist.is_available() or dist.is_initialized()):
        return False
    kwargs = {}
    if timeout is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=float(timeout))
    dist.init_process_group(backend='gloo', init_method='env://', **kwargs)
    return True


def apply_import_fixes() -> None:
    """Apply fixes 1 and 2, which ``import mmib`` runs: each a no-op where
    the import it mends works; fix 3 is left to :func:`apply_run_fixes`."""
    fix_torchvision_import()
    fix_mmcv_ops()


def apply_run_fixes() -> None:
    """Apply fix 3 (``tools/train.py`` calls this before building the
    runner; a user's own training script can too)."""
    fix_mmcv_adjust_hue()
