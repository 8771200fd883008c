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
import ast
import math
import pickle
import re
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

from ..mmengine_fields import (local_checkpoint_loader,
                               set_local_checkpoint_loader)
from .archive import archive_problem

PLAIN_MARK = '__mmib_plain__'
#: HistoryBuffer statistics a file may name; fixed here, never read from the
#: class (whose registry a file could otherwise extend while loading)
_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})
#: numpy type codes MMEngine's message hub uses
_DTYPE_CODES = frozenset({
    'b1', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', 'f2', 'f4', 'f8'
})
#: MMEngine's ``HistoryBuffer`` keeps at most this many values (its default
#: ``max_length``, which ``MessageHub.update_scalar`` uses)
MAX_BUFFER_LENGTH = 1_000_000
#: message-hub buffers in one checkpoint (MMEngine writes a few dozen: one
#: per logged scalar)
MAX_BUFFERS = 10_000
#: the longest ``meta['config']`` line read for ``gpu_ids``
_MAX_GPU_IDS_LINE = 4096


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
        code = getattr(self, 'code', None)
        if code is None:  # made without its constructor
            raise CheckpointTrustError('a numpy dtype has no type code')
        dtype = np.dtype(code)
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
        if not (isinstance(shape, tuple) and len(shape) <= 32 and all(
                isinstance(s, int) and 0 <= s < 2**31 for s in shape)):
            raise CheckpointTrustError(
                f'bad numpy array shape {str(shape)[:60]} (at most 32 '
                'dimensions, each below 2**31)')
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


def leftover_stand_in(obj: Any, max_nodes: int = 5_000_000
                      ) -> Optional[str]:
    """The path of the first stand-in inside ``obj`` (dicts, lists and
    tuples, each container visited once), or None."""
    stand_ins = (ArrayStandIn, DtypeStandIn, HistoryBufferStandIn,
                 _StatisticRef)
    stack, seen, nodes = [(obj, '')], set(), 0
    while stack:
        value, field = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            return f'{field or "<root>"} (more than {max_nodes} values)'
        if isinstance(value, stand_ins):
            return field or '<root>'
        if isinstance(value, (dict, list, tuple)) and id(value) not in seen:
            seen.add(id(value))
            items = value.items() if isinstance(value, dict) else enumerate(
                value)
            stack.extend((v, f'{field}[{k!r}]'[:200]) for k, v in items)
    return None


def restore_stand_ins(obj: Any) -> Any:
    """Replace the stand-ins in a loaded checkpoint by real objects, within
    :class:`BoundedDecoder`'s limits (defined below).

    Dicts and lists are changed in place; returns the object to use.
    """
    return BoundedDecoder().walk(obj)


class ScopedCheckpointTrust:
    """Trust MMEngine's checkpoint format only while the runner loads one.

    :meth:`enter` wraps MMEngine's local checkpoint loader (nothing else
    changes) for one load, after which the scope closes itself: the load
    runs inside
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
        original = local_checkpoint_loader()
        if self.active or original is None:
            return
        self._original = original

        def load_local(filename, map_location=None):
            try:
                problem = archive_problem(filename)
                if problem is not None:
                    raise pickle.UnpicklingError(problem)
                with torch.serialization.safe_globals(mmengine_stand_ins()):
                    return original(filename, map_location)
            except pickle.UnpicklingError as error:
                raise CheckpointTrustError(
                    f'{filename}: refused to load this checkpoint ({error}). '
                    'mmib loads only what MMEngine and mmib checkpoints hold '
                    '(tensors, numbers, strings, lists, dicts, message-hub '
                    'buffers of numbers). If you made this file and trust '
                    'it, convert it yourself with torch.load(path, '
                    'weights_only=False).') from error
            finally:
                self.exit()  # one load, then the scope is closed

        set_local_checkpoint_loader(load_local)

    def exit(self) -> None:
        """Put MMEngine's local loader back (no-op if not wrapped)."""
        if not self.active:
            return
        set_local_checkpoint_loader(self._original)
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


