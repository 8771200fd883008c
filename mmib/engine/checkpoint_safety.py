"""Checkpoints that load with torch's default ``weights_only`` allow-list.

``import mmib`` changes nothing in ``torch.serialization``. Two parts:

* **Writing.** MMEngine puts its message hub into every checkpoint: a dict of
  ``HistoryBuffer`` objects holding numpy arrays, which torch's default
  ``weights_only`` loader rejects. :func:`plain_message_hub` turns it into
  dicts, lists, numbers and tensors before the file is written (the hook's
  ``before_save_checkpoint``), and :func:`restore_plain_message_hub` turns it
  back after loading (``after_load_checkpoint``). A checkpoint of a run with
  the hook therefore loads with ``torch.load(path, weights_only=True)`` and no
  allow-list at all.
* **Reading MMEngine's own format** (runs without mmib). Only during a load
  through MMEngine's local checkpoint loader between the hook's
  ``before_run`` and the end of the runner's resume
  (:class:`ScopedCheckpointTrust`), the global names those files use are
  mapped to *stand-ins* defined here, never to the real classes:
  ``HistoryBuffer``, ``numpy.ndarray``, numpy's ``_reconstruct``, ``dtype``
  and ``scalar``, and ``getattr``. A stand-in only records data; it calls no
  numpy ``__setstate__``, makes no array view, consults no class-level state,
  and accepts each state once. :func:`restore_stand_ins` then builds fresh
  arrays (copies) and real ``HistoryBuffer`` objects through their public
  constructor. Anything else a file asks for is refused by torch, and the
  error names the file.
"""
import math
import pickle
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

PLAIN_MARK = '__mmib_plain__'
#: HistoryBuffer statistics a file may name; fixed here, never read from the
#: class (whose registry a file could otherwise extend while loading)
_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})
#: numpy type codes MMEngine's message hub uses
_DTYPE_CODES = frozenset({
    'b1', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', 'f2', 'f4', 'f8'
})


class CheckpointTrustError(pickle.UnpicklingError):
    """A checkpoint asks for something it may not while loading."""


# -- stand-ins for MMEngine-format checkpoints ---------------------------------
class _StatisticRef:
    """What ``getattr(HistoryBuffer, 'mean')`` stands for (a name only)."""

    __slots__ = ('name', )

    def __init__(self, name: str) -> None:
        self.name = name


class HistoryBufferStandIn:
    """Stands for ``mmengine.logging.HistoryBuffer`` while loading."""

    __slots__ = ('state', )

    def __setstate__(self, state: Any) -> None:
        if hasattr(self, 'state'):
            raise CheckpointTrustError('a HistoryBuffer is built twice')
        if not isinstance(state, dict):
            raise CheckpointTrustError('a HistoryBuffer state is not a dict')
        self.state = state


def _getattr_stand_in(owner: Any, name: Any) -> _StatisticRef:
    """``getattr`` as MMEngine's files use it, and nothing else."""
    if owner is HistoryBufferStandIn and isinstance(
            name, str) and name in _STATISTICS:
        return _StatisticRef(name)
    raise CheckpointTrustError(
        f'getattr({owner!r}, {name!r}) is not allowed: only the statistics '
        f'{sorted(_STATISTICS)} of HistoryBuffer are')


class NdarrayTag:
    """Stands for the name ``numpy.ndarray``; cannot make arrays itself."""

    def __new__(cls, *args, **kwargs):
        raise CheckpointTrustError(
            'numpy.ndarray(...) may not be called while loading (it can make '
            'views on other arrays\' memory)')


class DtypeStandIn:
    """Stands for ``numpy.dtype``: a type code and a byte order."""

    __slots__ = ('code', 'byteorder')

    def __init__(self, code: Any, align: Any = False, copy: Any = True):
        if not isinstance(code, str) or code not in _DTYPE_CODES:
            raise CheckpointTrustError(f'numpy dtype {code!r} is not allowed')
        self.code = code

    def __setstate__(self, state: Any) -> None:
        if hasattr(self, 'byteorder'):
            raise CheckpointTrustError('a numpy dtype is built twice')
        if not (isinstance(state, tuple) and len(state) >= 2
                and state[1] in ('<', '>', '|', '=')):
            raise CheckpointTrustError('bad numpy dtype state')
        self.byteorder = state[1]

    def resolve(self) -> np.dtype:
        """The numpy dtype."""
        dtype = np.dtype(self.code)
        order = getattr(self, 'byteorder', '=')
        return dtype.newbyteorder(order) if order in '<>' else dtype


