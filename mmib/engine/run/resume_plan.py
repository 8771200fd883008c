"""Restoring a resumed run: what is restored at once, what must wait."""
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from mmengine.dist import get_world_size

from ...checkpoint.io import check_state
from ...checkpoint.rng_state import restore_global_rng, restore_torch_rng
from ...core import (InfoBatchOptions, InfoBatchSnapshot, PassClock,
                     PassPlan, SavingsLedger, ScoreTable)
from ...core.setting_changes import describe_changes
from ...mmengine_fields import diff_rank_seed


@dataclass
class PendingResume:
    """The parts of a restored state applied later than ``before_train``.

    MMEngine resumes an epoch-based run at the start of the epoch after the
    checkpoint's, and an iteration-based one at the next iteration, after
    calling the loader iterator's ``next`` once per trained iteration.
    InfoBatch resumes exactly where the checkpoint stood: in the middle of a
    pass (``plan`` continues; the sampler leaves out the
    ``samples_to_skip`` already trained), or, when the checkpoint was taken
    at the last iteration of an epoch, with an empty repeat of that epoch
    (``skip_whole_pass``); MMEngine's skipping ``next`` calls load nothing
    (``loader_calls_to_skip``, see :class:`~mmib.engine.PassIterator`).
    torch's random state is set once the resumed pass's iterator exists
    (``torch_rng_at_first_iter``) or right before the next pass's iterator
    is made (``torch_rng_before_next_pass``), so that both draw as the
    uninterrupted run did.

    Args:
        plan (PassPlan, optional): The interrupted pass's plan.
        skip_whole_pass (bool): Whether the next epoch is a repeat to skip.
        samples_to_skip (int): This rank's samples of the interrupted pass
            already trained.
        loader_calls_to_skip (int): ``next`` calls of an iteration-based
            loop that only skip trained iterations.
        torch_rng_at_first_iter (dict, optional): RNG state for the first
            iteration.
        torch_rng_before_next_pass (dict, optional): RNG state for the start
            of the next pass.
        plan_settings (dict, optional): The settings ``plan`` was made
            with.
    """

    plan: Optional[PassPlan] = None
    skip_whole_pass: bool = False
    samples_to_skip: int = 0
    loader_calls_to_skip: int = 0
    torch_rng_at_first_iter: Optional[Dict[str, Any]] = None
    torch_rng_before_next_pass: Optional[Dict[str, Any]] = None
    plan_settings: Optional[Dict[str, Any]] = None

    def enter_pass(self, pass_index: int
                   ) -> Tuple[bool, Optional[PassPlan], int]:
        """Take, once, what the resume left for the start of a pass (the
        pass driver hands it to the sampler).

        Args:
            pass_index (int): The pass starting.

        Returns:
            tuple: ``(skipped, plan, samples_to_skip)``. ``skipped``: the
            pass repeats an epoch the checkpoint had finished, and trains
            nothing (``plan`` is that epoch's). Otherwise ``plan`` is the
            interrupted pass's plan, which continues where it stopped
            (leaving out the ``samples_to_skip`` this rank trained), or
            None: plan the pass anew.
        """
        plan, self.plan = self.plan, None
        if self.skip_whole_pass:
            self.skip_whole_pass = False
            return True, plan, 0
        rng = self.torch_rng_before_next_pass
        self.torch_rng_before_next_pass = None
        if rng is not None:
            restore_torch_rng(rng)
        if plan is None or plan.pass_index != pass_index:
            return False, None, 0
        skip, self.samples_to_skip = self.samples_to_skip, 0
        return False, plan, skip

    def take_rng_at_first_iter(self) -> Optional[Dict[str, Any]]:
        """The RNG state for the first iteration, once."""
        rng, self.torch_rng_at_first_iter = self.torch_rng_at_first_iter, None
        return rng


def plan_resume(state: Optional[dict], table: ScoreTable, driver, runner,
                options: InfoBatchOptions
                ) -> Tuple[PassClock, SavingsLedger, PendingResume]:
    """Validate and restore a resumed run's state at ``before_train``;
    return what must wait (the interrupted pass's plan, the epoch to skip,
    RNG states).

    Args:
        state (dict, optional): ``checkpoint['infobatch']`` as loaded; None
            for a fresh run or a checkpoint without InfoBatch state.
        table (ScoreTable): Receives the scores.
        driver (PassDriver): The run's passes.
        runner (Runner): The runner (its logger takes the warnings).
        options (InfoBatchOptions): This run's options: its ratios, and
            the settings compared with the checkpoint's.

    Returns:
        tuple: ``(clock, ledger, pending)``.

    Raises:
        StateError: Naming the first field of ``state`` that is wrong for
            this run (before anything trains).
        ValueError: A setting changed that the stored scores depend on.
    """
    clock, ledger = PassClock(), SavingsLedger()
    ratios, settings = options.pruning.ratios, options.recorded
    warn = runner.logger.warning
    pending = PendingResume(
        loader_calls_to_skip=0 if driver.by_epoch else runner.iter)
    if state is None:
        driver.fresh_clock(clock, runner)
        return clock, ledger, pending
    # bounded by this run's schedule (a last pruned step may overshoot the
    # clock's target by less than a pass)
    geometry = driver.geometry
    check_state(state, len(table), geometry.num_passes,
                geometry.target_full_iters + geometry.full_pass_len)
    snapshot = InfoBatchSnapshot.from_dict(state)
    table.load_state_dict(snapshot.table)
    clock = snapshot.clock
    mid_pass = bool(clock.pass_iter)
    error, warning = describe_changes(
        snapshot.settings, settings,
        clock.pass_index + (2 if mid_pass else 1))
    if error is not None:
        raise ValueError(error)
    if warning is not None:
        warn(warning)
    elif snapshot.settings is None and snapshot.ratios and \
            snapshot.ratios != tuple(float(r) for r in ratios):
        warn(f'InfoBatch: resuming with ratio={list(ratios)} where the '
             f'checkpoint used {list(snapshot.ratios)}: the scores carry '
             'over, the new ratio applies from the next pass on.')
    # an iteration checkpoint taken at the last iteration of an epoch:
    # MMEngine runs that epoch again; it is made empty instead (whatever
    # the batch layout now: the finished pass is not trained again)
    repeat_epoch = driver.repeats_epoch(clock, runner)
    if mid_pass and snapshot.layout != driver.layout_state():
        warn('InfoBatch: the batch size or number of processes changed '
             f'since the checkpoint ({snapshot.layout} -> '
             f'{driver.layout_state()}); the interrupted pass cannot go on '
             'where it stopped, so it starts again, pruned with the '
             'restored scores.')
        clock.reset_to_pass(clock.pass_index)
        mid_pass = False
    rng = snapshot.rng
    same_streams = get_world_size() == 1 or not diff_rank_seed(runner)
    if rng is not None and same_streams:
        restore_global_rng(rng, driver.loader.generator)
        if mid_pass:  # after the resumed pass's iterator is made
            pending.torch_rng_at_first_iter = rng
        elif repeat_epoch:  # before the next pass's iterator is made
            pending.torch_rng_before_next_pass = rng
        else:
            restore_torch_rng(rng)
    pending.skip_whole_pass = repeat_epoch
    if mid_pass or repeat_epoch:
        pending.plan = snapshot.plan
        pending.plan_settings = snapshot.plan_settings or snapshot.settings
    if mid_pass:
        pending.samples_to_skip = clock.pass_iter * driver.batch_size
    return clock, snapshot.ledger, pending
