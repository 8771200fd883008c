"""One pruned ``train()``: the object ``InfoBatchHook`` routes events to.

:class:`PrunedTraining` is built at ``before_train`` (when the runner's
loop, loader and model exist, and a resumed checkpoint has been read) and
owns everything of that run: the pass driver of its loop
(:mod:`mmib.engine.loop`), the run state (:class:`TrainingRun`), the loss
recorder and the coverage check on the user's model
(:mod:`mmib.engine.loss_adapters`), and the savings log. Each hook event is
one call here.
"""
from typing import Optional

from mmengine.model import is_model_wrapper
from mmengine.utils.dl_utils import has_batch_norm

from ...checkpoint import capture_rng, restore_torch_rng
from ...core import InfoBatchOptions, InfoBatchSnapshot, ScoreTable
from ...core.describe import describe_pass, describe_run, describe_savings
from ..loop import build_pass_driver, check_strategy
from ..loss_adapters import LossCoverageCheck, PerSampleLossRecorder
from .resume_plan import plan_resume
from .savings_log import SavingsLog
from .training_run import TrainingRun


class PrunedTraining:
    """The passes, steps and state of one pruned training run.

    Args:
        runner (Runner): The runner, at ``before_train``.
        options (InfoBatchOptions): The hook's options.
        state (dict, optional): ``checkpoint['infobatch']`` of a resume,
            already decoded; None for a fresh run.
    """

    def __init__(self, runner, options: InfoBatchOptions,
                 state: Optional[dict] = None) -> None:
        check_strategy(getattr(runner, 'strategy', None))
        self.runner = runner
        self.options = options
        self.planner = options.planner
        self.driver = driver = build_pass_driver(runner, self.planner.policy,
                                                 runner.logger.info)
        geometry = driver.geometry
        self.planner.check_run(geometry.num_passes,
                               getattr(driver.sampler, 'num_repeats', 1))
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        # a one-sample last batch only breaks BatchNorm: keep the pruned
        # counts exact (and independent of the batch layout) without it
        self.avoid_batch_of_one = has_batch_norm(model)
        driver.check_full_pass(self.avoid_batch_of_one)
        # the sampler's seed is the same on every rank, where the runner's
        # differs with randomness.diff_rank_seed=True
        self.seed = (driver.sampler.seed
                     if options.seed is None else options.seed)
        table = ScoreTable(driver.num_samples, options.momentum,
                           from_zero=options.batch_scores)
        self.recorder = PerSampleLossRecorder(model)
        self.coverage = LossCoverageCheck(options.loss_names)
        self.coverage.attach(model, self.recorder, runner.logger.warning)
        self.savings_log = SavingsLog()
        self.savings_log.attach(runner)
        self.run = run = TrainingRun(
            table, *plan_resume(state, table, driver, runner, options),
            batch_scores=options.batch_scores)
        driver.install(runner, self.start_pass, run.clock.pass_index,
                       run.pending.loader_calls_to_skip)
        text, warn = describe_run(
            self.planner.policy, len(table), geometry,
            self.recorder.describe(),
            options.momentum if options.batch_scores else None)
        (runner.logger.warning if warn else runner.logger.info)(text)

    # -- passes ------------------------------------------------------------
    def start_epoch(self) -> None:
        """Start the epoch's pass (epoch-based loops)."""
        pass_index = self.driver.pass_at_epoch_start(self.runner)
        if pass_index is not None:
            self.start_pass(pass_index)

    def start_pass(self, pass_index: int) -> None:
        """Plan pass ``pass_index`` and hand its samples to the sampler (or
        continue / skip the pass a resumed checkpoint stood in)."""
        runner, driver, run = self.runner, self.driver, self.run
        driver.check_length(len(run.table))
        run.flush_scores()
        skipped, plan, samples_to_skip = run.pending.enter_pass(pass_index)
        if skipped:
            driver.skip_pass(plan)
            runner.logger.info(
                f'InfoBatch: epoch {pass_index + 1} was complete in the '
                'checkpoint; it is not trained again.')
            return
        if plan is None:
            plan = self.planner.plan(
                run.table, pass_index, driver.geometry,
                run.ledger.samples_trained, self.seed,
                driver.layout if self.avoid_batch_of_one else None,
                driver.full_run_samples)
            run.clock.reset_to_pass(pass_index)
            run.plan_settings = self.options.recorded
        run.plan = plan
        driver.load_pass(runner, pass_index, plan, run.clock,
                         samples_to_skip)
        runner.logger.info(
            describe_pass(pass_index, plan, bool(run.table.seen.any()),
                          driver.geometry, run.clock.pass_iter))
        if not run.clock.pass_iter:  # a new pass, not a resumed one
            self.savings_log.log_pass(runner, run.table, plan, pass_index,
                                      run.clock, run.ledger,
                                      self.savings()['saved_samples'],
                                      driver.geometry)

    # -- steps -------------------------------------------------------------
    def before_step(self, data_batch) -> None:
        """Hand the batch's loss weights to the loss adapters."""
        rng = self.run.pending.take_rng_at_first_iter()
        if rng is not None:
            restore_torch_rng(rng)
        self.recorder.start_step(self.run.start_step(data_batch, self.driver))

    def after_step(self, batch_idx: int) -> None:
        """Keep the batch's losses as scores; advance clock and ledger, and
        the schedule with them."""
        runner, driver, run = self.runner, self.driver, self.run
        steps = run.book_step(self.recorder.finish_step_losses(), driver)
        if run.clock.pass_iter == driver.geometry.pass_len:
            warning = run.end_pass()
            if warning is not None:
                runner.logger.warning(warning)
            runner.logger.info(f'InfoBatch savings so far: {self.summary()}')
        driver.after_step(runner, run.clock, steps)
        self.savings_log.log_step(
            runner, batch_idx, run.clock, run.ledger,
            lambda: self.savings()['saved_samples'], driver.geometry.pass_len)

    # -- end ---------------------------------------------------------------
    def finish(self) -> None:
        """Log the savings of the whole run; leave the model as it was."""
        self.run.flush_scores()
        self.release_model()
        self.runner.logger.info(f'InfoBatch finished: {self.summary()}')
        warning = self.planner.shortfall(self.savings()['saved_samples'])
        if warning is not None:
            self.runner.logger.warning(warning)

    def release_model(self) -> None:
        """Take the loss adapters' and the coverage check's hooks off the
        user's model."""
        self.coverage.remove()
        self.recorder.remove()

    @property
    def recording(self) -> bool:
        """Whether a training step is being recorded."""
        return self.recorder.recording

    # -- savings and checkpoints -------------------------------------------
    def savings(self) -> dict:
        """Forward/backward passes trained against the full-data run
        (:meth:`mmib.core.SavingsLedger.savings`)."""
        return self.run.savings(self.driver.sampler.total_size,
                                self.driver.full_run_per_iter)

    def summary(self) -> str:
        """One line on the savings (and the target, with a budget)."""
        return (describe_savings(self.savings()) +
                self.planner.describe_target())

    def snapshot(self) -> InfoBatchSnapshot:
        """The checkpoint's InfoBatch state."""
        return self.run.snapshot(
            self.planner.policy.pruning.ratios, self.driver.layout_state(),
            capture_rng(self.driver.loader.generator),
            self.options.recorded)