class ArrayStandIn:
    """What numpy's ``_reconstruct`` returns here: an array built once from
    its bytes, as a fresh copy."""

    __slots__ = ('array', )

    def __setstate__(self, state: Any) -> None:
        if hasattr(self, 'array'):
            raise CheckpointTrustError(
                'a numpy array is built twice (a crafted file frees memory '
                'this way)')
        if not (isinstance(state, tuple) and len(state) == 5):
            raise CheckpointTrustError('bad numpy array state')
        _, shape, dtype, fortran, raw = state
        if not isinstance(dtype, DtypeStandIn) or not isinstance(raw, bytes):
            raise CheckpointTrustError('bad numpy array state')
        if not (isinstance(shape, tuple) and all(
                isinstance(s, int) and s >= 0 for s in shape)):
            raise CheckpointTrustError('bad numpy array shape')
        dtype = dtype.resolve()
        if math.prod(shape) * dtype.itemsize != len(raw):
            raise CheckpointTrustError('numpy array size does not match')
        self.array = np.frombuffer(raw, dtype=dtype).reshape(
            shape, order='F' if fortran else 'C').copy()


def _reconstruct_stand_in(cls: Any, shape: Any, typecode: Any):
    if cls is not NdarrayTag:
        raise CheckpointTrustError(
            f'numpy _reconstruct of {cls!r} is not allowed')
    return ArrayStandIn()


def _scalar_stand_in(dtype: Any, raw: Any = None):
    if not isinstance(dtype, DtypeStandIn) or not isinstance(raw, bytes):
        raise CheckpointTrustError('bad numpy scalar')
    resolved = dtype.resolve()
    if len(raw) != resolved.itemsize:
        raise CheckpointTrustError('bad numpy scalar size')
    return np.frombuffer(raw, dtype=resolved)[0]


def mmengine_stand_ins() -> List[Tuple[Callable, str]]:
    """The ``(stand-in, global name)`` pairs MMEngine-format files need."""
    pairs: List[Tuple[Callable, str]] = [
        (HistoryBufferStandIn,
         'mmengine.logging.history_buffer.HistoryBuffer'),
        (_getattr_stand_in, 'builtins.getattr'),
        (NdarrayTag, 'numpy.ndarray'),
        (DtypeStandIn, 'numpy.dtype'),
    ]
    for core in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        pairs.append((_reconstruct_stand_in, f'{core}._reconstruct'))
        pairs.append((_scalar_stand_in, f'{core}.scalar'))
    # BUILD needs the stand-ins' own types among the allowed values
    pairs.append((ArrayStandIn, f'{__name__}.ArrayStandIn'))
    return pairs


def restore_stand_ins(obj: Any, _memo: Optional[Dict[int, Any]] = None):
    """Replace the stand-ins in a loaded checkpoint by real objects.

    Dicts and lists are changed in place; returns the object to use.
    """
    memo = {} if _memo is None else _memo
    if id(obj) in memo:
        return memo[id(obj)]
    if isinstance(obj, ArrayStandIn):
        if not hasattr(obj, 'array'):
            raise CheckpointTrustError('a numpy array has no data')
        result = obj.array
    elif isinstance(obj, DtypeStandIn):
        result = obj.resolve()
    elif isinstance(obj, HistoryBufferStandIn):
        from mmengine.logging import HistoryBuffer
        state = getattr(obj, 'state', {})
        logs = restore_stand_ins(state.get('_log_history', []), memo)
        counts = restore_stand_ins(state.get('_count_history', []), memo)
        max_length = state.get('max_length', 1000000)
        if not isinstance(max_length, int):
            raise CheckpointTrustError('bad HistoryBuffer max_length')
        result = HistoryBuffer(list(np.asarray(logs).reshape(-1)),
                               list(np.asarray(counts).reshape(-1)),
                               max_length)
    elif isinstance(obj, (_StatisticRef, NdarrayTag)):
        result = None
    elif isinstance(obj, dict):
        memo[id(obj)] = obj
        for key in list(obj):
            obj[key] = restore_stand_ins(obj[key], memo)
        return obj
    elif isinstance(obj, list):
        memo[id(obj)] = obj
        obj[:] = [restore_stand_ins(v, memo) for v in obj]
        return obj
    elif isinstance(obj, tuple):
        result = tuple(restore_stand_ins(v, memo) for v in obj)
    else:
        return obj
    memo[id(obj)] = result
    return result


