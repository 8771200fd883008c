"""``InfoBatchHook``: InfoBatch's unbiased dynamic data pruning in MMEngine.

The hook routes MMEngine's events to parts with one job each: the maths of
:mod:`mmib.core` (scores, pass planner, clock, ledger, snapshot, log text),
and in :mod:`mmib.engine` the pass driver, the training run (its state and
step bookkeeping), loss adapters and coverage check, checkpoint in/out,
resume plan and savings log.
"""
import logging
from typing import Optional, Sequence, Union

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.utils.dl_utils import has_batch_norm

from ...core import (PassClock, PassPlanner, PruningPolicy, SavingsLedger,
                     ScoreTable, check_scores)
from ...core.describe import describe_pass, describe_run, describe_savings
from ...core.settings import run_settings
from ...core.validation import check_seed
from ..checkpoint_io import CHECKPOINT_KEY, read_checkpoint, write_checkpoint
from ..checkpoint_safety import ScopedCheckpointTrust
from ..coverage import LossCoverageCheck
from ..loss_adapters import PerSampleLossRecorder
from ..mmengine_fields import is_resuming
from ..pass_driver import PassDriver, build_pass_driver
from ..resume import plan_resume
from ..rng_state import capture_rng, restore_torch_rng
from ..savings_log import SavingsLog
from ..step_gather import batch_sample_indices
from ..strategies import check_strategy
from ..training_run import TrainingRun

DATA_BATCH = Optional[Union[dict, tuple, list]]

__all__ = ['InfoBatchHook', 'batch_sample_indices', 'CHECKPOINT_KEY']


