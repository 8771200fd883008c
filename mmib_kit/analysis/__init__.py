"""Reading runs: paired statistics, equal-cost configs, run records."""
from .equal_cost import (equal_cost_config, read_infobatch_ledger,
                         shorter_schedule)
from .stats import PairedComparison, describe, paired_comparison

__all__ = [
    'PairedComparison', 'describe', 'equal_cost_config', 'paired_comparison',
    'read_infobatch_ledger', 'shorter_schedule'
]