class ScopedCheckpointTrust:
    """Trust MMEngine's checkpoint format only while the runner loads one.

    :meth:`enter` wraps MMEngine's local checkpoint loader (nothing else
    changes): each load through it runs inside
    ``torch.serialization.safe_globals`` with the stand-ins of
    :func:`mmengine_stand_ins`, which torch removes again when the load
    returns or fails; a refused file raises :class:`CheckpointTrustError`
    naming the file, after the loader is put back. :meth:`exit` puts the
    loader back. Both are idempotent.
    """

    def __init__(self) -> None:
        self._original: Optional[Callable] = None

    @property
    def active(self) -> bool:
        """Whether MMEngine's local loader is wrapped now."""
        return self._original is not None

    def enter(self) -> None:
        """Wrap MMEngine's local loader (no-op if already wrapped)."""
        from mmengine.runner.checkpoint import CheckpointLoader

        original = CheckpointLoader._schemes.get('')
        if self.active or original is None:
            return
        self._original = original

        def load_local(filename, map_location=None):
            try:
                with torch.serialization.safe_globals(mmengine_stand_ins()):
                    return original(filename, map_location)
            except pickle.UnpicklingError as error:
                self.exit()
                raise CheckpointTrustError(
                    f'{filename}: refused to load this checkpoint ({error}). '
                    'mmib loads only what MMEngine and mmib checkpoints hold '
                    '(tensors, numbers, strings, lists, dicts, message-hub '
                    'buffers of numbers). If you made this file and trust '
                    'it, convert it yourself with torch.load(path, '
                    'weights_only=False).') from error

        CheckpointLoader._schemes[''] = load_local

    def exit(self) -> None:
        """Put MMEngine's local loader back (no-op if not wrapped)."""
        if not self.active:
            return
        from mmengine.runner.checkpoint import CheckpointLoader

        CheckpointLoader._schemes[''] = self._original
        self._original = None


# -- the message hub as plain data ---------------------------------------------
def _plain_array(value: np.ndarray) -> dict:
    return {
        PLAIN_MARK: 'ndarray',
        'dtype': value.dtype.str,
        'data': torch.from_numpy(np.ascontiguousarray(value).copy())
    }


def _to_plain(value: Any) -> Any:
    """numpy arrays and scalars to marked dicts of tensors."""
    if isinstance(value, np.ndarray) and value.dtype.kind in 'biuf':
        return _plain_array(value)
    if isinstance(value, np.generic) and value.dtype.kind in 'biuf':
        return {PLAIN_MARK: 'scalar', **_plain_array(np.asarray(value))}
    if isinstance(value, dict):
        return type(value)((k, _to_plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_to_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_plain(v) for v in value)
    return value


def _from_plain(value: Any) -> Any:
    if isinstance(value, dict):
        mark = value.get(PLAIN_MARK)
        if mark in ('ndarray', 'scalar'):
            array = value['data'].numpy().astype(np.dtype(value['dtype']))
            return array[()] if mark == 'scalar' else array
        return type(value)((k, _from_plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_from_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_from_plain(v) for v in value)
    return value


def plain_message_hub(state: dict) -> dict:
    """A message hub state of plain types (``HistoryBuffer`` and numpy
    values become marked dicts of tensors)."""
    from mmengine.logging import HistoryBuffer

    scalars = OrderedDict()
    for key, buffer in state.get('log_scalars', {}).items():
        if isinstance(buffer, HistoryBuffer):
            logs, counts = buffer.data
            scalars[key] = {
                PLAIN_MARK: 'HistoryBuffer',
                'log': _plain_array(np.asarray(logs)),
                'count': _plain_array(np.asarray(counts)),
                'max_length': int(buffer.max_length)
            }
        else:
            scalars[key] = _to_plain(buffer)
    return dict(
        state,
        log_scalars=scalars,
        runtime_info=_to_plain(state.get('runtime_info', {})))


def restore_plain_message_hub(state: dict) -> dict:
    """The inverse of :func:`plain_message_hub` (other states unchanged)."""
    from mmengine.logging import HistoryBuffer

    scalars = OrderedDict()
    for key, value in state.get('log_scalars', {}).items():
        if isinstance(value, dict) and value.get(
                PLAIN_MARK) == 'HistoryBuffer':
            logs = _from_plain(value['log'])
            counts = _from_plain(value['count'])
            scalars[key] = HistoryBuffer(list(logs), list(counts),
                                         int(value['max_length']))
        else:
            scalars[key] = _from_plain(value)
    return dict(
        state,
        log_scalars=scalars,
        runtime_info=_from_plain(state.get('runtime_info', {})))


def is_plain_message_hub(state: Any) -> bool:
    """Whether ``state`` was written by :func:`plain_message_hub`."""
    if not isinstance(state, dict):
        return False
    return any(
        isinstance(v, dict) and PLAIN_MARK in v
        for v in state.get('log_scalars', {}).values())
