"""``InfoBatchHook``: InfoBatch's unbiased dynamic data pruning in MMEngine.

The hook routes MMEngine's events to parts with one job each: the maths of
:mod:`mmib.core` (score table, pruning plan, pass clock, savings ledger,
snapshot, log text), the pass driver of the loop kind
(:mod:`~mmib.engine.pass_driver`), the loss adapters
(:class:`~mmib.engine.PerSampleLossRecorder`) and the loss-coverage check,
the per-step scores (:mod:`~mmib.engine.step_scores`), the checkpoint
in/out (:mod:`~mmib.engine.checkpoint_io`) and the resume plan
(:mod:`~mmib.engine.resume`).
"""
import logging
import math
from typing import List, Optional, Sequence, Union

from mmengine.hooks import Hook, LoggerHook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.utils.dl_utils import has_batch_norm

from ...core import (EpochPlan, InfoBatchSnapshot, PassClock, PruningPolicy,
                     SavingsBudget, SavingsLedger, ScoreTable, build_policy,
                     check_score_momentum, pass_statistics, projected_saving)
from ...core.describe import (describe_pass, describe_savings,
                              describe_schedule)
from ...core.validation import (check_quantiles, check_seed,
                                large_weight_warning)
from ..checkpoint_io import CHECKPOINT_KEY, read_checkpoint, write_checkpoint
from ..checkpoint_safety import ScopedCheckpointTrust
from ..coverage import LossCoverageCheck
from ..loss_adapters import PerSampleLossRecorder
from ..mmengine_fields import is_resuming
from ..pass_driver import PassDriver, build_pass_driver
from ..resume import PendingResume, plan_resume
from ..rng_state import capture_rng, restore_torch_rng
from ..step_gather import batch_sample_indices
from ..step_scores import StepScores
from ..strategies import unsupported_strategy

DATA_BATCH = Optional[Union[dict, tuple, list]]

__all__ = ['InfoBatchHook', 'batch_sample_indices', 'CHECKPOINT_KEY']


