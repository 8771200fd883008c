"""``InfoBatchHook``: InfoBatch's unbiased dynamic data pruning in MMEngine.

The hook only routes MMEngine's events: its options are one checked value
(:class:`~mmib.core.InfoBatchOptions`), a resumed checkpoint is decoded by
:mod:`mmib.checkpoint`, and everything of a training run is owned by one
:class:`~mmib.engine.run.PrunedTraining`, built at ``before_train``.
"""
import logging
from typing import Optional, Sequence, Union

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS

from ...checkpoint import (ScopedCheckpointTrust, check_resume_fields,
                           read_checkpoint, write_checkpoint)
from ...core import InfoBatchOptions, SavingsLedger
from ...mmengine_fields import is_resuming
from ..run import PrunedTraining

DATA_BATCH = Optional[Union[dict, tuple, list]]


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
            ``'infobatch'``, ``'random'``, ``'seta'``, ``'soft_random'``,
            ``'orderdp'``, ``'repb'`` or a user's
            (:func:`mmib.core.register_policy`).
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
        self.options = InfoBatchOptions(
            ratio=ratio, delta=delta, threshold=threshold,
            quantiles=quantiles, score_momentum=score_momentum, seed=seed,
            rescale=rescale, policy=policy,
            unweighted_losses=unweighted_losses,
            policy_options=policy_options, target_saving=target_saving,
            scores=scores)
        if self.options.weight_warning is not None:
            print_log(self.options.weight_warning, logger='current',
                      level=logging.WARNING)
        self.trust = ScopedCheckpointTrust()
        # checkpoint['infobatch'] of a resume, from load to before_train
        self.resumed_state: Optional[dict] = None
        # the current train(), from before_train on
        self.training: Optional[PrunedTraining] = None

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
        resuming = is_resuming(runner)
        if resuming:  # MMEngine's part, before the runner reads it
            check_resume_fields(checkpoint, runner)
        self.resumed_state = read_checkpoint(checkpoint, resuming,
                                             runner.logger.info)

    def before_train(self, runner) -> None:
        """Build the run (loader, loss hooks, restored state): after the
        runner's load (``before_run`` is too early, and ``runner.val()`` /
        ``test()`` call it too).

        Args:
            runner (Runner): The runner of the training process.
        """
        self.trust.exit()
        if self.training is not None:  # a second train()
            self.training.release_model()
        state, self.resumed_state = self.resumed_state, None
        self.training = PrunedTraining(runner, self.options, state)

    def before_train_epoch(self, runner) -> None:
        """Start the epoch's pass (epoch-based loops)."""
        self.training.start_epoch()

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        """Hand the batch's weights to the loss adapters."""
        self.training.before_step(data_batch)

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        """Keep the batch's losses as scores; advance clock and ledger."""
        self.training.after_step(batch_idx)

    def after_train(self, runner) -> None:
        """Log the savings of the whole run; leave the model as it was."""
        self.training.finish()

    def before_val(self, runner) -> None:
        """Leave the model as it was after a training step that raised
        (validation inside training runs between steps, when nothing is
        recorded: a step still recording here never finished)."""
        if self.training is not None and self.training.recording:
            self.training.release_model()

    before_test = before_val

    def after_run(self, runner) -> None:
        """Close the checkpoint trust scope if no load happened."""
        self.trust.exit()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Write the message hub as plain data and add the run's snapshot,
        so the file loads with torch's default allow-list."""
        write_checkpoint(checkpoint, None if self.training is None else
                         self.training.snapshot())

    def savings(self) -> dict:
        """Forward/backward passes trained against the full-data run
        (:meth:`mmib.core.SavingsLedger.savings`)."""
        if self.training is None:
            return SavingsLedger().savings(0)
        return self.training.savings()

    def summary(self) -> str:
        """One line on the savings (and the target, with a budget)."""
        return '' if self.training is None else self.training.summary()
