"""mmib_kit: the project's demo and benchmark kit, apart from the product.

The demo and benchmark data sets (digits, photo tiles, tiny ADE20K,
Fashion-MNIST segmentation), the ``SmallCNN`` model, the benchmark harness
(:mod:`.bench`) and the run analysis (:mod:`.analysis`). ``import mmib``
registers none of it: the project's own configs load it with
``custom_imports = dict(imports=['mmib', 'mmib_kit'])``, which registers
the kit's data sets and model in MMEngine's root registries (as the
product's components are), and its tools import it.
"""
import mmib  # noqa: F401  (the product first: its dependency check)

from . import datasets, models  # noqa: E402

__all__ = ['datasets', 'models']
