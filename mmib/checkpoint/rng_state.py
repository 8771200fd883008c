"""The global random states as plain data (lists, numbers, tensors).

MMEngine does not checkpoint them; with them a resumed run continues
bit-identically (on CPU, with ``num_workers=0``). Python's and numpy's
states are written as lists and tensors, never as numpy objects, so the
checkpoint loads with torch's default ``weights_only`` allow-list.
"""
import random
from typing import Any, Dict, Optional

import numpy as np
import torch

from ..core.validation import fail, need_dict, need_int, need_tensor


def capture_rng(generator: Optional[torch.Generator]) -> Dict[str, Any]:
    """The Python, numpy, torch (and CUDA) states and ``generator``'s.

    Args:
        generator (torch.Generator, optional): The data loader's generator.

    Returns:
        dict: Plain data for :func:`restore_global_rng` and
        :func:`restore_torch_rng`.
    """
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return dict(
        python=dict(version=version, state=list(internal), gauss=gauss),
        numpy=dict(
            name=str(name),
            keys=torch.from_numpy(keys.astype(np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            cached_gaussian=float(cached)),
        torch=torch.get_rng_state(),
        cuda=(torch.cuda.get_rng_state_all()
              if torch.cuda.is_available() else None),
        loader=generator.get_state() if generator is not None else None)


def _numpy_state(state: Any) -> tuple:
    if isinstance(state, dict):
        return (state['name'], state['keys'].numpy().astype(np.uint32),
                state['pos'], state['has_gauss'], state['cached_gaussian'])
    return tuple(state)  # mmib 0.1 (state version 2): numpy's own tuple


def _python_state(state: Any) -> tuple:
    if isinstance(state, dict):
        return (state['version'], tuple(state['state']), state['gauss'])
    return tuple(state)


def restore_global_rng(rng: Dict[str, Any],
                       generator: Optional[torch.Generator]) -> None:
    """Restore Python's, numpy's and the loader generator's states.

    Args:
        rng (dict): What :func:`capture_rng` returned.
        generator (torch.Generator, optional): The data loader's generator.
    """
    random.setstate(_python_state(rng['python']))
    np.random.set_state(_numpy_state(rng['numpy']))
    if rng.get('loader') is not None and generator is not None:
        generator.set_state(rng['loader'])


def restore_torch_rng(rng: Dict[str, Any]) -> None:
    """Restore torch's (and CUDA's) global states.

    Args:
        rng (dict): What :func:`capture_rng` returned.
    """
    torch.set_rng_state(rng['torch'])
    if rng.get('cuda') is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng['cuda'])


def validate_rng(rng: Any, legacy: bool = False) -> None:
    """Check the random states (:func:`capture_rng`).

    Args:
        rng: ``checkpoint['infobatch']['rng']``.
        legacy (bool): State version 2 (mmib 0.1) kept Python's and numpy's
            states as their own tuples; only their presence is checked.
    """
    if not isinstance(rng, dict):
        fail('rng', rng, 'a dict of random states')
    if legacy:  # mmib 0.1: Python's and numpy's own state tuples
        _loads('rng.python', rng.get('python'),
               lambda state: random.Random().setstate(tuple(state)),
               "Python's random state (version, 625 integers, gauss)")
        _loads('rng.numpy', rng.get('numpy'),
               lambda state: np.random.RandomState().set_state(tuple(state)),
               "numpy's MT19937 state")
    else:
        python = need_dict(rng, 'python', 'rng.python',
                           ('version', 'state', 'gauss'))
        need_int(python, 'version', 'rng.python.version',
                 random.Random.VERSION, random.Random.VERSION)
        internal = python['state']
        if not (isinstance(internal, (list, tuple)) and len(internal) == 625
                and all(type(v) is int and 0 <= v < 2**32
                        for v in internal)):
            fail('rng.python.state', f'{type(internal).__name__}',
                 "625 integers in [0, 2**32) (Python's Mersenne Twister)")
        if python['gauss'] is not None and not isinstance(
                python['gauss'], float):
            fail('rng.python.gauss', python['gauss'], 'None or a float')
        numpy = need_dict(rng, 'numpy', 'rng.numpy',
                          ('name', 'keys', 'pos', 'has_gauss',
                           'cached_gaussian'))
        if numpy['name'] != 'MT19937':
            fail('rng.numpy.name', numpy['name'], "'MT19937'")
        keys = need_tensor(numpy, 'keys', 'rng.numpy.keys', (torch.int64, ),
                           length=624)
        if bool(((keys < 0) | (keys >= 2**32)).any()):
            fail('rng.numpy.keys', 'a value outside [0, 2**32)',
                 '32-bit unsigned keys')
        need_int(numpy, 'pos', 'rng.numpy.pos', 0, 624)
        need_int(numpy, 'has_gauss', 'rng.numpy.has_gauss', 0, 1)
        if not isinstance(numpy['cached_gaussian'], float):
            fail('rng.numpy.cached_gaussian', numpy['cached_gaussian'],
                 'a float')
    need_tensor(rng, 'torch', 'rng.torch', (torch.uint8, ),
                max_length=1 << 16)
    _loads('rng.torch', rng['torch'],
           lambda state: torch.Generator().set_state(state),
           "a state torch's CPU generator accepts")
    if rng.get('loader') is not None:
        need_tensor(rng, 'loader', 'rng.loader', (torch.uint8, ),
                    max_length=1 << 16)
        _loads('rng.loader', rng['loader'],
               lambda state: torch.Generator().set_state(state),
               "a state torch's CPU generator accepts")
    cuda = rng.get('cuda')
    if cuda is not None:
        if not isinstance(cuda, (list, tuple)) or len(cuda) > 1024:
            fail('rng.cuda', cuda, 'None or a list of uint8 tensors')
        for i, _ in enumerate(cuda):
            need_tensor(dict(enumerate(cuda)), i, f'rng.cuda[{i}]',
                        (torch.uint8, ), max_length=1 << 16)


def _loads(field: str, state: Any, load, what: str) -> None:
    """Load ``state`` into a scratch generator (never the global ones):
    a state its generator refuses is named here, not at the first step."""
    try:
        load(state)
    except (ValueError, TypeError, RuntimeError, OverflowError,
            IndexError) as error:
        fail(field, f'a state its generator refuses ({str(error)[:80]})',
             what)