class BoundedDecoder:
    """Turns loaded checkpoint data back into live objects, within limits.

    One decoder for both message-hub formats (mmib's plain one and, via the
    stand-ins, MMEngine's own): numpy dtypes from an allow-list, every
    shared container decoded once (a memo: a file that nests one list in
    itself 60 times is 60 nodes, not 2**60), a nesting depth limit, a budget
    of containers, array elements and bytes, and only contiguous tensors of
    their declared size (no stretched, stride-0 views). A violation raises
    :class:`CheckpointTrustError` naming the field.

    Args:
        max_depth (int): Deepest nesting of containers.
        max_nodes (int): Containers and values visited in all.
        max_elements (int): Array elements in all (MMEngine's log buffers
            hold one value per logged iteration; 50M is 100x a 160k-iteration
            run's).
        max_bytes (int): Bytes of array data in all.
    """

    def __init__(self, max_depth: int = 32, max_nodes: int = 5_000_000,
                 max_elements: int = 50_000_000,
                 max_bytes: int = 512 * 2**20) -> None:
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.max_elements = max_elements
        self.max_bytes = max_bytes
        self.nodes = 0
        self.elements = 0
        self.bytes = 0
        self.buffers = 0
        self.memo: Dict[int, Any] = {}

    def refuse(self, field: str, why: str) -> None:
        raise CheckpointTrustError(
            f'checkpoint field {field or "<root>"}: {why}; refused to load '
            'this checkpoint (it was not written by MMEngine or mmib, or is '
            'damaged).')

    def count(self, field: str, elements: int, nbytes: int) -> None:
        self.elements += elements
        self.bytes += nbytes
        if self.elements > self.max_elements or self.bytes > self.max_bytes:
            self.refuse(field, f'more than {self.max_elements} array '
                        f'elements or {self.max_bytes} bytes in all')

    def dtype(self, field: str, code: Any) -> np.dtype:
        if not (isinstance(code, str) and len(code) <= 3 and
                code.lstrip('<>|=') in _DTYPE_CODES):
            self.refuse(field, f'numpy dtype {str(code)[:40]!r} is not one '
                        f'of {sorted(_DTYPE_CODES)}')
        return np.dtype(code)

    def plain_array(self, value: dict, field: str) -> np.ndarray:
        """A marked ``{'dtype', 'data'}`` dict as a fresh numpy array."""
        dtype = self.dtype(f'{field}.dtype', value.get('dtype'))
        data = value.get('data')
        if not isinstance(data, torch.Tensor) or data.dtype not in (
                torch.bool, torch.uint8, torch.int8, torch.int16,
                torch.int32, torch.int64, torch.float16, torch.float32,
                torch.float64):
            self.refuse(f'{field}.data', 'not a numeric tensor')
        if not data.is_contiguous():
            self.refuse(f'{field}.data',
                        f'a non-contiguous tensor (stride {data.stride()})')
        if data.requires_grad:
            self.refuse(f'{field}.data', 'a tensor that requires grad')
        self.count(field, data.numel(), data.numel() * dtype.itemsize)
        return data.numpy().astype(dtype, copy=True)

    def walk(self, value: Any, field: str = '', depth: int = 0) -> Any:
        """Decode ``value`` (dicts and lists in place, as loaded)."""
        self.nodes += 1
        if self.nodes > self.max_nodes:
            self.refuse(field, f'more than {self.max_nodes} values')
        if depth > self.max_depth:
            self.refuse(field, f'nested deeper than {self.max_depth}')
        key = id(value)
        if isinstance(value, (dict, list, tuple, ArrayStandIn, DtypeStandIn,
                              HistoryBufferStandIn)) and key in self.memo:
            return self.memo[key]
        if isinstance(value, torch.Tensor):
            if not value.is_contiguous():
                self.refuse(field, 'a non-contiguous tensor (stride '
                            f'{value.stride()})')
            if value.requires_grad:
                self.refuse(field, 'a tensor that requires grad (a saved '
                            'state never does)')
            return value
        if isinstance(value, dict):
            mark = value.get(PLAIN_MARK)
            if mark in ('ndarray', 'scalar'):
                array = self.plain_array(value, field)
                result = array[()] if mark == 'scalar' else array
            elif mark == 'HistoryBuffer':
                result = self.history_buffer(value, field)
            else:
                self.memo[key] = value
                for k in list(value):
                    value[k] = self.walk(value[k], f'{field}[{k!r}]'[:200],
                                         depth + 1)
                return value
        elif isinstance(value, list):
            self.memo[key] = value
            value[:] = [self.walk(v, f'{field}[{i}]', depth + 1)
                        for i, v in enumerate(value)]
            return value
        elif isinstance(value, tuple):
            result = tuple(self.walk(v, f'{field}[{i}]', depth + 1)
                           for i, v in enumerate(value))
        elif isinstance(value, ArrayStandIn):
            if not hasattr(value, 'array'):
                self.refuse(field, 'a numpy array has no data')
            self.count(field, value.array.size, value.array.nbytes)
            result = value.array
        elif isinstance(value, DtypeStandIn):
            result = value.resolve()
        elif isinstance(value, HistoryBufferStandIn):
            state = getattr(value, 'state', {})
            logs = self.walk(state.get('_log_history', []),
                             f'{field}._log_history', depth + 1)
            counts = self.walk(state.get('_count_history', []),
                               f'{field}._count_history', depth + 1)
            result = self.make_buffer(logs, counts,
                                      state.get('max_length', 1000000), field)
        elif isinstance(value, (_StatisticRef, NdarrayTag)):
            result = None
        else:
            return value
        self.memo[key] = result
        return result

    def history_buffer(self, value: dict, field: str):
        """mmib's plain ``HistoryBuffer`` as a real one."""
        for name in ('log', 'count'):
            part = value.get(name)
            if not (isinstance(part, dict)
                    and part.get(PLAIN_MARK) == 'ndarray'):
                self.refuse(f'{field}.{name}', 'not a plain array')
        return self.make_buffer(self.plain_array(value['log'], f'{field}.log'),
                                self.plain_array(value['count'],
                                                 f'{field}.count'),
                                value.get('max_length'), field)

    def make_buffer(self, logs: Any, counts: Any, max_length: Any,
                    field: str):
        from mmengine.logging import HistoryBuffer
        self.buffers += 1
        if self.buffers > MAX_BUFFERS:
            self.refuse(field, f'more than {MAX_BUFFERS} message-hub '
                        'buffers (MMEngine writes one per logged scalar)')
        if isinstance(max_length, bool) or not isinstance(
                max_length, int) or not 0 < max_length <= MAX_BUFFER_LENGTH:
            self.refuse(f'{field}.max_length',
                        f'{str(max_length)[:40]} is not an integer in '
                        f'[1, {MAX_BUFFER_LENGTH}] (MMEngine\'s buffers keep '
                        f'at most {MAX_BUFFER_LENGTH} values)')
        logs = np.asarray(logs).reshape(-1)
        counts = np.asarray(counts).reshape(-1)
        if logs.shape != counts.shape or logs.dtype.kind not in 'biuf' or \
                counts.dtype.kind not in 'biuf':
            self.refuse(field, 'log and count histories of different '
                        'lengths or non-numeric')
        if logs.size > max_length:
            self.refuse(field, f'{logs.size} values in a buffer that keeps '
                        f'at most {max_length}')
        return HistoryBuffer(list(logs), list(counts), max_length)


