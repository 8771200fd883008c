"""Benchmark arms: InfoBatch against the full run and equal-cost baselines.

:mod:`.harness` trains the arms through MMEngine's Runner and records what
each run cost; :mod:`.report` turns the records into tables and verdicts.
"""
from .harness import ARMS, Arm, RunRecorderHook, Schedule, run_arms
from .report import schedule_report

__all__ = [
    'ARMS', 'Arm', 'RunRecorderHook', 'Schedule', 'run_arms',
    'schedule_report'
]
