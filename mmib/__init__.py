"""mmib: InfoBatch (unbiased dynamic data pruning) for OpenMMLab.

``import mmib`` first applies the CPU-stack fixes of :mod:`mmib.compat`, then
registers ``InfoBatchHook`` (HOOKS), ``InfoBatchDataset`` and
``DigitsDataset`` (DATASETS), ``InfoBatchSampler`` (DATA_SAMPLERS) and
``SmallCNN`` (MODELS) in
MMEngine's root registries, which the mmpretrain and mmseg scopes inherit.
Configs load it with ``custom_imports = dict(imports=['mmib'])``.
"""
from . import compat

compat.apply_all()

from . import datasets, engine, models  # noqa: E402
from .version import __version__  # noqa: E402

__all__ = ['__version__', 'compat', 'datasets', 'engine', 'models']
