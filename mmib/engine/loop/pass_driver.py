"""The passes of a training run over its data, one driver per loop kind.

A pass is an epoch of ``EpochBasedTrainLoop``, or one sweep through the data
of ``IterBasedTrainLoop`` (which replaces the ``InfiniteSampler``'s endless
stream). A driver owns the rebuilt training loader and its sampler (it is the
sampler's one writer), the pass geometry (:class:`~mmib.core.PassGeometry`)
and the run's length: it re-estimates ``max_iters`` at each pass,
keeps gradient accumulation in step with it, steps the iteration-based
parameter schedulers as often as the schedule clock advances, and ends an
iteration-based run when the clock has covered the configured iterations. All
writes to MMEngine's loop go through :mod:`mmib.mmengine_fields`.
"""
from typing import Callable, List, Optional

from mmengine.dataset import RepeatDataset
from mmengine.dist import get_world_size
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from ...core import BatchLayout, PassClock, PassGeometry, PassPlan
from .loader import loader_sampler, wrap_train_dataloader
from ...mmengine_fields import set_max_iters, sync_accumulation
from .pass_iterator import PassIterator


class PassDriver:
    """The passes of an epoch-based run (one pass per epoch).

    Args:
        loader (DataLoader): The rebuilt training loader (InfoBatchSampler).
        policy (PassPolicy): The run's policy (``delta``; which passes it
            may shorten, for the run-length estimate).
        target_full_iters (int): Full-data iterations the schedule covers.
    """

    by_epoch = True

    def __init__(self, loader, policy, target_full_iters: int) -> None:
        self.loader = loader
        self.sampler = loader_sampler(loader)
        self.batch_size = loader.batch_size or 1
        # no plan yet: a pass is the full data
        self.geometry = PassGeometry(len(loader), target_full_iters,
                                     policy.pruning.delta)
        # the passes a pruned pass's length is extrapolated to
        self.shortened_passes = policy.shortened_passes(
            self.geometry.num_passes)
        self.layout = None if loader.batch_size is None else BatchLayout(
            batch_size=loader.batch_size,
            world_size=get_world_size(),
            round_up=self.sampler.round_up,
            drop_last=loader.drop_last)
        self.iteration_schedulers: List = []

    @property
    def num_samples(self) -> int:
        """Samples of one pass over the data."""
        return len(self.loader.dataset)

    @property
    def full_run_per_iter(self) -> Optional[int]:
        """Samples a full-data iteration of the stock run trains, where a
        pass's count is not the reference: None here (an epoch trains the
        data set once, its last batch short)."""
        return None

    @property
    def full_run_samples(self) -> float:
        """Samples the full-data run of this schedule trains."""
        per_iter = self.full_run_per_iter
        if per_iter is None:
            return self.num_samples * self.geometry.num_passes
        return self.geometry.target_full_iters * per_iter

    def check_length(self, num_scored: int) -> None:
        """Raise if the data set no longer has the ``num_scored`` samples
        the scores were kept for (per index)."""
        if self.num_samples != num_scored:
            raise RuntimeError(
                'InfoBatch: the training data set changed length from '
                f'{num_scored} to {self.num_samples} samples during '
                'training; its scores are kept per index, so the data set '
                'must keep its length. Use a fixed-length data set.')

    def check_full_pass(self, batch_norm: bool) -> None:
        """Raise, before training, for a training set a full pass cannot
        train: an empty one, or (with BatchNorm) one whose last batch on
        some rank holds a single sample, as ``len % batch == 1`` gives.

        Args:
            batch_norm (bool): Whether the model has BatchNorm layers.
        """
        n = self.num_samples
        if n == 0:
            raise ValueError('InfoBatch: the training data set is empty; '
                             'check train_dataloader.dataset.')
        if batch_norm and self.layout is not None and \
                self.layout.has_batch_of_one(n):
            raise ValueError(
                f'InfoBatch: the training set has {n} samples and batch '
                f'size {self.layout.batch_size} on {self.layout.world_size} '
                'process(es): every full pass ends on a batch of one '
                'sample, which BatchNorm cannot train on (the run would '
                'fail there, with or without InfoBatch). Set '
                'train_dataloader.drop_last=True, or change the batch size '
                'or the data set\'s size.')

    def layout_state(self) -> dict:
        """What a checkpoint records of the batch layout."""
        return dict(num_samples=self.num_samples,
                    batch_size=self.loader.batch_size,
                    world_size=get_world_size())

    def install(self, runner, start_pass: Callable[[int], None],
                first_pass: int, loader_calls_to_skip: int = 0) -> None:
        """Let the loop start passes (epoch-based: ``before_train_epoch``
        calls :meth:`pass_at_epoch_start`) and find the parameter
        schedulers stepped per iteration.

        Args:
            runner (Runner): The runner.
            start_pass (callable): Starts pass ``index``.
            first_pass (int): The first pass of this run.
            loader_calls_to_skip (int): ``next`` calls of a resumed
                iteration-based loop that only skip trained iterations.
        """
        schedulers = runner.param_schedulers or []
        if isinstance(schedulers, dict):
            schedulers = [s for group in schedulers.values() for s in group]
        self.iteration_schedulers = [s for s in schedulers if not s.by_epoch]

    def pass_at_epoch_start(self, runner) -> Optional[int]:
        """The pass to start at ``before_train_epoch`` (None: not there)."""
        return runner.epoch

    def fresh_clock(self, clock: PassClock, runner) -> None:
        """Place the clock of a run without InfoBatch state."""
        clock.pass_index = runner.epoch
        clock.full_iters = runner.epoch * self.geometry.full_pass_len

    def repeats_epoch(self, clock: PassClock, runner) -> bool:
        """Whether MMEngine will run again an epoch the checkpoint had
        finished (an iteration checkpoint at an epoch's last iteration)."""
        return not clock.pass_iter and clock.pass_index == runner.epoch + 1

    def skip_pass(self, plan: Optional[PassPlan]) -> None:
        """Make the sampler yield nothing this pass: it repeats an epoch
        the checkpoint had finished (``plan``: that epoch's)."""
        self._set_samples(plan)
        self.sampler.skip_next(len(self.sampler))

    def load_pass(self, runner, pass_index: int, plan: PassPlan,
                  clock: PassClock, samples_to_skip: int = 0) -> None:
        """Hand the pass's samples to the sampler (leaving out the
        ``samples_to_skip`` a resumed pass trained already), then set the
        pass length and the run's estimated length (exact from the last
        pass on)."""
        self.sampler.set_epoch(pass_index)
        self._set_samples(plan)
        if samples_to_skip:
            self.sampler.skip_next(samples_to_skip)
        self.geometry.pass_len = len(self.loader)
        self._set_run_length(
            runner,
            self._estimate(runner, clock, plan.num_kept < plan.num_samples))

    def _set_samples(self, plan: Optional[PassPlan]) -> None:
        self.sampler.set_kept_indices(
            None if plan is None or plan.num_kept == plan.num_samples else
            plan.kept_indices)

    def _estimate(self, runner, clock: PassClock, pruning: bool) -> int:
        g = self.geometry
        return runner.train_loop.iter + clock.remaining_iters(
            g.pass_len, g.full_pass_len, g.target_full_iters,
            self.shortened_passes, pruning)

    @staticmethod
    def _set_run_length(runner, max_iters: int) -> None:
        set_max_iters(runner, max_iters)
        sync_accumulation(runner, max_iters)

    def after_step(self, runner, clock: PassClock, steps: int) -> None:
        """After each training step: the schedule clock advanced ``steps``
        full-data iterations, ``ParamSchedulerHook`` made one scheduler
        step; make the others. (Epoch-based: the loop ends itself.)"""
        for _ in range(steps - 1):
            for scheduler in self.iteration_schedulers:
                scheduler.step()


