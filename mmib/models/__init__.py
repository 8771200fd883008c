"""Models of mmib's benchmarks and demo (in MMEngine's root MODELS)."""
from .small_cnn import SmallCNN

__all__ = ['SmallCNN']
