"""PassGeometry: the passes of a run and their lengths as one value."""
import pytest

from mmib.core import PassGeometry


def test_geometry_counts_passes_and_pruning_passes():
    g = PassGeometry(full_pass_len=10, target_full_iters=80, delta=0.875)
    assert g.pass_len == 10 and g.num_passes == 8
    assert g.num_pruning_passes == 7
    assert PassGeometry(10, 25, 1.0, pass_len=6).num_passes == 2.5
    with pytest.raises(ValueError, match='full_pass_len must be positive'):
        PassGeometry(0, 10)
