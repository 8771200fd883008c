"""The loop glue: the training loader rebuilt around InfoBatch's sampler,
the pass driver of epoch- and iteration-based loops, the pass iterator, and
the check that a runner strategy calls the hooks."""
from .loader import wrap_train_dataloader
from .pass_driver import IterPassDriver, PassDriver, build_pass_driver
from .pass_iterator import PassIterator
from .strategy_check import check_strategy

__all__ = [
    'IterPassDriver', 'PassDriver', 'PassIterator', 'build_pass_driver',
    'check_strategy', 'wrap_train_dataloader'
]
