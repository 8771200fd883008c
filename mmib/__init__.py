"""mmib: InfoBatch (unbiased dynamic data pruning) for OpenMMLab.

``import mmib`` first applies the import fixes of :mod:`mmib.compat` (each
only where an import of the CPU stack fails; it changes no working
behaviour of another library), then
registers the product's components, and only those:
``InfoBatchHook`` and ``CheckpointGuardHook`` (HOOKS),
``InfoBatchDataset`` (DATASETS) and ``InfoBatchSampler`` (DATA_SAMPLERS) in
MMEngine's root registries, which the mmpretrain and mmseg scopes inherit.
The demo and benchmark kit is the separate package :mod:`mmib_kit`.
Configs load it with ``custom_imports = dict(imports=['mmib'])``. Before
anything else it checks that torch, mmengine, numpy and mmcv (or mmcv-lite)
are in the supported ranges (:mod:`mmib.dependencies`). It also adds the
``mmib`` scope (:mod:`mmib.registry`) so that ``_base_ = 'mmib::...'`` finds
the configs shipped in the package.
"""
from .dependencies import check_dependencies

check_dependencies()  # a clear error for a package outside its range

from . import compat  # noqa: E402

compat.apply_import_fixes()

from . import checkpoint, core, datasets, engine, registry  # noqa: E402
from .version import __version__  # noqa: E402

registry.register_config_scope()

__all__ = [
    '__version__', 'checkpoint', 'compat', 'core', 'datasets', 'engine',
    'registry'
]
