"""``InfoBatchHook``: InfoBatch's unbiased dynamic data pruning in MMEngine."""
import functools
import math
import random
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dist import all_gather, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
from mmengine.structures import BaseDataElement
from mmengine.utils.dl_utils import has_batch_norm

from ...core import (BatchLayout, EpochPlan, PruningPolicy, ScoreTable,
                     check_score_momentum, full_data_steps,
                     iterations_to_cover, num_pruning_epochs, plan_epoch,
                     scheduler_steps_for_iter)
from ...datasets import INDEX_KEY
from ..infobatch_loader import loader_sampler, wrap_train_dataloader
from ..pass_iterator import PassIterator
from ..per_sample_loss import PerSampleLossRecorder

DATA_BATCH = Optional[Union[dict, tuple, list]]
CHECKPOINT_KEY = 'infobatch'
STATE_VERSION = 2


def batch_sample_indices(data_batch: DATA_BATCH) -> torch.Tensor:
    """The data set indices of a collated batch, in batch order.

    Args:
        data_batch (dict): A batch of samples from :class:`InfoBatchDataset`.

    Returns:
        Tensor: int64 indices, shape ``(B,)``.
    """
    if isinstance(data_batch, dict):
        data_samples = data_batch.get('data_samples')
        if (isinstance(data_samples, (list, tuple)) and data_samples
                and isinstance(data_samples[0], BaseDataElement)
                and INDEX_KEY in data_samples[0].metainfo):
            return torch.tensor([s.metainfo[INDEX_KEY] for s in data_samples],
                                dtype=torch.long)
        if INDEX_KEY in data_batch:
            return torch.as_tensor(data_batch[INDEX_KEY],
                                   dtype=torch.long).reshape(-1)
    raise RuntimeError(
        'InfoBatchHook: the training batch carries no sample indices '
        f'({INDEX_KEY!r}). The training data set must be wrapped by '
        'InfoBatchDataset (the hook does this at before_train); if a custom '
        'collate function drops metainfo, keep data_samples intact.')


def _rng_state(loader) -> dict:
    """The global random states (and the loader's generator) to checkpoint.

    MMEngine does not checkpoint them; with them a resumed run continues
    bit-identically (on CPU, with ``num_workers=0``).
    """
    return dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state(),
        cuda=(torch.cuda.get_rng_state_all()
              if torch.cuda.is_available() else None),
        loader=(loader.generator.get_state()
                if loader.generator is not None else None))


def _set_torch_rng(rng: dict) -> None:
    torch.set_rng_state(rng['torch'])
    if rng.get('cuda') is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng['cuda'])