class IterPassDriver(PassDriver):
    """The passes of an iteration-based run: sweeps through the data.

    The loop's endless iterator is replaced by a :class:`PassIterator` that
    starts a pass (prunes) before each sweep, and the run ends when the
    schedule clock has covered the config's ``max_iters`` full-data
    iterations: the same passes as the full schedule, fewer iterations.
    """

    by_epoch = False

    @property
    def full_run_per_iter(self) -> Optional[int]:
        """The stock run's endless sampler has no short last batch: every
        iteration trains ``batch_size`` samples on each rank."""
        return self.batch_size * self.sampler.world_size

    def install(self, runner, start_pass: Callable[[int], None],
                first_pass: int, loader_calls_to_skip: int = 0) -> None:
        super().install(runner, start_pass, first_pass)
        runner.train_loop.dataloader_iterator = PassIterator(
            self.loader, start_pass, first_pass=first_pass,
            skip_calls=loader_calls_to_skip)

    def pass_at_epoch_start(self, runner) -> Optional[int]:
        return None

    def fresh_clock(self, clock: PassClock, runner) -> None:
        clock.full_iters = runner.iter

    def repeats_epoch(self, clock: PassClock, runner) -> bool:
        return False

    def _estimate(self, runner, clock: PassClock, pruning: bool) -> int:
        iteration, g = runner.train_loop.iter, self.geometry
        end = clock.end_in_pass(g.target_full_iters, g.pass_len,
                                g.full_pass_len)
        if end is not None:  # the run ends in this pass: exact
            return iteration + end - clock.pass_iter
        # else never below the next iteration: the clock ends the run
        return max(super()._estimate(runner, clock, pruning), iteration + 1)

    def after_step(self, runner, clock: PassClock, steps: int) -> None:
        super().after_step(runner, clock, steps)
        if clock.full_iters >= self.geometry.target_full_iters:
            set_max_iters(runner, runner.iter + 1)  # this was the last
        elif runner.train_loop.max_iters <= runner.iter + 1:
            self._set_run_length(runner, runner.iter + 2)


def build_pass_driver(runner, policy,
                      log: Callable[[str], object]) -> PassDriver:
    """Rebuild the runner's training loader for InfoBatch and return the
    driver of its passes.

    Args:
        runner (Runner): The runner, at ``before_train``.
        policy (PassPolicy): The run's policy (see :class:`PassDriver`).
        log (callable): Takes one line for the log.

    Raises:
        ValueError: For a train loop other than the two MMEngine loops.
    """
    loop = runner.train_loop
    if isinstance(loop, EpochBasedTrainLoop):
        cls = PassDriver
    elif isinstance(loop, IterBasedTrainLoop):
        cls = IterPassDriver
    else:
        raise ValueError(
            'InfoBatchHook supports EpochBasedTrainLoop and '
            f'IterBasedTrainLoop; the config uses {type(loop).__name__}.')
    repeated = loop.dataloader.dataset
    loader = wrap_train_dataloader(loop.dataloader,
                                   own_generator=not cls.by_epoch,
                                   unwrap_repeat=not cls.by_epoch)
    if isinstance(repeated, RepeatDataset) and not cls.by_epoch:
        log(f'InfoBatch: the training set is a RepeatDataset(times='
            f'{repeated.times}); passes go over its {len(loader.dataset)} '
            'samples (each scored once per pass), not over the '
            f'{len(repeated)} copies.')
    loop.dataloader = loader
    target = (loop.max_epochs * len(loader) if cls.by_epoch else
              loop.max_iters)
    return cls(loader, policy, target)
