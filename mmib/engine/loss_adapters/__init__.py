"""Per-sample losses: one small adapter per loss family, in a registry,
and the check that every loss term of a step was weighted.

See :mod:`.base` for the interface. Register your own adapter (from a
config's ``custom_imports``) with ``@LOSS_ADAPTERS.register_module()`` on a
:class:`LossAdapter` subclass; it is asked before the generic
:class:`ReductionAdapter` when its ``priority`` is below 90.
"""
from .base import (LOSS_ADAPTERS, LossAdapter, RecomputingAdapter,
                   StepRecord, per_sample_mean, reduce_loss)
from .coverage import LossCoverageCheck
from .recorder import PerSampleLossRecorder, adapter_classes, \
    find_loss_modules
from .heads import (AnchorHeadAdapter, BBoxHeadAdapter, DETRHeadAdapter,
                    HeadAdapter, MaskFormerHeadAdapter)
from .reduction import LovaszAdapter, ReductionAdapter
from .segmentation import OhemCrossEntropyAdapter
from .selfsup import (CosineSimilarityAdapter, PixelReconstructionAdapter,
                      SimCLRContrastiveAdapter, reconstruction_scores)

__all__ = [
    'LOSS_ADAPTERS', 'LossAdapter', 'LossCoverageCheck', 'RecomputingAdapter',
    'StepRecord', 'PerSampleLossRecorder',
    'adapter_classes', 'find_loss_modules', 'ReductionAdapter',
    'LovaszAdapter', 'AnchorHeadAdapter', 'BBoxHeadAdapter', 'DETRHeadAdapter',
    'HeadAdapter', 'MaskFormerHeadAdapter', 'OhemCrossEntropyAdapter',
    'CosineSimilarityAdapter',
    'PixelReconstructionAdapter', 'SimCLRContrastiveAdapter',
    'per_sample_mean', 'reduce_loss', 'reconstruction_scores'
]
