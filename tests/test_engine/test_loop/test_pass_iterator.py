"""``PassIterator`` on a plain loader: passes start before each sweep, and a
resume's skipping calls load nothing."""
import torch
from torch.utils.data import DataLoader

from mmib.engine.loop import PassIterator


def test_passes_start_before_each_sweep_and_skips_load_nothing():
    loader = DataLoader(torch.arange(5), batch_size=2)
    started = []
    iterator = PassIterator(loader, started.append, first_pass=3,
                            skip_calls=2)
    assert next(iterator) is None and next(iterator) is None
    assert started == []  # nothing loaded or planned for the skipped calls
    batches = [next(iterator).tolist() for _ in range(4)]
    assert batches == [[0, 1], [2, 3], [4], [0, 1]]
    assert started == [3, 4]  # pass 4 started when pass 3's sweep ended
    assert iter(iterator) is iterator