def _from_plain(value: Any) -> Any:
    return BoundedDecoder().walk(value)


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
    """The inverse of :func:`plain_message_hub` (other states unchanged),
    decoded within :class:`BoundedDecoder`'s limits."""
    decoder = BoundedDecoder()
    if not isinstance(state.get('log_scalars', {}), dict):
        decoder.refuse('message_hub.log_scalars', 'not a dict')
    scalars = OrderedDict(
        (key, decoder.walk(value, f'message_hub.log_scalars[{key!r}]', 1))
        for key, value in state.get('log_scalars', {}).items())
    return dict(
        state,
        log_scalars=scalars,
        runtime_info=decoder.walk(state.get('runtime_info', {}),
                                  'message_hub.runtime_info', 1))


def is_plain_message_hub(state: Any) -> bool:
    """Whether ``state`` was written by :func:`plain_message_hub`."""
    if not isinstance(state, dict):
        return False
    return any(
        isinstance(v, dict) and PLAIN_MARK in v
        for v in state.get('log_scalars', {}).values())


# -- meta['config']: source code that MMEngine's resume would execute ----------
def _literal_gpu_ids(text: str) -> Optional[list]:
    """``gpu_ids`` of a config text, read by a bounded line scan and
    ``ast.literal_eval`` of that one value: never executed, and no parse of
    the whole text (a 16 MB text would take minutes and gigabytes)."""
    found = re.search(r'^gpu_ids\s*=\s*(.{1,%d})$' % _MAX_GPU_IDS_LINE, text,
                      re.MULTILINE)
    if found is None:
        return None
    value = found.group(1).strip()
    span = re.fullmatch(r'range\(\s*(\d{1,6})\s*,\s*(\d{1,6})\s*\)', value)
    if span is not None:  # MMEngine dumps ``gpu_ids = range(0, 1)``
        return list(range(int(span.group(1)), int(span.group(2))))[:4096]
    try:
        value = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, RecursionError,
            MemoryError):
        return None
    if isinstance(value, (list, tuple)) and all(
            type(v) is int for v in value):
        return list(value)
    return None


def defuse_meta_config(checkpoint: Any) -> Optional[str]:
    """Keep MMEngine's resume from executing ``meta['config']``.

    ``Runner.resume`` (and ``FlexibleRunner.resume``) pass the checkpoint's
    ``meta['config']`` to ``Config.fromstring(..., '.py')``, which runs it
    as Python, only to read ``gpu_ids``. A file that loads as plain data
    can carry any code there. This replaces the text by ``gpu_ids = [...]``
    read by parsing (or removes it when there is none), after the load and
    before the runner reads it (``after_load_checkpoint``).

    Returns:
        str or None: A note for the log, None if there was no config.
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    if not isinstance(meta, dict) or 'config' not in meta:
        return None
    text = meta['config']
    gpu_ids = _literal_gpu_ids(text) if isinstance(text, str) else None
    if gpu_ids is None:
        del meta['config']
        kept = 'no gpu_ids'
    else:
        meta['config'] = f'gpu_ids = {gpu_ids!r}\n'
        kept = f'gpu_ids={gpu_ids}'
    return ("mmib: the checkpoint's meta['config'] is not executed (MMEngine "
            'would run it as Python to read gpu_ids); read by parsing: '
            f'{kept}.')
