"""The demo's and benchmarks' data sets, and the check of a config's data
folders (in MMEngine's root registries once imported)."""
from .data_roots import check_data_roots, missing_data_roots
from .digits import DigitsDataset
from .photo_tiles import PhotoTilesDataset

__all__ = [
    'DigitsDataset', 'PhotoTilesDataset', 'check_data_roots',
    'missing_data_roots'
]
