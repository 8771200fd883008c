"""``InfoBatchHook``: InfoBatch's unbiased dynamic data pruning in MMEngine.

The hook wires MMEngine's events to the framework-free parts of
:mod:`mmib.core` (score table, pruning plan, pass clock, savings ledger,
checkpoint snapshot) and to the loader, loss and checkpoint glue of
:mod:`mmib.engine`.
"""
import functools
import logging
from typing import List, Optional, Sequence, Union

import torch
from mmengine.dataset import RepeatDataset
from mmengine.dist import get_world_size
from mmengine.hooks import Hook, LoggerHook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
from mmengine.utils.dl_utils import has_batch_norm

from ...core import (BatchLayout, EpochPlan, InfoBatchSnapshot, PassClock,
                     PruningPolicy, SavingsLedger, ScoreTable,
                     check_score_momentum, num_pruning_epochs,
                     pass_statistics, plan_epoch, projected_saving)
from ...core.describe import (describe_pass, describe_policy,
                              describe_savings, describe_schedule)
from ...core.validation import validate_state
from ..checkpoint_io import CHECKPOINT_KEY, read_checkpoint, write_checkpoint
from ..checkpoint_safety import ScopedCheckpointTrust
from ..coverage import LossCoverageCheck
from ..infobatch_loader import loader_sampler, wrap_train_dataloader
from ..pass_iterator import PassIterator
from ..loss_adapters import PerSampleLossRecorder
from ..mmengine_fields import (diff_rank_seed, is_resuming, set_max_iters,
                               sync_accumulation)
from ..resume import PendingResume
from ..rng_state import capture_rng, restore_global_rng, restore_torch_rng
from ..step_gather import batch_sample_indices, gather_step
from ..strategies import unsupported_strategy

DATA_BATCH = Optional[Union[dict, tuple, list]]

__all__ = ['InfoBatchHook', 'batch_sample_indices', 'CHECKPOINT_KEY']