@HOOKS.register_module()
class InfoBatchHook(Hook):
    """Train on fewer samples with InfoBatch's unbiased dynamic pruning.

    Add one line to a config::

        custom_hooks = [dict(type='InfoBatchHook', ratio=0.5)]

    Training is a sequence of *passes* over the data (epochs, or sweeps of
    an iteration-based loop). Before each pass the hook prunes
    (:func:`~mmib.core.plan_epoch`) and the sampler yields only the kept
    samples; each step weights the kept low-score samples' losses and keeps
    every sample's loss as its score; one clock in full-data iterations
    keeps iteration-based schedules whole over the shortened passes.

    Args:
        ratio (float or Sequence[float]): Fraction of the below-threshold
            samples pruned each pass, in ``[0, 1)``; kept ones get weight
            ``1 / (1 - ratio)``. A list with ``threshold='quantile'`` gives
            one ratio per band. Defaults to 0.5.
        delta (float): Fraction of the passes that prune, in ``(0, 1]``; the
            last ``1 - delta`` train on all samples (annealing).
            Defaults to 0.875.
        threshold (str): ``'mean'`` (the paper) or ``'quantile'``.
            Defaults to ``'mean'``.
        quantiles (Sequence[float], optional): Band edges as quantiles of the
            scores for ``threshold='quantile'``. Defaults to None.
        score_momentum (float): 0 keeps each sample's latest loss as its
            score (the paper); ``m`` in ``(0, 1)`` keeps a moving average
            ``m * old + (1 - m) * new``. Defaults to 0.
        seed (int, optional): Seed of the pruning draws, the same on all
            ranks; None uses the training sampler's seed. Defaults to None.
        rescale (bool): Whether kept low-score samples get the weight
            ``1 / (1 - ratio)`` (False: the paper's ablation).
            Defaults to True.
        policy (str): A registered pass policy
            (:data:`mmib.core.POLICIES`): ``'infobatch'`` (the method),
            ``'random'`` (the equal-cost baseline: as many samples pruned,
            drawn uniformly from all scored ones), ``'seta'`` (SeTa, CVPR
            2025), ``'soft_random'`` (uniform draws with replacement), or
            one registered with :func:`mmib.core.register_policy`.
            Defaults to ``'infobatch'``.
        unweighted_losses (Sequence[str]): Loss terms allowed to stay
            unweighted; any other term that carries gradient but is not
            weighted per sample stops training at the first step.
            Defaults to ().
        policy_options (dict, optional): Settings of the policy, e.g.
            ``dict(num_groups=5, window_scale=0.9)`` for ``'seta'``.
            Defaults to None.
        target_saving (float, optional): Save this fraction of the full
            run's forward/backward passes instead of setting the pruned
            count by ``ratio`` (:class:`~mmib.core.SavingsBudget`); each
            pruning pass's count follows the budget, the policy weights
            by its own rule. Defaults to None.
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
                 score_momentum: float = 0.0,
                 seed: Optional[int] = None,
                 rescale: bool = True,
                 policy: str = 'infobatch',
                 unweighted_losses: Sequence[str] = (),
                 policy_options: Optional[dict] = None,
                 target_saving: Optional[float] = None) -> None:
        ratios = (tuple(ratio) if isinstance(ratio, (list, tuple)) else
                  (ratio, ))
        self.policy = PruningPolicy(
            ratios=ratios, delta=delta, threshold=threshold,
            quantiles=check_quantiles(quantiles), rescale=rescale,
            selection=policy)
        self.selector = build_policy(policy, self.policy, policy_options)
        self.budget = (None if target_saving is None else
                       SavingsBudget(target_saving))
        if self.budget is not None and not self.selector.prunes:
            raise ValueError('target_saving needs a ratio above 0 (its '
                             'bands set the shape the budget scales).')
        warning = large_weight_warning(ratios, rescale)
        if warning is not None:
            print_log(warning, logger='current', level=logging.WARNING)
        self.score_momentum = check_score_momentum(score_momentum)
        self.seed = check_seed(seed)
        self.coverage = LossCoverageCheck(unweighted_losses)
        self.trust = ScopedCheckpointTrust()
        self.step_scores = StepScores()
        self.clock = PassClock()
        self.ledger = SavingsLedger()
        self.pending = PendingResume()
        # made at before_train, for the runner's loop, loader and model
        self.driver: Optional[PassDriver] = None
        self.table: Optional[ScoreTable] = None
        self.plan: Optional[EpochPlan] = None
        self.recorder: Optional[PerSampleLossRecorder] = None
        self.avoid_batch_of_one = False
        self._snapshot: Optional[InfoBatchSnapshot] = None
        self._iteration_schedulers: List = []
        self._log_interval = 1

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
        self._snapshot = read_checkpoint(checkpoint, is_resuming(runner),
                                         runner.logger.info)

    def before_train(self, runner) -> None:
        """Rebuild the loader, hook the loss modules, restore a resumed
        state (after the runner's load: ``before_run`` is too early, and
        ``runner.val()``/``test()`` call it too).

        Args:
            runner (Runner): The runner of the training process.
        """
        self.trust.exit()
        error = unsupported_strategy(getattr(runner, 'strategy', None))
        if error is not None:
            raise RuntimeError(error)
        self.driver = driver = build_pass_driver(runner, self.policy.delta,
                                                 runner.logger.info)
        self.table = ScoreTable(driver.num_samples, self.score_momentum)
        if self.budget is not None:
            if getattr(driver.sampler, 'num_repeats', 1) > 1:
                raise ValueError('target_saving does not support '
                                 "RepeatAugSampler's repeated copies yet; "
                                 'set ratio instead.')
            self.budget.check(driver.num_passes, self._budget_passes())
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        # a one-sample last batch only breaks BatchNorm: keep the pruned
        # counts exact (and independent of the batch layout) without it
        self.avoid_batch_of_one = has_batch_norm(model)
        if self.seed is None:
            # the sampler's seed is the same on every rank, where the
            # runner's differs with randomness.diff_rank_seed=True
            self.seed = driver.sampler.seed
        self._release_model()  # a second train(): the hooks of the first
        self.recorder = PerSampleLossRecorder(model)
        self.coverage.attach(model, self.recorder, runner.logger.warning)
        self._iteration_schedulers = self._find_iteration_schedulers(runner)
        self._log_interval = next(
            (h.interval for h in runner.hooks if isinstance(h, LoggerHook)),
            1)
        snapshot, self._snapshot = self._snapshot, None
        self.clock, self.ledger, self.pending = plan_resume(
            snapshot, self.table, self.clock, self.ledger, driver, runner,
            self.policy.ratios, runner.logger.warning)
        driver.install(runner, lambda p: self._start_pass(p, runner),
                       self.clock.pass_index)
        schedule = describe_schedule(self.policy, driver.num_passes,
                                     driver.num_pruning_passes,
                                     self.selector.prunes)
        log = (runner.logger.warning if schedule.startswith('no pass')
               else runner.logger.info)
        log(f'InfoBatch: {len(self.table)} training samples, '
            f'{self.selector.describe()}; {driver.num_passes:g} passes '
            f'over the data ({driver.full_pass_len} iterations each on the '
            f'full data); {schedule}; per-sample losses from '
            f'{self.recorder.describe()}.')

    @staticmethod
    def _find_iteration_schedulers(runner) -> List:
        schedulers = runner.param_schedulers or []
        if isinstance(schedulers, dict):
            schedulers = [s for group in schedulers.values() for s in group]
        return [s for s in schedulers if not s.by_epoch]

    # -- passes ------------------------------------------------------------
    def before_train_epoch(self, runner) -> None:
        """Start the epoch's pass (epoch-based loops)."""
        pass_index = self.driver.pass_at_epoch_start(runner)
        if pass_index is not None:
            self._start_pass(pass_index, runner)

    def _start_pass(self, pass_index: int, runner) -> None:
        """Prune for pass ``pass_index`` and hand its samples to the sampler
        (or continue / skip the pass a resumed checkpoint stood in)."""
        driver, sampler = self.driver, self.driver.sampler
        if driver.num_samples != len(self.table):
            raise RuntimeError(
                'InfoBatch: the training data set changed length from '
                f'{len(self.table)} to {driver.num_samples} samples during '
                'training; its scores are kept per index, so the data set '
                'must keep its length. Use a fixed-length data set.')
        self._flush_scores()
        resumed = self.pending.take_plan()
        if self.pending.take_skip():  # the repeated epoch: train nothing
            sampler.set_kept_indices(
                None if resumed.num_kept == resumed.num_samples else
                resumed.kept_indices)
            sampler.skip_next(len(sampler))
            runner.logger.info(
                f'InfoBatch: epoch {pass_index + 1} was complete in the '
                'checkpoint; it is not trained again.')
            return
        rng = self.pending.take_rng_before_next_pass()
        if rng is not None:
            restore_torch_rng(rng)
        if resumed is not None and resumed.epoch == pass_index:
            plan = resumed  # continue an interrupted pass where it stopped
        else:
            plan = self._pass_policy(pass_index).plan(
                self.table, pass_index, driver.num_passes, self.seed,
                driver.layout if self.avoid_batch_of_one else None)
            self.clock.start_pass(pass_index)
        self.plan = plan
        sampler.set_epoch(pass_index)
        sampler.set_kept_indices(None if plan.num_kept == plan.num_samples
                                 else plan.kept_indices)
        if self.clock.pass_iter:
            sampler.skip_next(self.clock.pass_iter * driver.batch_size)
        driver.start_pass(runner, self.clock,
                          plan.num_kept < plan.num_samples)
        runner.logger.info(
            describe_pass(pass_index, plan, bool(self.table.seen.any()),
                          driver.num_passes, driver.pass_len,
                          driver.full_pass_len, self.clock.pass_iter))
        if not self.clock.pass_iter:  # a new pass, not a resumed one
            self._visualize_pass(runner, pass_index, plan)

    def _pass_policy(self, pass_index: int):
        """The policy of this pass: with a savings budget, its ratios set
        for the count the budget leaves this pass (over the annealing
        passes too for a policy that prunes there, as SeTa does)."""
        driver, selector = self.driver, self.selector
        last = self._budget_passes()
        if self.budget is None or not bool(self.table.seen.any()) or \
                pass_index >= last:
            return selector
        kept = self.budget.kept_for_pass(pass_index, len(self.table),
                                         driver.num_passes, last,
                                         self.ledger.samples_trained)
        return selector.with_ratios(selector.ratios_for(
            self.table, kept, pass_index,
            pass_index >= driver.num_pruning_passes))

    def _budget_passes(self) -> int:
        """The passes a savings budget sets the count of."""
        if self.selector.prunes_when_annealing:
            return math.ceil(self.driver.num_passes)
        return self.driver.num_pruning_passes

    def _visualize_pass(self, runner, pass_index: int,
                        plan: EpochPlan) -> None:
        """The pass's statistics to MMEngine's visualizer (scalars.json,
        TensorBoard, ...), once per pass."""
        stats = pass_statistics(self.table, plan)
        stats.update(
            pass_index=pass_index,
            full_iters=self.clock.full_iters,
            saved_so_far=self.savings()['saved_samples'],
            projected_saving=projected_saving(
                self.ledger.samples_trained, plan.num_kept, len(self.table),
                pass_index, self.driver.num_passes,
                self.driver.num_pruning_passes))
        runner.visualizer.add_scalars(
            {f'infobatch/{k}': v for k, v in stats.items()}, step=runner.iter)

    def _end_pass(self, runner) -> None:
        self._flush_scores()
        if self.clock.pass_unscored:
            runner.logger.warning(
                f'InfoBatch: {self.clock.pass_unscored} per-sample losses '
                'of this pass were not stored as scores (NaN/inf, or no '
                'valid pixel): those samples keep their previous score.')
        self.ledger.end_pass()
        self.clock.start_pass(self.clock.pass_index + 1)
        runner.logger.info(f'InfoBatch savings so far: {self.summary()}')

    # -- iterations --------------------------------------------------------
    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        """Hand the batch's weights to the loss adapters."""
        rng = self.pending.take_rng_at_first_iter()
        if rng is not None:
            restore_torch_rng(rng)
        driver = self.driver
        padded = driver.sampler.world_size > 1 and driver.layout is not None
        self.recorder.start_step(
            self.step_scores.start(
                data_batch, self.plan,
                driver.sampler.num_real if padded else None,
                self.clock.pass_iter * driver.batch_size))

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        """Keep the batch's losses as scores; advance clock and ledger."""
        losses = self.recorder.finish_step()
        if losses is None:
            raise RuntimeError(
                'InfoBatchHook got no per-sample losses: none of the loss '
                f'modules {self.recorder.module_names} returned a loss with '
                "the batch as first dimension under reduction='none'. "
                'InfoBatch needs a loss that can be split per sample; a loss '
                'that the head already reduces to a scalar cannot be.')
        driver = self.driver
        samples, padding = self.step_scores.finish(
            losses, driver.batch_size, driver.sampler.world_size)
        self.clock.pass_samples += samples
        steps = self.clock.step(driver.pass_len, driver.full_pass_len,
                                driver.target_full_iters)
        self.ledger.record_step(samples, padding, steps)
        for _ in range(steps - 1):  # ParamSchedulerHook made one step
            for scheduler in self._iteration_schedulers:
                scheduler.step()
        if self.clock.pass_iter == driver.pass_len:
            self._end_pass(runner)
        driver.after_step(runner, self.clock)
        self._log_savings(runner, batch_idx)

    def _log_savings(self, runner, batch_idx: int) -> None:
        """The savings and the clock to the message hub, before the
        iterations the LoggerHook logs (it runs before this hook, and its
        history buffers grow with every update): the logged values are
        those at the start of the logged iteration, as its lr."""
        interval = self._log_interval
        if (batch_idx + 2) % interval and (runner.iter + 2) % interval and \
                self.clock.pass_iter + 1 != self.driver.pass_len and \
                interval != 1:
            return
        hub = runner.message_hub
        hub.update_scalar('train/infobatch_saved',
                          self.savings()['saved_samples'])
        hub.update_scalar('train/infobatch_full_iters', self.clock.full_iters)
        hub.update_scalar(
            'train/infobatch_samples',
            self.ledger.samples_trained + self.ledger.padding_samples)

    def _flush_scores(self) -> None:
        unscored = self.step_scores.flush(self.table)
        self.clock.pass_unscored += unscored
        self.ledger.unscored += unscored

    # -- end ---------------------------------------------------------------
    def after_train(self, runner) -> None:
        """Log the savings of the whole run; leave the model as it was."""
        self._flush_scores()
        self._release_model()
        runner.logger.info(f'InfoBatch finished: {self.summary()}')
        saved = self.savings()['saved_samples']
        if self.budget is not None and abs(saved - self.budget.target) > 0.01:
            runner.logger.warning(
                f'InfoBatch: saved {saved:.1%} where target_saving='
                f'{self.budget.target} was asked: the policy could not prune '
                'as many samples in some passes (InfoBatch prunes only '
                'below-threshold samples, each band keeps one).')

    def before_val(self, runner) -> None:
        """Leave the model as it was after a training step that raised
        (validation inside training runs between steps, when nothing is
        recorded: a step still recording here never finished)."""
        if self.recorder is not None and self.recorder.recording:
            self._release_model()

    before_test = before_val

    def _release_model(self) -> None:
        """Remove the loss adapters' and the coverage check's hooks from
        the user's model, and undo any reduction switched mid-call."""
        self.coverage.remove()
        if self.recorder is not None:
            self.recorder.finish_step()
            for adapter in self.recorder.adapters:
                adapter.restore()
            self.recorder.remove()

    def after_run(self, runner) -> None:
        """Close the checkpoint trust scope if no load happened."""
        self.trust.exit()

    # -- savings and checkpoints -------------------------------------------
    def savings(self) -> dict:
        """Forward/backward passes trained against the full-data run
        (:meth:`mmib.core.SavingsLedger.savings`)."""
        if self.table is None:
            return self.ledger.savings(0)
        fraction = (self.clock.pass_samples / self.sampler.total_size
                    if self.clock.pass_samples else 0.0)
        return self.ledger.savings(len(self.table), fraction)

    def summary(self) -> str:
        """One line on the savings (and the target, with a budget)."""
        text = describe_savings(self.savings())
        if self.budget is not None:
            text += f' against a target saving of {self.budget.target:.1%}'
        return text

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Write the message hub as plain data and add the hook's snapshot,
        so the file loads with torch's default allow-list."""
        snapshot = None
        if self.table is not None:  # training
            self._flush_scores()
            snapshot = InfoBatchSnapshot(
                table=self.table.state_dict(),
                clock=PassClock(**self.clock.state_dict()),
                ledger=SavingsLedger(**self.ledger.state_dict()),
                plan=self.plan,
                ratios=self.policy.ratios,
                layout=self.driver.layout_state(),
                rng=capture_rng(self.driver.loader.generator))
        write_checkpoint(checkpoint, snapshot)
