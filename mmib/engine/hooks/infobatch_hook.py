"""``InfoBatchHook``: InfoBatch's unbiased dynamic data pruning in MMEngine."""
import math
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.dist import all_gather, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop
from mmengine.structures import BaseDataElement

from ...core import (BatchLayout, EpochPlan, PruningPolicy, ScoreTable,
                     num_pruning_epochs, plan_epoch, scheduler_steps_for_iter)
from ...datasets import INDEX_KEY
from ..infobatch_loader import loader_sampler, wrap_train_dataloader
from ..per_sample_loss import PerSampleLossRecorder

DATA_BATCH = Optional[Union[dict, tuple, list]]
CHECKPOINT_KEY = 'infobatch'
STATE_VERSION = 1


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
        'InfoBatchDataset (the hook does this at before_run); if a custom '
        'collate function drops metainfo, keep data_samples intact.')


@HOOKS.register_module()
class InfoBatchHook(Hook):
    """Train on fewer samples with InfoBatch's unbiased dynamic pruning.

    Add one line to a config::

        custom_hooks = [dict(type='InfoBatchHook', ratio=0.5)]

    Before training the hook wraps the training data set in
    :class:`~mmib.datasets.InfoBatchDataset` and replaces the sampler with
    :class:`~mmib.datasets.InfoBatchSampler` (``DefaultSampler`` settings
    carry over), and hooks the model's loss modules so each step records
    per-sample losses and weights them (see
    :class:`~mmib.engine.PerSampleLossRecorder`). Before each epoch it prunes
    (:func:`~mmib.core.plan_epoch`), so the epoch trains only the kept
    samples; after each step it stores the batch's losses as scores (all
    ranks gather them) and advances iteration-based parameter schedules so
    that they still cover their full shape over the shortened epochs.

    Args:
        ratio (float or Sequence[float]): Fraction of the below-threshold
            samples pruned each epoch, in ``[0, 1)``; kept ones get weight
            ``1 / (1 - ratio)``. A list with ``threshold='quantile'`` gives
            one ratio per band. Defaults to 0.5.
        delta (float): Fraction of the epochs that prune, in ``(0, 1]``; the
            last ``1 - delta`` train on all samples (annealing).
            Defaults to 0.875.
        threshold (str): ``'mean'`` (the paper) or ``'quantile'``.
            Defaults to ``'mean'``.
        quantiles (Sequence[float], optional): Band edges as quantiles of the
            scores for ``threshold='quantile'``. Defaults to None.
        seed (int, optional): Seed of the pruning draws; None uses the
            runner's seed. Defaults to None.
    """

    # after ParamSchedulerHook (LOW, 70): the clock adds its scheduler steps
    # after that hook's one; before CheckpointHook (VERY_LOW, 90): a
    # checkpoint holds the scores of the iteration it is saved at.
    priority = 75

    def __init__(self,
                 ratio: Union[float, Sequence[float]] = 0.5,
                 delta: float = 0.875,
                 threshold: str = 'mean',
                 quantiles: Optional[Sequence[float]] = None,
                 seed: Optional[int] = None) -> None:
        ratios = (tuple(ratio) if isinstance(ratio, (list, tuple)) else
                  (ratio, ))
        self.policy = PruningPolicy(
            ratios=ratios,
            delta=delta,
            threshold=threshold,
            quantiles=tuple(quantiles or ()))
        self.seed = seed
        self.table: Optional[ScoreTable] = None
        self.plan: Optional[EpochPlan] = None
        self.recorder: Optional[PerSampleLossRecorder] = None
        self.ledger = dict(
            samples_trained=0, iters_trained=0, epochs_done=0,
            nonfinite_losses=0)
        self._batch_indices: Optional[torch.Tensor] = None
        self._state_to_restore: Optional[dict] = None

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
        if not isinstance(loop, EpochBasedTrainLoop):
            raise ValueError(
                'InfoBatchHook supports epoch-based training (train_cfg='
                "dict(by_epoch=True, ...)); the config's train loop is "
                f'{type(loop).__name__}.')
        loop.dataloader = wrap_train_dataloader(loop.dataloader)
        self.sampler = loader_sampler(loop.dataloader)
        self.table = ScoreTable(len(loop.dataloader.dataset))
        self.num_epochs = loop.max_epochs
        self.full_epoch_len = len(loop.dataloader)
        self.epoch_len = self.full_epoch_len
        self.batch_size = loop.dataloader.batch_size or 1
        self.layout = None if loop.dataloader.batch_size is None else \
            BatchLayout(
                batch_size=loop.dataloader.batch_size,
                world_size=get_world_size(),
                round_up=self.sampler.round_up,
                drop_last=loop.dataloader.drop_last)
        if self.seed is None:
            self.seed = runner.seed
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self.recorder = PerSampleLossRecorder(model)
        if self._state_to_restore is not None:
            self.table.load_state_dict(self._state_to_restore['table'])
            self.ledger.update(self._state_to_restore['ledger'])
            self._state_to_restore = None
        runner.logger.info(
            f'InfoBatch: {len(self.table)} training samples, '
            f'{self._describe_policy()}, pruning in epochs 1-'
            f'{num_pruning_epochs(self.num_epochs, self.policy.delta)} of '
            f'{self.num_epochs}; per-sample losses from '
            f'{self.recorder.module_names}.')

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

    # -- epochs ------------------------------------------------------------
    def before_train_epoch(self, runner) -> None:
        """Prune: choose the samples of this epoch and their weights.

        Args:
            runner (Runner): The runner of the training process.
        """
        plan = plan_epoch(self.table, self.policy, runner.epoch,
                          self.num_epochs, self.seed, self.layout)
        self.plan = plan
        self._epoch_samples = 0
        full = plan.num_kept == plan.num_samples
        self.sampler.set_kept_indices(None if full else plan.kept_indices)
        self.epoch_len = len(runner.train_dataloader)
        self._update_max_iters(runner)
        if plan.annealing:
            what = 'all samples (annealing)'
        elif full:
            what = 'all samples (no scores yet)' if not bool(
                self.table.seen.any()) else 'all samples'
        else:
            what = (f'{plan.num_kept}/{plan.num_samples} samples, '
                    f'{plan.num_pruned} pruned below thresholds '
                    f'{[round(t, 6) for t in plan.thresholds.tolist()]}')
        runner.logger.info(
            f'InfoBatch epoch {runner.epoch + 1}/{self.num_epochs}: training '
            f'{what} in {self.epoch_len} iterations '
            f'(full data: {self.full_epoch_len}).')

    def _update_max_iters(self, runner) -> None:
        """Estimate the run's iterations; exact from the last epoch on."""
        epoch = runner.epoch
        pruning_left = max(
            0,
            num_pruning_epochs(self.num_epochs, self.policy.delta) -
            (epoch + 1))
        full_left = self.num_epochs - epoch - 1 - pruning_left
        pruned_len = (self.epoch_len
                      if self.plan.num_kept < self.plan.num_samples else
                      self.full_epoch_len)
        max_iters = (
            runner.iter + self.epoch_len + pruning_left * pruned_len +
            full_left * self.full_epoch_len)
        runner.train_loop._max_iters = max_iters
        runner.message_hub.update_info('max_iters', max_iters)

    def after_train_epoch(self, runner) -> None:
        """Log what the epoch trained and the savings so far.

        Args:
            runner (Runner): The runner of the training process.
        """
        self.ledger['epochs_done'] += 1
        if self.ledger['nonfinite_losses']:
            runner.logger.warning(
                f"InfoBatch: {self.ledger['nonfinite_losses']} non-finite "
                'per-sample losses so far were not stored as scores.')
        runner.logger.info(f'InfoBatch savings so far: {self.summary()}')

    def after_train(self, runner) -> None:
        """Log the savings of the whole run.

        Args:
            runner (Runner): The runner of the training process.
        """
        runner.logger.info(f'InfoBatch finished: {self.summary()}')

    def savings(self) -> Dict[str, float]:
        """Forward/backward passes trained against the full-data run.

        Returns:
            dict: ``samples_trained`` (forward/backward passes, all ranks,
            padding included), ``samples_full`` (epochs done x data set
            size), ``iters_trained``, ``iters_full``, and the saved
            fractions ``saved_samples`` and ``saved_iters``.
        """
        epochs = self.ledger['epochs_done']
        samples_full = epochs * len(self.table) if self.table else 0
        iters_full = epochs * self.full_epoch_len
        result = dict(
            samples_trained=self.ledger['samples_trained'],
            samples_full=samples_full,
            iters_trained=self.ledger['iters_trained'],
            iters_full=iters_full)
        result['saved_samples'] = (1 - result['samples_trained'] /
                                   samples_full) if samples_full else 0.0
        result['saved_iters'] = (1 - result['iters_trained'] /
                                 iters_full) if iters_full else 0.0
        return result

    def summary(self) -> str:
        """One line on the savings."""
        s = self.savings()
        return (f"trained {s['samples_trained']} samples of "
                f"{s['samples_full']} for the full data "
                f"(saved {100 * s['saved_samples']:.1f}%), "
                f"{s['iters_trained']} iterations of {s['iters_full']} "
                f"(saved {100 * s['saved_iters']:.1f}%)")

    # -- iterations --------------------------------------------------------
    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        """Hand the batch's weights to the loss hooks.

        Args:
            runner (Runner): The runner of the training process.
            batch_idx (int): Index of the batch in the epoch.
            data_batch (dict): The batch from the data loader.
        """
        indices = batch_sample_indices(data_batch)
        self._batch_indices = indices
        self.recorder.start_step(self.plan.weights[indices])

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        """Store the batch's losses as scores and advance the schedules.

        Args:
            runner (Runner): The runner of the training process.
            batch_idx (int): Index of the batch in the epoch.
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
        indices, losses = self._gather(self._batch_indices, losses)
        self.ledger['nonfinite_losses'] += self.table.update(indices, losses)
        self.ledger['samples_trained'] += indices.numel()
        self.ledger['iters_trained'] += 1
        self._epoch_samples += indices.numel()
        # full-data passes for the same progress: whole epochs, plus the
        # done share of this epoch's (padded) samples
        done = (self.ledger['epochs_done'] +
                self._epoch_samples / self.sampler.total_size)
        runner.message_hub.update_scalar(
            'train/infobatch_saved',
            1 - self.ledger['samples_trained'] / (done * len(self.table)))
        extra = scheduler_steps_for_iter(batch_idx, self.epoch_len,
                                         self.full_epoch_len) - 1
        for _ in range(extra):
            for scheduler in self._iteration_schedulers(runner):
                scheduler.step()

    def _gather(self, indices: torch.Tensor, losses: torch.Tensor):
        """All-gather ``(index, loss)`` pairs with one integer collective.

        Indices stay int64 and the float32 loss bits ride along losslessly;
        short batches are padded with index -1 to the loader's batch size.
        """
        if get_world_size() == 1:
            return indices, losses
        bits = losses.float().cpu().contiguous().view(torch.int32).long()
        packed = torch.full((max(self.batch_size, indices.numel()), 2), -1,
                            dtype=torch.long)
        packed[:indices.numel(), 0] = indices
        packed[:indices.numel(), 1] = bits
        merged = torch.cat(all_gather(packed))
        merged = merged[merged[:, 0] >= 0]
        return merged[:, 0], merged[:, 1].int().view(torch.float32)

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
        """Save the scores and the savings ledger.

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
            ratios=list(self.policy.ratios))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the scores and the ledger to restore when resuming.

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
