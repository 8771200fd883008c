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