@HOOKS.register_module()
class InfoBatchHook(Hook):
    """Train on fewer samples with InfoBatch's unbiased dynamic pruning.

    Add one line to a config::

        custom_hooks = [dict(type='InfoBatchHook', ratio=0.5)]

    Before training the hook wraps the training data set in
    :class:`~mmib.datasets.InfoBatchDataset` and replaces the sampler with
    :class:`~mmib.datasets.InfoBatchSampler` (``DefaultSampler``,
    ``InfiniteSampler`` and ``RepeatAugSampler`` settings carry over), and
    gives each of the model's loss modules its loss adapter
    (:data:`~mmib.engine.LOSS_ADAPTERS`, through
    :class:`~mmib.engine.PerSampleLossRecorder`) so that each step records
    per-sample losses and weights them.

    Training is a sequence of *passes* over the data: the epochs of an
    ``EpochBasedTrainLoop``, or the sweeps an ``IterBasedTrainLoop`` makes
    through the data. Before each pass the hook prunes
    (:func:`~mmib.core.plan_epoch`) so the pass trains only the kept
    samples. After each step it stores the batch's losses as scores (all
    ranks gather them) and advances one *clock*, counted in full-data
    iterations: iteration-based parameter schedules are stepped as many
    times as the step stands for, so they keep their whole shape over the
    shortened passes, and an iteration-based run stops when the clock
    reaches the config's ``max_iters``, i.e. after as many passes over the
    data as the full schedule, with fewer iterations.

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
            score (the paper); ``m`` in ``(0, 1)`` keeps an exponential
            moving average ``m * old + (1 - m) * new``, for losses that are
            noisy from pass to pass (MAE's random masks). Defaults to 0.
        seed (int, optional): Seed of the pruning draws, the same on all
            ranks; None uses the training sampler's seed (the runner's seed,
            synchronised across ranks even with ``diff_rank_seed=True``).
            Defaults to None.
        rescale (bool): Whether kept low-score samples get the weight
            ``1 / (1 - ratio)``. False is the paper's ablation (every kept
            sample weight 1). Defaults to True.
        unweighted_losses (Sequence[str]): Loss terms (keys of the model's
            loss dict) allowed to stay unweighted. At the first step the hook
            checks that every loss term carrying gradient passes through a
            per-sample-weighted loss; a term that does not stops training
            with an error naming it, unless it is listed here (then one
            WARNING says so). Defaults to ().
        policy (str): ``'infobatch'`` (the method) or ``'random'``: the
            equal-cost baseline that prunes the same number of samples each
            pass, drawn uniformly from all scored samples (with ``rescale``
            the kept ones share the weight ``n_scored / n_kept``).
            Defaults to ``'infobatch'``.
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
                 unweighted_losses: Sequence[str] = ()) -> None:
        ratios = (tuple(ratio) if isinstance(ratio, (list, tuple)) else
                  (ratio, ))
        if quantiles is not None and not isinstance(quantiles,
                                                    (list, tuple)):
            raise ValueError(
                f'quantiles={quantiles!r} must be a list, one quantile per '
                f'ratio, e.g. quantiles=[{quantiles!r}].')
        if seed is not None and (isinstance(seed, bool)
                                 or not isinstance(seed, int)):
            raise ValueError(
                f'seed={seed!r} must be an integer or None (None: the '
                "training sampler's seed).")
        self.policy = PruningPolicy(
            ratios=ratios,
            delta=delta,
            threshold=threshold,
            quantiles=tuple(quantiles or ()),
            rescale=rescale,
            selection=policy)
        self.score_momentum = check_score_momentum(score_momentum)
        if rescale and max(ratios) >= 0.95:
            print_log(
                f'InfoBatch: ratio={max(ratios)} gives the kept low-score '
                f'samples the loss weight {1 / (1 - max(ratios)):.0f} (above '
                '20): one kept sample then stands for many pruned ones, and '
                'its gradient can dominate a step.', logger='current',
                level=logging.WARNING)
        self.coverage = LossCoverageCheck(unweighted_losses)
        self.seed = seed
        self.table: Optional[ScoreTable] = None
        self.plan: Optional[EpochPlan] = None
        self.recorder: Optional[PerSampleLossRecorder] = None
        self.clock = PassClock()
        self.ledger = SavingsLedger()
        self.pending = PendingResume()
        self._snapshot: Optional[InfoBatchSnapshot] = None
        self._trust = ScopedCheckpointTrust()
        self._batch_indices: Optional[torch.Tensor] = None
        self._batch_padding: Optional[torch.Tensor] = None
        # set by before_train, from the runner's loop, loader and model
        self.by_epoch = True
        self.loader = None
        self.sampler = None
        self.layout: Optional[BatchLayout] = None
        self.batch_size = 1
        self.full_pass_len = 0
        self.pass_len = 0
        self.target_full_iters = 0
        self.num_passes = 0.0
        self.num_pruning_passes = 0
        self.avoid_batch_of_one = False
        self._iteration_schedulers: List = []
        self._log_interval = 1
        self._pending_scores: List[tuple] = []

    # -- set-up ------------------------------------------------------------
    def before_run(self, runner) -> None:
        """Let the runner's own checkpoint load (next, in ``train``,
        ``val`` or ``test``) read MMEngine's format through mmib's
        stand-ins (:class:`ScopedCheckpointTrust`); undone after the load.

        Args:
            runner (Runner): The runner.
        """
        self._trust.enter()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Turn the loaded checkpoint back into live objects, and keep the
        InfoBatch state to restore when resuming.

        Args:
            runner (Runner): The runner.
            checkpoint (dict): The loaded checkpoint.
        """
        self._trust.exit()
        self._snapshot = read_checkpoint(checkpoint, is_resuming(runner),
                                         runner.logger.info)

    def before_train(self, runner) -> None:
        """Install the data set wrapper, the sampler and the loss hooks.

        Done at ``before_train`` (not ``before_run``, which ``runner.val()``
        and ``runner.test()`` call too), after a resumed checkpoint was
        loaded: its InfoBatch state is restored here.

        Args:
            runner (Runner): The runner of the training process.
        """
        self._trust.exit()
        strategy_error = unsupported_strategy(getattr(runner, 'strategy', None))
        if strategy_error is not None:
            raise RuntimeError(strategy_error)
        loop = runner.train_loop
        if isinstance(loop, EpochBasedTrainLoop):
            self.by_epoch = True
        elif isinstance(loop, IterBasedTrainLoop):
            self.by_epoch = False
        else:
            raise ValueError(
                'InfoBatchHook supports EpochBasedTrainLoop and '
                f'IterBasedTrainLoop; the config uses {type(loop).__name__}.')
        repeated = loop.dataloader.dataset
        loader = wrap_train_dataloader(
            loop.dataloader,
            own_generator=not self.by_epoch,
            unwrap_repeat=not self.by_epoch)
        if isinstance(repeated, RepeatDataset) and not self.by_epoch:
            runner.logger.info(
                f'InfoBatch: the training set is a RepeatDataset(times='
                f'{repeated.times}); passes go over its {len(loader.dataset)} '
                'samples (each scored once per pass), not over the '
                f'{len(repeated)} copies.')
        loop.dataloader = loader
        self.loader = loader
        self.sampler = loader_sampler(loader)
        self.table = ScoreTable(len(loader.dataset), self.score_momentum)
        self.full_pass_len = len(loader)  # no plan yet: the full data
        self.pass_len = self.full_pass_len
        if self.by_epoch:
            self.target_full_iters = loop.max_epochs * self.full_pass_len
        else:
            self.target_full_iters = loop.max_iters
        self.num_passes = self.target_full_iters / self.full_pass_len
        self.num_pruning_passes = num_pruning_epochs(self.num_passes,
                                                     self.policy.delta)
        self.batch_size = loader.batch_size or 1
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self.layout = None if loader.batch_size is None else BatchLayout(
            batch_size=loader.batch_size,
            world_size=get_world_size(),
            round_up=self.sampler.round_up,
            drop_last=loader.drop_last)
        # a one-sample last batch only breaks BatchNorm: keep the pruned
        # counts exact (and independent of the batch layout) without it
        self.avoid_batch_of_one = has_batch_norm(model)
        if self.seed is None:
            # the sampler's seed is the same on every rank, where the
            # runner's differs with randomness.diff_rank_seed=True
            self.seed = self.sampler.seed
        self._release_model()  # a second train(): the hooks of the first
        self.recorder = PerSampleLossRecorder(model)
        self._iteration_schedulers = self._find_iteration_schedulers(runner)
        self.coverage.attach(model, self.recorder, runner.logger.warning)
        self._log_interval = next(
            (h.interval for h in runner.hooks if isinstance(h, LoggerHook)),
            1)
        self._restore(runner)
        if not self.by_epoch:
            loop.dataloader_iterator = PassIterator(
                loader,
                functools.partial(self._start_pass, runner=runner),
                first_pass=self.clock.pass_index,
                skip_calls=runner.iter)
        schedule = describe_schedule(self.policy, self.num_passes,
                                     self.num_pruning_passes)
        log = (runner.logger.warning if schedule.startswith('no pass')
               else runner.logger.info)
        log(f'InfoBatch: {len(self.table)} training samples, '
            f'{describe_policy(self.policy)}; {self.num_passes:g} passes over '
            f'the data ({self.full_pass_len} iterations each on the full '
            f'data); {schedule}; per-sample losses from '
            f'{self.recorder.describe()}.')

    # -- passes ------------------------------------------------------------
    def before_train_epoch(self, runner) -> None:
        """Start the epoch's pass (epoch-based loops).

        Args:
            runner (Runner): The runner of the training process.
        """
        if self.by_epoch:
            self._start_pass(runner.epoch, runner)

    def _start_pass(self, pass_index: int, runner) -> None:
        """Prune for pass ``pass_index`` and hand its samples to the sampler.

        Args:
            pass_index (int): 0-based pass (epoch) index.
            runner (Runner): The runner of the training process.
        """
        if len(self.loader.dataset) != len(self.table):
            raise RuntimeError(
                'InfoBatch: the training data set changed length from '
                f'{len(self.table)} to {len(self.loader.dataset)} samples '
                'during training; its scores are kept per index, so the data '
                'set must keep its length. Use a fixed-length data set.')
        self._flush_scores()
        resumed = self.pending.take_plan()
        if self.pending.take_skip():  # the repeated epoch: train nothing
            self.sampler.set_kept_indices(
                None if resumed.num_kept == resumed.num_samples else
                resumed.kept_indices)
            self.sampler.skip_next(len(self.sampler))
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
            plan = plan_epoch(
                self.table, self.policy, pass_index, self.num_passes,
                self.seed, self.layout if self.avoid_batch_of_one else None)
            self.clock.start_pass(pass_index)
        self.plan = plan
        full = plan.num_kept == plan.num_samples
        self.sampler.set_epoch(pass_index)
        self.sampler.set_kept_indices(None if full else plan.kept_indices)
        self.pass_len = len(self.loader)
        if self.clock.pass_iter:
            self.sampler.skip_next(self.clock.pass_iter * self.batch_size)
        self._update_max_iters(runner)
        runner.logger.info(
            describe_pass(pass_index, plan, bool(self.table.seen.any()),
                          self.num_passes, self.pass_len, self.full_pass_len,
                          self.clock.pass_iter))
        if not self.clock.pass_iter:  # a new pass, not a resumed one
            self._visualize_pass(runner, pass_index, plan)

    def _visualize_pass(self, runner, pass_index: int,
                        plan: EpochPlan) -> None:
        """Per-pass statistics to MMEngine's visualizer (scalars.json,
        TensorBoard, ...), once per pass, at the pass's first iteration."""
        stats = pass_statistics(self.table, plan)
        saved = self.savings()
        stats.update(
            pass_index=pass_index,
            full_iters=self.clock.full_iters,
            saved_so_far=saved['saved_samples'],
            projected_saving=projected_saving(
                self.ledger.samples_trained, plan.num_kept, len(self.table),
                pass_index, self.num_passes, self.num_pruning_passes))
        runner.visualizer.add_scalars(
            {f'infobatch/{k}': v
             for k, v in stats.items()}, step=runner.iter)

    def _update_max_iters(self, runner) -> None:
        """Estimate the run's iterations (for the ETA and last-iteration
        checks); exact from the last pass on for epoch-based loops."""
        loop = runner.train_loop
        estimate = loop.iter + self.clock.remaining_iters(
            self.pass_len, self.full_pass_len, self.target_full_iters,
            self.num_pruning_passes,
            self.plan.num_kept < self.plan.num_samples)
        if not self.by_epoch:
            end = self.clock.end_in_pass(self.target_full_iters,
                                         self.pass_len, self.full_pass_len)
            # exact when the run ends in this pass; else never below the
            # next iteration: the clock, not an estimate, ends the run
            estimate = (loop.iter + end - self.clock.pass_iter
                        if end is not None else max(estimate, loop.iter + 1))
        set_max_iters(runner, estimate)
        sync_accumulation(runner, estimate)

    # -- iterations --------------------------------------------------------
    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        """Hand the batch's weights to the loss hooks.

        Args:
            runner (Runner): The runner of the training process.
            batch_idx (int): Index of the batch.
            data_batch (dict): The batch from the data loader.
        """
        rng = self.pending.take_rng_at_first_iter()
        if rng is not None:
            restore_torch_rng(rng)
        indices = batch_sample_indices(data_batch)
        self._batch_indices = indices
        self._batch_padding = self._padding_mask(indices.numel())
        # numpy indexing: in the loop, a fraction of a torch index op's cost
        self.recorder.start_step(
            torch.from_numpy(self.plan.weights.numpy()[indices.numpy()]))

    def _padding_mask(self, batch_size: int) -> Optional[torch.Tensor]:
        """Which samples of this rank's batch are round-up padding.

        The sampler pads the kept list with repeats at the end, so this
        rank's samples from position ``sampler.num_real`` of the pass on
        are repeats. (Not known with a custom batch sampler.)
        """
        if self.sampler.world_size == 1 or self.layout is None:
            return None  # no padding
        start = self.clock.pass_iter * self.batch_size
        return torch.arange(start, start + batch_size) >= self.sampler.num_real

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        """Store the batch's losses as scores and advance the clock.

        Args:
            runner (Runner): The runner of the training process.
            batch_idx (int): Index of the batch.
            data_batch (dict): The batch from the data loader.
            outputs (dict, optional): The model's log variables.
        """
        losses = self.recorder.finish_step()
        if losses is None:
            raise RuntimeError(
                'InfoBatchHook got no per-sample losses: none of the loss '
                f'modules {self.recorder.module_names} returned a loss with '
                "the batch as first dimension under reduction='none'. "
                'InfoBatch needs a loss that can be split per sample; a loss '
                'that the head already reduces to a scalar cannot be.')
        indices, losses, padding = gather_step(self._batch_indices, losses,
                                               self._batch_padding,
                                               self.batch_size,
                                               self.sampler.world_size)
        # padding repeats were trained, but score and count only once
        num_padding = 0 if padding is None else int(padding.sum())
        if num_padding:
            indices, losses = indices[~padding], losses[~padding]
        # scores are read only when a pass is planned or saved: store them
        # in one batched update then, not one small update per iteration
        self._pending_scores.append((indices, losses))
        self.clock.pass_samples += indices.numel()
        steps = self.clock.step(self.pass_len, self.full_pass_len,
                                self.target_full_iters)
        self.ledger.record_step(indices.numel(), num_padding, steps)
        for _ in range(steps - 1):  # ParamSchedulerHook made one step
            for scheduler in self._iteration_schedulers:
                scheduler.step()
        if self.clock.pass_iter == self.pass_len:
            self._end_pass(runner)
        if not self.by_epoch:
            if self.clock.full_iters >= self.target_full_iters:
                set_max_iters(runner, runner.iter + 1)  # the last
            elif runner.train_loop.max_iters <= runner.iter + 1:
                set_max_iters(runner, runner.iter + 2)
                sync_accumulation(runner, runner.iter + 2)
        # the savings and the clock go to the message hub before the
        # iterations the LoggerHook logs (it runs before this hook, and
        # MMEngine's history buffers grow with every update): the logged
        # values are those at the start of the logged iteration, as its lr
        interval = self._log_interval
        if (batch_idx + 2) % interval == 0 or \
                (runner.iter + 2) % interval == 0 or \
                self.clock.pass_iter + 1 == self.pass_len or interval == 1:
            runner.message_hub.update_scalar('train/infobatch_saved',
                                             self.savings()['saved_samples'])
            runner.message_hub.update_scalar('train/infobatch_full_iters',
                                             self.clock.full_iters)
            runner.message_hub.update_scalar(
                'train/infobatch_samples',
                self.ledger.samples_trained + self.ledger.padding_samples)

    def _flush_scores(self) -> None:
        """Store the losses gathered since the last flush as scores."""
        if not self._pending_scores:
            return
        indices = torch.cat([i for i, _ in self._pending_scores])
        losses = torch.cat([l for _, l in self._pending_scores])
        self._pending_scores = []
        unscored = self.table.update(indices, losses)
        self.clock.pass_unscored += unscored
        self.ledger.unscored += unscored

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

    def after_train(self, runner) -> None:
        """Log the savings of the whole run.

        Args:
            runner (Runner): The runner of the training process.
        """
        self._flush_scores()
        self._release_model()
        runner.logger.info(f'InfoBatch finished: {self.summary()}')

    def before_val(self, runner) -> None:
        """Leave the model as it was after a training step that raised.

        Validation inside training runs between steps (nothing recorded);
        a step still recording here never finished: training raised, and
        this is a later ``runner.val()``.

        Args:
            runner (Runner): The runner.
        """
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
        """Undo the checkpoint trust if no load happened.

        Args:
            runner (Runner): The runner.
        """
        self._trust.exit()

    # -- savings -----------------------------------------------------------
    def savings(self) -> dict:
        """Forward/backward passes trained against the full-data run.

        Returns:
            dict: See :meth:`mmib.core.SavingsLedger.savings`:
            ``samples_trained`` (forward/backward passes of all ranks; each
            kept sample once per pass), ``padding_samples`` (the repeats that
            pad the last batches of a multi-process pass, as
            ``DefaultSampler`` pads the full data too), ``samples_full``,
            ``iters_trained``, ``iters_full`` and the saved fractions
            ``saved_samples`` and ``saved_iters``.
        """
        if self.table is None:
            return self.ledger.savings(0)
        fraction = (self.clock.pass_samples / self.sampler.total_size
                    if self.clock.pass_samples else 0.0)
        return self.ledger.savings(len(self.table), fraction)

    def summary(self) -> str:
        """One line on the savings."""
        return describe_savings(self.savings())

    @staticmethod
    def _find_iteration_schedulers(runner) -> List:
        schedulers = runner.param_schedulers
        if schedulers is None:
            return []
        if isinstance(schedulers, dict):
            schedulers = [s for group in schedulers.values() for s in group]
        return [s for s in schedulers if not s.by_epoch]

    # -- checkpoints -------------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Save the InfoBatch snapshot, and write the message hub as plain
        data, so the file loads with torch's default allow-list.

        Args:
            runner (Runner): The runner of the training process.
            checkpoint (dict): The checkpoint being saved.
        """
        if self.table is not None:  # training
            self._flush_scores()
        write_checkpoint(checkpoint, None if self.table is None else
                         InfoBatchSnapshot(
                             table=self.table.state_dict(),
                             clock=PassClock(**self.clock.state_dict()),
                             ledger=SavingsLedger(**self.ledger.state_dict()),
                             plan=self.plan,
                             ratios=self.policy.ratios,
                             layout=self._layout_state(),
                             rng=capture_rng(self.loader.generator)))

    def _layout_state(self) -> dict:
        return dict(
            num_samples=len(self.table),
            batch_size=self.loader.batch_size,
            world_size=get_world_size())

    def _restore(self, runner) -> None:
        """Apply a resumed snapshot (at ``before_train``)."""
        snapshot, self._snapshot = self._snapshot, None
        if snapshot is None:  # a fresh run, or a checkpoint without InfoBatch
            if self.by_epoch:
                self.clock.pass_index = runner.epoch
                self.clock.full_iters = runner.epoch * self.full_pass_len
            else:
                self.clock.full_iters = runner.iter
            return
        validate_state(snapshot.to_dict(), len(self.table), self.num_passes)
        self.table.load_state_dict(snapshot.table)
        self.ledger = snapshot.ledger
        self.clock = snapshot.clock
        if snapshot.ratios and snapshot.ratios != tuple(
                float(r) for r in self.policy.ratios):
            runner.logger.warning(
                f'InfoBatch: resuming with ratio={list(self.policy.ratios)} '
                f'where the checkpoint used {list(snapshot.ratios)}: the '
                'scores carry over, the new ratio applies from the next pass '
                'on.')
        mid_pass = bool(self.clock.pass_iter)
        # an iteration checkpoint taken at the last iteration of an epoch:
        # MMEngine runs that epoch again; it is made empty instead
        repeat_epoch = (self.by_epoch and not mid_pass
                        and self.clock.pass_index == runner.epoch + 1)
        if (mid_pass or repeat_epoch) and \
                snapshot.layout != self._layout_state():
            runner.logger.warning(
                'InfoBatch: the batch size or number of processes changed '
                f'since the checkpoint ({snapshot.layout} -> '
                f'{self._layout_state()}); the interrupted pass cannot go '
                'on where it stopped, so it starts again, pruned with the '
                'restored scores.')
            self.clock.start_pass(self.clock.pass_index)
            mid_pass = repeat_epoch = False
        rng = snapshot.rng
        same_streams = get_world_size() == 1 or not diff_rank_seed(runner)
        if rng is not None and same_streams:
            restore_global_rng(rng, self.loader.generator)
            if mid_pass:  # after the resumed pass's iterator is made
                self.pending.torch_rng_at_first_iter = rng
            elif repeat_epoch:  # before the next pass's iterator is made
                self.pending.torch_rng_before_next_pass = rng
            else:
                restore_torch_rng(rng)
        self.pending.skip_whole_pass = repeat_epoch
        if mid_pass or repeat_epoch:
            self.pending.plan = snapshot.plan
