"""mmib's data sets and samplers (in MMEngine's root registries)."""
from .data_roots import check_data_roots, missing_data_roots
from .digits import DigitsDataset
from .infobatch_dataset import INDEX_KEY, InfoBatchDataset, check_sized_dataset
from .infobatch_sampler import InfoBatchSampler
from .photo_tiles import PhotoTilesDataset

__all__ = [
    'DigitsDataset', 'INDEX_KEY', 'InfoBatchDataset', 'InfoBatchSampler',
    'PhotoTilesDataset', 'check_data_roots', 'check_sized_dataset',
    'missing_data_roots'
]
