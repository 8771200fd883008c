"""Models of the demo and benchmarks (in MMEngine's root MODELS once
imported)."""
from .small_cnn import SmallCNN

__all__ = ['SmallCNN']
