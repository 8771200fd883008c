"""The data set wrapper and the sampler of a pruned run (in MMEngine's root
registries)."""
from .infobatch_dataset import INDEX_KEY, InfoBatchDataset, check_sized_dataset
from .infobatch_sampler import InfoBatchSampler

__all__ = [
    'INDEX_KEY', 'InfoBatchDataset', 'InfoBatchSampler', 'check_sized_dataset'
]
