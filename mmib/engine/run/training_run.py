"""The state of one ``train()`` with InfoBatch, and the bookkeeping of its
steps and passes.

:class:`TrainingRun` owns what a run keeps between events: the score table,
the schedule clock, the savings ledger, the current pass's plan, the resume
plan and the buffered step losses. It books each step (samples, padding,
clock, ledger) and each pass end in one place, and turns its state into the
checkpoint's snapshot. The hook builds it at ``before_train`` (the table's
size is the loader's data set) and only routes events to it.
"""
from typing import Optional

import torch

from ...core import (PassPlan, InfoBatchSnapshot, PassClock, SavingsLedger,
                     ScoreTable, score_stamp)
from ...core.describe import describe_unscored
from ..loop.pass_driver import PassDriver
from .resume_plan import PendingResume
from .step_scores import StepScores


class TrainingRun:
    """Scores, clock, ledger, plan and resume plan of one training run.

    Args:
        table (ScoreTable): Every sample's score.
        clock (PassClock): The schedule clock (restored on a resume).
        ledger (SavingsLedger): Samples trained so far (restored on a
            resume).
        pending (PendingResume): What a resumed checkpoint still has to
            restore.
        batch_scores (bool): Score every sample with its batch's mean loss
            (:class:`StepScores`). Defaults to False.
    """

    def __init__(self, table: ScoreTable, clock: PassClock,
                 ledger: SavingsLedger, pending: PendingResume,
                 batch_scores: bool = False) -> None:
        self.table = table
        self.clock = clock
        self.ledger = ledger
        self.pending = pending
        self.plan: Optional[PassPlan] = None
        # the settings the current plan was made with (a resumed pass keeps
        # the checkpoint's): its weights are checked against them
        self.plan_settings: Optional[dict] = pending.plan_settings
        self.step_scores = StepScores(batch_scores)

    def start_step(self, data_batch, driver: PassDriver) -> torch.Tensor:
        """The loss weights of this rank's batch (see
        :meth:`StepScores.start`)."""
        padded = driver.sampler.world_size > 1 and driver.layout is not None
        return self.step_scores.start(
            data_batch, self.plan,
            driver.sampler.num_real if padded else None,
            self.clock.pass_iter * driver.batch_size)

    def book_step(self, losses: torch.Tensor, driver: PassDriver) -> int:
        """Buffer the step's losses; advance the clock and the ledger.

        Returns:
            int: Full-data iterations the step stood for (the schedule
            steps to make).
        """
        samples, padding = self.step_scores.finish(
            losses, driver.batch_size, driver.sampler.world_size,
            score_stamp(self.clock.pass_index, self.clock.pass_iter))
        self.clock.pass_samples += samples
        geometry = driver.geometry
        steps = self.clock.step(geometry.pass_len, geometry.full_pass_len,
                                geometry.target_full_iters)
        self.ledger.record_step(samples, padding, steps)
        return steps

    def flush_scores(self) -> None:
        """Store the buffered losses as scores; count those not stored."""
        unscored = self.step_scores.flush(self.table)
        self.clock.pass_unscored += unscored
        self.ledger.unscored += unscored

    def end_pass(self) -> Optional[str]:
        """Close the pass; the warning on its unscored losses, if any."""
        self.flush_scores()
        warning = (describe_unscored(self.clock.pass_unscored)
                   if self.clock.pass_unscored else None)
        self.ledger.end_pass()
        self.clock.reset_to_pass(self.clock.pass_index + 1)
        return warning

    def savings(self, pass_size: int,
                full_per_iter: Optional[int] = None) -> dict:
        """:meth:`mmib.core.SavingsLedger.savings`, the current pass counted
        by the fraction of its ``pass_size`` samples trained; with
        ``full_per_iter`` (iteration-based runs) against the full run's
        samples per full-data iteration."""
        fraction = (self.clock.pass_samples / pass_size
                    if self.clock.pass_samples else 0.0)
        return self.ledger.savings(len(self.table), fraction, full_per_iter)

    def snapshot(self, ratios, layout: Optional[dict], rng: dict,
                 settings: Optional[dict] = None) -> InfoBatchSnapshot:
        """The checkpoint's InfoBatch state (scores flushed first; written
        out at once, so nothing is copied)."""
        self.flush_scores()
        return InfoBatchSnapshot(table=self.table.state_dict(),
                                 clock=self.clock, ledger=self.ledger,
                                 plan=self.plan, ratios=ratios,
                                 layout=layout, rng=rng, settings=settings,
                                 plan_settings=self.plan_settings)