@HOOKS.register_module()
class InfoBatchHook(Hook):
    """Train on fewer samples with InfoBatch's unbiased dynamic pruning.

    Add one line to a config::

        custom_hooks = [dict(type='InfoBatchHook', ratio=0.5)]

    Before each pass over the data (an epoch, or a sweep of an
    iteration-based loop) the policy prunes and the sampler yields only the
    kept samples; each step weights the kept samples' losses and keeps every
    sample's loss as its score; a clock in full-data iterations keeps
    iteration-based schedules whole. ``docs/en/user_guides/options.md``
    explains every option.

    Args:
        ratio (float or Sequence[float]): Fraction of the below-threshold
            samples pruned per pass, in ``[0, 1)`` (one per band with
            ``threshold='quantile'``). Defaults to 0.5.
        delta (float): Fraction of the passes that prune; the last
            ``1 - delta`` train on all samples. Defaults to 0.875.
        threshold (str): ``'mean'`` (the paper) or ``'quantile'``.
            Defaults to ``'mean'``.
        quantiles (Sequence[float], optional): Band edges (score quantiles)
            for ``threshold='quantile'``. Defaults to None.
        score_momentum (float, optional): 0 keeps the latest loss as the
            score; ``m`` keeps ``m * old + (1 - m) * new``. Defaults to None:
            0, or 0.7 (BLS's) with ``scores='batch'``.
        seed (int, optional): Seed of the pruning draws (the same on all
            ranks); None: the sampler's seed. Defaults to None.
        rescale (bool): Whether kept low-score samples get the weight
            ``1 / (1 - ratio)``. Defaults to True.
        policy (str): A policy of :data:`mmib.core.POLICIES`:
            ``'infobatch'``, ``'random'``, ``'seta'``, ``'soft_random'`` or
            a user's (:func:`mmib.core.register_policy`).
            Defaults to ``'infobatch'``.
        unweighted_losses (Sequence[str]): Loss terms allowed to stay
            unweighted (any other stops training at the first step).
            Defaults to ().
        policy_options (dict, optional): The policy's own settings, e.g.
            ``dict(num_groups=5)`` for ``'seta'``. Defaults to None.
        target_saving (float, optional): Fraction of the full run's
            forward/backward passes to save; the pruned count of each pass
            follows this budget instead of ``ratio``. Defaults to None.
        scores (str): ``'sample'``: a sample's score is its own loss;
            ``'batch'``: the average of its batches' mean losses, and each
            sample of a batch weighted by the batch's mean weight (BLS, for
            any policy). Defaults to ``'sample'``.
    """

    # after ParamSchedulerHook (LOW, 70): the clock adds its scheduler steps
    # after that hook's one; before CheckpointHook (VERY_LOW, 90): a
    # checkpoint holds the state of the iteration it is saved at, and sees
    # the exact last iteration of an iteration-based run.
    priority = 75

    def __init__(self,
                 ratio: Union[float, Sequence[float]] = 0.5,
                 delta: float = 0.875,
                 threshold: str = 'mean',
                 quantiles: Optional[Sequence[float]] = None,
                 score_momentum: Optional[float] = None,
                 seed: Optional[int] = None,
                 rescale: bool = True,
                 policy: str = 'infobatch',
                 unweighted_losses: Sequence[str] = (),
                 policy_options: Optional[dict] = None,
                 target_saving: Optional[float] = None,
                 scores: str = 'sample') -> None:
        self.planner = PassPlanner.from_options(
            ratio, delta, threshold, quantiles, rescale, policy,
            policy_options, target_saving)
        if self.planner.weight_warning is not None:
            print_log(self.planner.weight_warning, logger='current',
                      level=logging.WARNING)
        self.batch_scores, self.score_momentum = check_scores(
            scores, score_momentum)
        # what a checkpoint records, to name a setting changed on resume
        self.settings = run_settings(
            policy=policy, ratio=ratio, delta=delta, threshold=threshold,
            quantiles=quantiles, rescale=rescale, scores=scores,
            score_momentum=self.score_momentum,
            policy_options=policy_options, target_saving=target_saving)
        self.seed = check_seed(seed)
        self.coverage = LossCoverageCheck(unweighted_losses)
        self.trust = ScopedCheckpointTrust()
        self.savings_log = SavingsLog()
        # made at before_train, for the runner's loop, loader and model
        self.driver: Optional[PassDriver] = None
        self.run: Optional[TrainingRun] = None
        self.recorder: Optional[PerSampleLossRecorder] = None
        self.avoid_batch_of_one = False
        # checkpoint['infobatch'] of a resume, from load to before_train
        self.resumed_state: Optional[dict] = None

    @property
    def pruning(self) -> PruningPolicy:
        """Ratios, ``delta``, thresholds and ``rescale`` of the run."""
        return self.planner.policy.pruning

    @property
    def sampler(self):
        """The training loader's :class:`~mmib.datasets.InfoBatchSampler`."""
        return self.driver.sampler if self.driver else None

    # -- set-up ------------------------------------------------------------
    def before_run(self, runner) -> None:
        """Let the runner's own checkpoint load read MMEngine's format
        through mmib's stand-ins (:class:`ScopedCheckpointTrust`: it closes
        itself after that one load; ``before_train`` and ``after_run`` close
        it when no load came)."""
        self.trust.enter()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Decode the checkpoint safely; keep its state for ``before_train``.

        Args:
            runner (Runner): The runner.
            checkpoint (dict): The loaded checkpoint.
        """
        self.resumed_state = read_checkpoint(checkpoint, is_resuming(runner),
                                             runner.logger.info)

    def before_train(self, runner) -> None:
        """Rebuild the loader, hook the loss modules, restore a resumed
        state (after the runner's load: ``before_run`` is too early, and
        ``runner.val()``/``test()`` call it too).

        Args:
            runner (Runner): The runner of the training process.
        """
        self.trust.exit()
        check_strategy(getattr(runner, 'strategy', None))
        self.driver = driver = build_pass_driver(runner, self.planner.policy,
                                                 runner.logger.info)
        table = ScoreTable(driver.num_samples, self.score_momentum,
                           from_zero=self.batch_scores)
        self.planner.check_run(driver.num_passes,
                               getattr(driver.sampler, 'num_repeats', 1))
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        # a one-sample last batch only breaks BatchNorm: keep the pruned
        # counts exact (and independent of the batch layout) without it
        self.avoid_batch_of_one = has_batch_norm(model)
        driver.check_full_pass(self.avoid_batch_of_one)
        if self.seed is None:
            # the sampler's seed is the same on every rank, where the
            # runner's differs with randomness.diff_rank_seed=True
            self.seed = driver.sampler.seed
        self._release_model()  # a second train(): the hooks of the first
        self.recorder = PerSampleLossRecorder(model)
        self.coverage.attach(model, self.recorder, runner.logger.warning)
        self.savings_log.attach(runner)
        state, self.resumed_state = self.resumed_state, None
        self.run = run = TrainingRun(table, *plan_resume(
            state, table, PassClock(), SavingsLedger(), driver, runner,
            self.pruning.ratios, runner.logger.warning, self.settings),
            batch_scores=self.batch_scores)
        driver.install(runner, lambda p: self._start_pass(p, runner),
                       run.clock.pass_index, run.pending.loader_calls_to_skip)
        text, warn = describe_run(
            self.planner.policy, len(table), driver.num_passes,
            driver.num_pruning_passes, driver.full_pass_len,
            self.recorder.describe(),
            self.score_momentum if self.batch_scores else None)
        (runner.logger.warning if warn else runner.logger.info)(text)

    # -- passes ------------------------------------------------------------
    def before_train_epoch(self, runner) -> None:
        """Start the epoch's pass (epoch-based loops)."""
        pass_index = self.driver.pass_at_epoch_start(runner)
        if pass_index is not None:
            self._start_pass(pass_index, runner)

    def _start_pass(self, pass_index: int, runner) -> None:
        """Prune for pass ``pass_index`` and hand its samples to the sampler
        (or continue / skip the pass a resumed checkpoint stood in)."""
        driver, sampler, run = self.driver, self.driver.sampler, self.run
        driver.check_length(len(run.table))
        run.flush_scores()
        skipped, plan = run.pending.enter_pass(pass_index, sampler)
        if skipped:
            runner.logger.info(
                f'InfoBatch: epoch {pass_index + 1} was complete in the '
                'checkpoint; it is not trained again.')
            return
        if plan is None:
            plan = self.planner.plan(
                run.table, pass_index, driver.num_passes,
                driver.num_pruning_passes, run.ledger.samples_trained,
                self.seed, driver.layout if self.avoid_batch_of_one else None,
                driver.full_run_samples)
            run.clock.start_pass(pass_index)
            run.plan_settings = self.settings
        run.plan = plan
        sampler.set_epoch(pass_index)
        sampler.set_kept_indices(None if plan.num_kept == plan.num_samples
                                 else plan.kept_indices)
        driver.start_pass(runner, run.clock, plan.num_kept < plan.num_samples)
        runner.logger.info(
            describe_pass(pass_index, plan, bool(run.table.seen.any()),
                          driver.num_passes, driver.pass_len,
                          driver.full_pass_len, run.clock.pass_iter))
        if not run.clock.pass_iter:  # a new pass, not a resumed one
            self.savings_log.log_pass(runner, run.table, plan, pass_index,
                                      run.clock, run.ledger,
                                      self.savings()['saved_samples'], driver)

    # -- iterations --------------------------------------------------------
    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        """Hand the batch's weights to the loss adapters."""
        rng = self.run.pending.take_rng_at_first_iter()
        if rng is not None:
            restore_torch_rng(rng)
        self.recorder.start_step(self.run.start_step(data_batch, self.driver))

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        """Keep the batch's losses as scores; advance clock and ledger."""
        driver, run = self.driver, self.run
        steps = run.book_step(self.recorder.finish_step_losses(), driver)
        if run.clock.pass_iter == driver.pass_len:
            warning = run.end_pass()
            if warning is not None:
                runner.logger.warning(warning)
            runner.logger.info(f'InfoBatch savings so far: {self.summary()}')
        driver.after_step(runner, run.clock, steps)
        self.savings_log.log_step(
            runner, batch_idx, run.clock, run.ledger,
            lambda: self.savings()['saved_samples'], driver.pass_len)

    # -- end ---------------------------------------------------------------
    def after_train(self, runner) -> None:
        """Log the savings of the whole run; leave the model as it was."""
        self.run.flush_scores()
        self._release_model()
        runner.logger.info(f'InfoBatch finished: {self.summary()}')
        warning = self.planner.shortfall(self.savings()['saved_samples'])
        if warning is not None:
            runner.logger.warning(warning)

    def before_val(self, runner) -> None:
        """Leave the model as it was after a training step that raised
        (validation inside training runs between steps, when nothing is
        recorded: a step still recording here never finished)."""
        if self.recorder is not None and self.recorder.recording:
            self._release_model()

    before_test = before_val

    def _release_model(self) -> None:
        """Take the loss adapters' and the coverage check's hooks off the
        user's model."""
        self.coverage.remove()
        if self.recorder is not None:
            self.recorder.remove()

    def after_run(self, runner) -> None:
        """Close the checkpoint trust scope if no load happened."""
        self.trust.exit()

    # -- savings and checkpoints -------------------------------------------
    def savings(self) -> dict:
        """Forward/backward passes trained against the full-data run
        (:meth:`mmib.core.SavingsLedger.savings`)."""
        if self.run is None:
            return SavingsLedger().savings(0)
        return self.run.savings(self.sampler.total_size,
                                self.driver.full_run_per_iter)

    def summary(self) -> str:
        """One line on the savings (and the target, with a budget)."""
        return (describe_savings(self.savings()) +
                self.planner.describe_target())

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Write the message hub as plain data and add the hook's snapshot,
        so the file loads with torch's default allow-list."""
        snapshot = None if self.run is None else self.run.snapshot(  # training
            self.pruning.ratios, self.driver.layout_state(),
            capture_rng(self.driver.loader.generator), self.settings)
        write_checkpoint(checkpoint, snapshot)
