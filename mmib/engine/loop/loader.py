"""Put :class:`InfoBatchDataset` and :class:`InfoBatchSampler` into a loader.

``Runner.train`` builds the training data loader before any hook runs, so
:class:`~mmib.engine.InfoBatchHook` rebuilds it at ``before_run`` around the
already built data set (nothing is loaded twice) with every other setting of
the original loader kept: batch size, workers, collate function, the worker
seeding that MMEngine installed, a custom batch sampler.
"""
import copy

import torch
from mmengine.dataset import DefaultSampler, InfiniteSampler, RepeatDataset
from torch.utils.data import DataLoader

from ...datasets import InfoBatchDataset, InfoBatchSampler
from ..optional_classes import lazy_class

#: Samplers whose sampling InfoBatchSampler reproduces on the full data. An
#: InfiniteSampler becomes a pass-by-pass InfoBatchSampler (its stream of
#: reshuffled passes, cut at pass boundaries); mmpretrain's RepeatAugSampler
#: (where mmpretrain is in use) one with its ``num_repeats``.
REPLACEABLE_SAMPLERS = (DefaultSampler, InfiniteSampler, InfoBatchSampler)
_REPEAT_AUG_SAMPLER = lazy_class('mmpretrain.datasets.samplers.repeat_aug',
                                 'RepeatAugSampler')


def is_replaceable(sampler) -> bool:
    """Whether :func:`wrap_train_dataloader` can replace ``sampler``: one of
    the exact types above (a subclass, e.g. mmpretrain's
    ``SequentialSampler``, a ``DefaultSampler``, may sample differently)."""
    return (type(sampler) in REPLACEABLE_SAMPLERS
            or type(sampler) is _REPEAT_AUG_SAMPLER())


def loader_sampler(loader: DataLoader):
    """The sampler that decides the indices (inside a batch sampler if any)."""
    return getattr(loader.batch_sampler, 'sampler', loader.sampler)


def wrap_train_dataloader(loader: DataLoader,
                          own_generator: bool = False,
                          unwrap_repeat: bool = False) -> DataLoader:
    """Return ``loader`` with an InfoBatch data set and sampler.

    Args:
        loader (DataLoader): The runner's training data loader.
        own_generator (bool): Give the new loader a generator of its own
            (seeded with the sampler's seed) when it has none, so that
            starting an iterator (which draws the workers' base seed) does
            not draw from the global torch RNG. For iteration-based runs:
            they start an iterator per pass where an ``InfiniteSampler``
            run starts one in all. Defaults to False.
        unwrap_repeat (bool): Train on the data set inside a
            ``RepeatDataset`` (iteration-based runs: passes then count over
            the real samples, each scored once per pass, instead of over
            ``times`` copies). Defaults to False.

    Returns:
        DataLoader: ``loader`` itself when it already has both, else a new
        loader over ``InfoBatchDataset(loader.dataset)`` with an
        ``InfoBatchSampler`` that takes over the old sampler's ``shuffle``,
        ``seed`` and ``round_up``.

    Raises:
        ValueError: If the loader's sampler cannot be replaced.
    """
    sampler = loader_sampler(loader)
    dataset = loader.dataset
    if (isinstance(dataset, InfoBatchDataset)
            and isinstance(sampler, InfoBatchSampler)):
        return loader
    if not is_replaceable(sampler):
        raise ValueError(
            'InfoBatchHook replaces train_dataloader.sampler with an '
            "InfoBatchSampler, but the config uses "
            f'{type(sampler).__name__}, whose sampling it cannot reproduce. '
            "Use sampler=dict(type='DefaultSampler', shuffle=True) or "
            "dict(type='InfiniteSampler', shuffle=True) or mmpretrain's "
            "RepeatAugSampler (their shuffle and seed carry over) or "
            "sampler=dict(type='InfoBatchSampler', shuffle=True).")
    if unwrap_repeat and isinstance(dataset, RepeatDataset):
        dataset = dataset.dataset
    if not isinstance(dataset, InfoBatchDataset):
        dataset = InfoBatchDataset(dataset)
    if not isinstance(sampler, InfoBatchSampler):
        sampler = InfoBatchSampler(
            dataset,
            shuffle=getattr(sampler, 'shuffle', True),
            seed=sampler.seed,
            round_up=getattr(sampler, 'round_up', True),
            stream=isinstance(sampler, InfiniteSampler),
            num_repeats=getattr(sampler, 'num_repeats', 1))

    generator = loader.generator
    if own_generator and generator is None:
        generator = torch.Generator()
        generator.manual_seed(sampler.seed)
    kwargs = dict(
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context,
        generator=generator,
        prefetch_factor=loader.prefetch_factor,
        persistent_workers=loader.persistent_workers,
        pin_memory_device=loader.pin_memory_device)
    if loader.batch_size is None:  # a custom batch sampler
        batch_sampler = copy.copy(loader.batch_sampler)
        batch_sampler.sampler = sampler
        return DataLoader(dataset, batch_sampler=batch_sampler, **kwargs)
    return DataLoader(
        dataset,
        batch_size=loader.batch_size,
        sampler=sampler,
        drop_last=loader.drop_last,
        **kwargs)
