"""Passes over the data for ``IterBasedTrainLoop``."""
import time
from typing import Callable

from torch.utils.data import DataLoader


class PassIterator:
    """An endless iterator that runs the loader pass after pass.

    Takes the place of the loop's ``_InfiniteDataloaderIterator`` (and of an
    ``InfiniteSampler``): before each pass it calls ``start_pass(index)``,
    which prunes and hands the kept samples to the sampler, then iterates
    the (finite) loader once.

    ``IterBasedTrainLoop`` calls ``next`` ``runner.iter`` times on resume to
    skip what was trained; the first ``skip_calls`` calls return None
    without loading anything: the resumed pass itself starts where it was
    interrupted (see :meth:`InfoBatchSampler.skip_next`).

    Args:
        loader (DataLoader): The training loader with an InfoBatchSampler.
        start_pass (Callable[[int], None]): Called with the pass index
            before each pass.
        first_pass (int): Index of the first pass. Defaults to 0.
        skip_calls (int): Calls to answer with None first. Defaults to 0.
    """

    def __init__(self,
                 loader: DataLoader,
                 start_pass: Callable[[int], None],
                 first_pass: int = 0,
                 skip_calls: int = 0) -> None:
        self.loader = loader
        self.start_pass = start_pass
        self.pass_index = first_pass
        self.skip_calls = skip_calls
        self._iterator = None

    def __iter__(self) -> 'PassIterator':
        return self

    def __next__(self):
        if self.skip_calls > 0:
            self.skip_calls -= 1
            return None
        if self._iterator is None:
            self.start_pass(self.pass_index)
            self._iterator = iter(self.loader)
        try:
            return next(self._iterator)
        except StopIteration:
            self.pass_index += 1
            if self.loader.num_workers > 0:
                time.sleep(2)  # as MMEngine: let workers wind down
            self.start_pass(self.pass_index)
            self._iterator = iter(self.loader)
            return next(self._iterator)