@HOOKS.register_module()
class InfoBatchHook(Hook):
    """Train on fewer samples with InfoBatch's unbiased dynamic pruning.

    Add one line to a config::

        custom_hooks = [dict(type='InfoBatchHook', ratio=0.5)]

    Before training the hook wraps the training data set in
    :class:`~mmib.datasets.InfoBatchDataset` and replaces the sampler with
    :class:`~mmib.datasets.InfoBatchSampler` (``DefaultSampler`` and
    ``InfiniteSampler`` settings carry over), and hooks the model's loss
    modules so that each step records per-sample losses and weights them
    (:class:`~mmib.engine.PerSampleLossRecorder`).

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
                 seed: Optional[int] = None) -> None:
        ratios = (tuple(ratio) if isinstance(ratio, (list, tuple)) else
                  (ratio, ))
        self.policy = PruningPolicy(
            ratios=ratios,
            delta=delta,
            threshold=threshold,
            quantiles=tuple(quantiles or ()))
        self.score_momentum = check_score_momentum(score_momentum)
        self.seed = seed
        self.table: Optional[ScoreTable] = None
        self.plan: Optional[EpochPlan] = None
        self.recorder: Optional[PerSampleLossRecorder] = None
        self.ledger = dict(
            samples_trained=0, padding_samples=0, iters_trained=0,
            iters_full=0, passes_done=0, unscored=0)
        # the clock: current pass, iterations done in it, and the full-data
        # iterations the run has covered so far
        self.clock = dict(pass_index=0, pass_iter=0, pass_samples=0,
                          pass_unscored=0, full_iters=0)
        self._batch_indices: Optional[torch.Tensor] = None
        self._state_to_restore: Optional[dict] = None
        self._torch_rng_to_restore: Optional[dict] = None
        self._torch_rng_before_next_pass: Optional[dict] = None
        self._resumed_plan: Optional[EpochPlan] = None
        self._skip_whole_pass = False

    # -- set-up ------------------------------------------------------------
    def before_train(self, runner) -> None:
        """Install the data set wrapper, the sampler and the loss hooks.

        Done at ``before_train`` (not ``before_run``, which ``runner.val()``
        and ``runner.test()`` call too), after a resumed checkpoint was
        loaded: its InfoBatch state is restored here.

        Args:
            runner (Runner): The runner of the training process.
        """
        loop = runner.train_loop
        if isinstance(loop, EpochBasedTrainLoop):
            self.by_epoch = True
        elif isinstance(loop, IterBasedTrainLoop):
            self.by_epoch = False
        else:
            raise ValueError(
                'InfoBatchHook supports EpochBasedTrainLoop and '
                f'IterBasedTrainLoop; the config uses {type(loop).__name__}.')
        loader = wrap_train_dataloader(
            loop.dataloader, own_generator=not self.by_epoch)
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
        self.recorder = PerSampleLossRecorder(model)
        self._resumed_plan = self._restore(runner)
        if not self.by_epoch:
            loop.dataloader_iterator = PassIterator(
                loader,
                functools.partial(self._start_pass, runner=runner),
                first_pass=self.clock['pass_index'],
                skip_calls=runner.iter)
        num_pruning = num_pruning_epochs(self.num_passes, self.policy.delta)
        runner.logger.info(
            f'InfoBatch: {len(self.table)} training samples, '
            f'{self._describe_policy()}; {self.num_passes:g} passes over '
            f'the data ({self.full_pass_len} iterations each on the full '
            f'data), passes 1-{num_pruning} prune, the rest anneal; '
            f'per-sample losses from {self.recorder.module_names}.')

    def _describe_policy(self) -> str:
        policy = self.policy
        if policy.threshold == 'mean':
            return (f'ratio={policy.ratios[0]} of the samples below the mean '
                    f'score (weight {policy.weights[0]:g})')
        bands = ', '.join(
            f'below q{q:g}: ratio={r} (weight {w:g})'
            for q, r, w in zip(policy.quantiles, policy.ratios,
                               policy.weights))
        return f'quantile bands [{bands}]'

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
        resumed = self._resumed_plan
        self._resumed_plan = None
        if self._skip_whole_pass:  # the repeated epoch: train nothing
            self._skip_whole_pass = False
            self.sampler.set_kept_indices(
                None if resumed.num_kept == resumed.num_samples else
                resumed.kept_indices)
            self.sampler.skip_next(len(self.sampler))
            runner.logger.info(
                f'InfoBatch: epoch {pass_index + 1} was complete in the '
                'checkpoint; it is not trained again.')
            return
        if self._torch_rng_before_next_pass is not None:
            _set_torch_rng(self._torch_rng_before_next_pass)
            self._torch_rng_before_next_pass = None
        if resumed is not None and resumed.epoch == pass_index:
            plan = resumed  # continue an interrupted pass where it stopped
        else:
            plan = plan_epoch(
                self.table, self.policy, pass_index, self.num_passes,
                self.seed, self.layout if self.avoid_batch_of_one else None)
            self.clock.update(pass_index=pass_index, pass_iter=0,
                              pass_samples=0, pass_unscored=0)
        self.plan = plan
        full = plan.num_kept == plan.num_samples
        self.sampler.set_epoch(pass_index)
        self.sampler.set_kept_indices(None if full else plan.kept_indices)
        self.pass_len = len(self.loader)
        if self.clock['pass_iter']:
            self.sampler.skip_next(self.clock['pass_iter'] * self.batch_size)
        self._update_max_iters(runner)
        if plan.annealing:
            what = 'all samples (annealing)'
        elif full:
            what = 'all samples' if bool(
                self.table.seen.any()) else 'all samples (no scores yet)'
        else:
            what = (f'{plan.num_kept}/{plan.num_samples} samples, '
                    f'{plan.num_pruned} pruned below thresholds '
                    f'{[round(t, 6) for t in plan.thresholds.tolist()]}')
        resumed_at = (f', resumed at iteration {self.clock["pass_iter"]}'
                      if self.clock['pass_iter'] else '')
        runner.logger.info(
            f'InfoBatch pass {pass_index + 1}/{self.num_passes:g}: training '
            f'{what} in {self.pass_len} iterations (full data: '
            f'{self.full_pass_len}){resumed_at}.')

    def _update_max_iters(self, runner) -> None:
        """Estimate the run's iterations (for the ETA and last-iteration
        checks); exact from the last pass on for epoch-based loops."""
        loop = runner.train_loop
        done_full = full_data_steps(self.clock['pass_iter'], self.pass_len,
                                    self.full_pass_len)
        after_pass = (self.clock['full_iters'] - done_full +
                      self.full_pass_len)
        passes_left = max(0.0, (self.target_full_iters - after_pass) /
                          self.full_pass_len)
        pruning_left = min(
            passes_left,
            max(0,
                num_pruning_epochs(self.num_passes, self.policy.delta) -
                (self.clock['pass_index'] + 1)))
        shrink = (self.pass_len / self.full_pass_len
                  if self.plan.num_kept < self.plan.num_samples else 1.0)
        future = (pruning_left * shrink + passes_left - pruning_left) * \
            self.full_pass_len
        estimate = loop.iter + self.pass_len - self.clock['pass_iter'] + \
            math.ceil(future)
        if not self.by_epoch:
            end = self._end_in_this_pass()
            # exact when the run ends in this pass; else never below the
            # next iteration: the clock, not an estimate, ends the run
            estimate = (loop.iter + end - self.clock['pass_iter']
                        if end is not None else max(estimate, loop.iter + 1))
        loop._max_iters = estimate
        runner.message_hub.update_info('max_iters', estimate)
        self._sync_accumulation(runner, estimate)

    def _end_in_this_pass(self) -> Optional[int]:
        """The pass iteration count after which the clock reaches the
        run's end, if that happens in this pass."""
        pass_start = self.clock['full_iters'] - full_data_steps(
            self.clock['pass_iter'], self.pass_len, self.full_pass_len)
        return iterations_to_cover(self.target_full_iters - pass_start,
                                   self.pass_len, self.full_pass_len)

    @staticmethod
    def _sync_accumulation(runner, max_iters: int) -> None:
        """Tell gradient accumulation where the (shortened) run ends, so
        its last, partial group steps and is scaled as MMEngine does at the
        end of a run."""
        wrappers = runner.optim_wrapper
        wrappers = (list(wrappers.values())
                    if hasattr(wrappers, 'values') else [wrappers])
        for wrapper in wrappers:
            counts = getattr(wrapper, '_accumulative_counts', 1)
            if counts > 1:
                wrapper._max_counts = max_iters
                wrapper._remainder_counts = max_iters % counts

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
        if self._torch_rng_to_restore is not None:
            _set_torch_rng(self._torch_rng_to_restore)
            self._torch_rng_to_restore = None
        indices = batch_sample_indices(data_batch)
        self._batch_indices = indices
        self._batch_padding = self._padding_mask(indices.numel())
        self.recorder.start_step(self.plan.weights[indices])

    def _padding_mask(self, batch_size: int) -> torch.Tensor:
        """Which samples of this rank's batch are round-up padding.

        The sampler pads the kept list with repeats at the end, so this
        rank's samples from position ``sampler.num_real`` of the pass on
        are repeats. (Not known with a custom batch sampler.)
        """
        if self.sampler.world_size == 1 or self.layout is None:
            return torch.zeros(batch_size, dtype=torch.bool)
        start = self.clock['pass_iter'] * self.batch_size
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
        indices, losses, padding = self._gather(self._batch_indices, losses,
                                                self._batch_padding)
        # padding repeats were trained, but score and count only once
        num_padding = int(padding.sum())
        indices, losses = indices[~padding], losses[~padding]
        unscored = self.table.update(indices, losses)
        self.ledger['unscored'] += unscored
        self.clock['pass_unscored'] += unscored
        self.ledger['samples_trained'] += indices.numel()
        self.ledger['padding_samples'] += num_padding
        self.ledger['iters_trained'] += 1
        self.clock['pass_samples'] += indices.numel()
        self._advance_clock(runner)
        runner.message_hub.update_scalar('train/infobatch_saved',
                                         self.savings()['saved_samples'])

    def _advance_clock(self, runner) -> None:
        clock = self.clock
        steps = scheduler_steps_for_iter(clock['pass_iter'], self.pass_len,
                                         self.full_pass_len)
        steps = min(steps, self.target_full_iters - clock['full_iters'])
        for _ in range(steps - 1):  # ParamSchedulerHook made one step
            for scheduler in self._iteration_schedulers(runner):
                scheduler.step()
        clock['full_iters'] += steps
        self.ledger['iters_full'] += steps
        clock['pass_iter'] += 1
        if clock['pass_iter'] == self.pass_len:
            self._end_pass(runner)
        if not self.by_epoch:
            if clock['full_iters'] >= self.target_full_iters:
                runner.train_loop._max_iters = runner.iter + 1  # the last
            elif runner.train_loop.max_iters <= runner.iter + 1:
                runner.train_loop._max_iters = runner.iter + 2
                self._sync_accumulation(runner, runner.iter + 2)

    def _end_pass(self, runner) -> None:
        if self.clock['pass_unscored']:
            runner.logger.warning(
                f"InfoBatch: {self.clock['pass_unscored']} per-sample losses "
                'of this pass were not stored as scores (NaN/inf, or no '
                'valid pixel): those samples keep their previous score.')
        self.ledger['passes_done'] += 1
        self.clock.update(
            pass_index=self.clock['pass_index'] + 1,
            pass_iter=0,
            pass_samples=0,
            pass_unscored=0)
        runner.logger.info(f'InfoBatch savings so far: {self.summary()}')

    def after_train(self, runner) -> None:
        """Log the savings of the whole run.

        Args:
            runner (Runner): The runner of the training process.
        """
        runner.logger.info(f'InfoBatch finished: {self.summary()}')

    # -- savings -----------------------------------------------------------
    def savings(self) -> Dict[str, float]:
        """Forward/backward passes trained against the full-data run.

        Returns:
            dict: ``samples_trained`` (forward/backward passes of all ranks;
            each kept sample once per pass), ``padding_samples`` (the
            repeats that pad the last batches of a multi-process pass, as
            ``DefaultSampler`` pads the full data too), ``samples_full``
            (what the full data takes
            for the same number of passes), ``iters_trained``,
            ``iters_full`` (the full-data iterations covered), and the saved
            fractions ``saved_samples`` and ``saved_iters``.
        """
        passes = self.ledger['passes_done']
        if self.clock['pass_samples']:  # the share of the current pass
            passes += self.clock['pass_samples'] / self.sampler.total_size
        samples_full = round(passes * len(self.table)) if self.table else 0
        result = dict(
            samples_trained=self.ledger['samples_trained'],
            padding_samples=self.ledger['padding_samples'],
            samples_full=samples_full,
            iters_trained=self.ledger['iters_trained'],
            iters_full=self.ledger['iters_full'])
        result['saved_samples'] = (1 - result['samples_trained'] /
                                   samples_full) if samples_full else 0.0
        result['saved_iters'] = (1 - result['iters_trained'] /
                                 result['iters_full']
                                 ) if result['iters_full'] else 0.0
        return result

    def summary(self) -> str:
        """One line on the savings."""
        s = self.savings()
        padding = (f" (+{s['padding_samples']} padding repeats)"
                   if s['padding_samples'] else '')
        return (f"trained {s['samples_trained']} samples{padding} of "
                f"{s['samples_full']} for the full data "
                f"(saved {100 * s['saved_samples']:.1f}%), "
                f"{s['iters_trained']} iterations of {s['iters_full']} "
                f"(saved {100 * s['saved_iters']:.1f}%)")

    # -- helpers -----------------------------------------------------------
    def _gather(self, indices: torch.Tensor, losses: torch.Tensor,
                padding: torch.Tensor):
        """All-gather ``(index, loss, is_padding)`` with one collective.

        Indices stay int64 and the float32 loss bits ride along losslessly
        in the same int64 tensor; short batches are filled with index -1 to
        the loader's batch size.
        """
        if get_world_size() == 1:
            return indices, losses.float(), padding
        bits = losses.float().cpu().contiguous().view(torch.int32).long()
        packed = torch.full((max(self.batch_size, indices.numel()), 3), -1,
                            dtype=torch.long)
        packed[:indices.numel(), 0] = indices
        packed[:indices.numel(), 1] = bits
        packed[:indices.numel(), 2] = padding.long()
        merged = torch.cat(all_gather(packed))
        merged = merged[merged[:, 0] >= 0]
        return (merged[:, 0], merged[:, 1].int().view(torch.float32),
                merged[:, 2].bool())

    @staticmethod
    def _iteration_schedulers(runner) -> List:
        schedulers = runner.param_schedulers
        if schedulers is None:
            return []
        if isinstance(schedulers, dict):
            schedulers = [s for group in schedulers.values() for s in group]
        return [s for s in schedulers if not s.by_epoch]

    # -- checkpoints -------------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Save the scores, the clock, the current plan and the ledger.

        Args:
            runner (Runner): The runner of the training process.
            checkpoint (dict): The checkpoint being saved.
        """
        if self.table is None:  # not training
            return
        checkpoint[CHECKPOINT_KEY] = dict(
            version=STATE_VERSION,
            table=self.table.state_dict(),
            ledger=dict(self.ledger),
            clock=dict(self.clock),
            plan=dict(
                epoch=self.plan.epoch,
                kept_indices=self.plan.kept_indices.clone(),
                weights=self.plan.weights.clone(),
                thresholds=self.plan.thresholds.clone(),
                annealing=self.plan.annealing),
            ratios=list(self.policy.ratios),
            layout=self._layout_state(),
            rng=_rng_state(self.loader))

    def _layout_state(self) -> dict:
        return dict(
            num_samples=len(self.table),
            batch_size=self.loader.batch_size,
            world_size=get_world_size())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the InfoBatch state to restore when resuming.

        Args:
            runner (Runner): The runner of the training process.
            checkpoint (dict): The loaded checkpoint.
        """
        if not runner._resume:
            return  # load_from (fine-tuning): scores start fresh
        state = checkpoint.get(CHECKPOINT_KEY)
        if state is None:
            runner.logger.info('InfoBatch: the checkpoint has no InfoBatch '
                               'state; scores start fresh.')
            return
        self._state_to_restore = state

    def _restore(self, runner) -> Optional[EpochPlan]:
        """Apply a resumed state; return the plan of an interrupted pass."""
        state, self._state_to_restore = self._state_to_restore, None
        if state is None:  # a fresh run, or a checkpoint without InfoBatch
            if self.by_epoch:
                self.clock.update(
                    pass_index=runner.epoch,
                    full_iters=runner.epoch * self.full_pass_len)
            else:
                self.clock['full_iters'] = runner.iter
            return None
        self.table.load_state_dict(state['table'])
        self.ledger.update(state['ledger'])
        self.clock.update(state['clock'])
        if list(state.get('ratios', self.policy.ratios)) != list(
                self.policy.ratios):
            runner.logger.warning(
                f"InfoBatch: resuming with ratio={list(self.policy.ratios)} "
                f"where the checkpoint used {state['ratios']}: the scores "
                'carry over, the new ratio applies from the next pass on.')
        mid_pass = bool(self.clock['pass_iter'])
        # an iteration checkpoint taken at the last iteration of an epoch:
        # MMEngine runs that epoch again; it is made empty instead
        repeat_epoch = (self.by_epoch and not mid_pass
                        and self.clock['pass_index'] == runner.epoch + 1)
        if (mid_pass or repeat_epoch) and \
                state.get('layout') != self._layout_state():
            runner.logger.warning(
                'InfoBatch: the batch size or number of processes changed '
                f"since the checkpoint ({state.get('layout')} -> "
                f'{self._layout_state()}); the interrupted pass cannot go '
                'on where it stopped, so it starts again, pruned with the '
                'restored scores.')
            self.clock.update(pass_iter=0, pass_samples=0, pass_unscored=0)
            mid_pass = repeat_epoch = False
        rng = state.get('rng')
        diff_rank_seed = runner._randomness_cfg.get('diff_rank_seed', False)
        same_streams = get_world_size() == 1 or not diff_rank_seed
        if rng is not None and same_streams:
            random.setstate(rng['python'])
            np.random.set_state(rng['numpy'])
            if rng.get('loader') is not None and self.loader.generator:
                self.loader.generator.set_state(rng['loader'])
            if mid_pass:  # after the resumed pass's iterator is made
                self._torch_rng_to_restore = rng
            elif repeat_epoch:  # before the next pass's iterator is made
                self._torch_rng_before_next_pass = rng
            else:
                _set_torch_rng(rng)
        self._skip_whole_pass = repeat_epoch
        if not (mid_pass or repeat_epoch):
            return None
        return EpochPlan(**state['plan'])
