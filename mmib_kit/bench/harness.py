"""Train benchmark arms through the Runner and record their cost.

Every run is recorded by :class:`RunRecorderHook`, the same way for every
arm: *samples* are the forward/backward passes actually run (the samples of
every training batch), *train wall* is the training loop's time (from
``before_train`` to ``after_train``, validation excluded), and the metric is
the last validation's. Each finished run writes ``result.json`` into its
folder; a run whose result exists is not trained again, so an interrupted
benchmark continues where it stopped (a half-finished run starts over in a
fresh folder; nothing is overwritten).
"""
import json
import logging
import os
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import Runner

from ..analysis import equal_cost_config, shorter_schedule


@HOOKS.register_module()
class RunRecorderHook(Hook):
    """Counts the samples and time a training run really spent.

    Args:
        progress (callable, optional): Called after each epoch (or each
            ``progress_interval`` iterations of an iteration-based run) with
            ``(runner, hook)``.
        progress_interval (int): Iterations between progress calls of an
            iteration-based run. Defaults to 500.
    """

    priority = 'LOWEST'

    def __init__(self,
                 progress: Optional[Callable] = None,
                 progress_interval: int = 500) -> None:
        self.progress = progress
        self.progress_interval = progress_interval
        self.samples = 0
        self.iters = 0
        self.val_seconds = 0.0
        self.train_seconds = 0.0
        self.metrics: Dict[str, float] = {}

    def before_train(self, runner) -> None:
        self._start = time.perf_counter()

    def before_val(self, runner) -> None:
        self._val_start = time.perf_counter()

    def after_val(self, runner) -> None:
        self.val_seconds += time.perf_counter() - self._val_start

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.metrics = dict(metrics or {})

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        samples = data_batch.get('data_samples') if isinstance(
            data_batch, dict) else None
        self.samples += len(samples) if samples is not None else 0
        self.iters += 1
        if (self.progress and not runner.train_loop.__class__.__name__
                .startswith('Epoch') and self.iters %
                self.progress_interval == 0):
            self.progress(runner, self)

    def after_train_epoch(self, runner) -> None:
        if self.progress:
            self.progress(runner, self)

    def after_train(self, runner) -> None:
        self.train_seconds = (time.perf_counter() - self._start -
                              self.val_seconds)


@dataclass(frozen=True)
class Schedule:
    """A training schedule of the benchmark.

    Args:
        name (str): Short name (a folder name).
        length (int): Epochs (or iterations) of the full run.
        num_train (int): Training samples (the first ``num_train``).
        by_epoch (bool): Whether ``length`` counts epochs of an
            ``EpochBasedTrainLoop`` with a warm-up scheduler followed by a
            cosine one (the classification configs), or iterations of an
            ``IterBasedTrainLoop`` with a warm-up followed by a decay that
            ends at the last iteration (the segmentation config).
            Defaults to True.
    """

    name: str
    length: int
    num_train: int
    by_epoch: bool = True

    @property
    def unit(self) -> str:
        """``'epochs'`` or ``'iterations'``."""
        return 'epochs' if self.by_epoch else 'iterations'

    def options(self) -> dict:
        """Config overrides of the benchmark configs for this schedule."""
        n = self.length
        common = {
            'train_cfg.val_interval': n,
            'param_scheduler.1.end': n,
            'default_hooks.checkpoint.interval': n,
            'train_dataloader.dataset.indices': self.num_train,
        }
        if not self.by_epoch:
            return {'train_cfg.max_iters': n, **common}
        return {
            'train_cfg.max_epochs': n,
            'param_scheduler.1.T_max': n - 1,
            **common
        }


@dataclass(frozen=True)
class Arm:
    """One way of training.

    Args:
        name (str): Short name (a folder name).
        label (str): Name in tables.
        hook (dict, optional): ``InfoBatchHook`` options; None trains the
            full data.
        equal_cost_of (str, optional): Name of the InfoBatch arm whose
            same-seed run this arm matches in cost (a shorter full-data
            schedule made by :func:`~mmib_kit.analysis.equal_cost_config`).
        fraction (float, optional): A shorter full-data schedule that
            trains this fraction of the full run's samples
            (:func:`~mmib_kit.analysis.shorter_schedule`), needing no other run:
            ``0.6`` is the equal-cost arm of every ``target_saving=0.4``
            arm.
    """

    name: str
    label: str
    hook: Optional[dict] = None
    equal_cost_of: Optional[str] = None
    extra: dict = field(default_factory=dict)
    fraction: Optional[float] = None


ARMS = {
    arm.name: arm
    for arm in (
        Arm('full', 'full data'),
        Arm('infobatch', 'InfoBatch', dict(ratio=0.5)),
        Arm('shorter', 'full data, equal-cost shorter schedule',
            equal_cost_of='infobatch'),
        Arm('random', 'random pruning, rescaled',
            dict(ratio=0.5, policy='random')),
        Arm('random_norescale', 'random pruning, no rescale',
            dict(ratio=0.5, policy='random', rescale=False)),
        Arm('infobatch_norescale', 'InfoBatch, no rescale',
            dict(ratio=0.5, rescale=False)),
        # the same budget for every policy: 40% of the full run's passes
        Arm('infobatch_t40', 'InfoBatch, target 40%',
            dict(ratio=0.5, target_saving=0.4)),
        Arm('seta_t40', 'SeTa, target 40%',
            dict(ratio=0.3, policy='seta', target_saving=0.4)),
        Arm('soft_random_t40', 'soft random, target 40%',
            dict(ratio=0.5, policy='soft_random', target_saving=0.4)),
        Arm('random_t40', 'random pruning, rescaled, target 40%',
            dict(ratio=0.5, policy='random', target_saving=0.4)),
        Arm('shorter_t40', 'full data, shorter schedule, 40% saved',
            equal_cost_of='infobatch_t40'),
        # the authors' quantile bands (their mmseg fork), scaled to 40%
        Arm('infobatch_quantile_t40', 'InfoBatch quantile bands, target 40%',
            dict(threshold='quantile', quantiles=[0.2, 0.85],
                 ratio=[0.75, 0.5], target_saving=0.4)),
        # the methods that claim to close InfoBatch's gap (issue 29)
        Arm('orderdp_t40', 'OrderDP, target 40%',
            dict(ratio=0.5, policy='orderdp', target_saving=0.4)),
        Arm('repb_t40', 'RePB, target 40%',
            dict(ratio=0.5, policy='repb', target_saving=0.4)),
        Arm('infobatch_bls_t40', 'InfoBatch, batch scores (BLS), target 40%',
            dict(ratio=0.5, scores='batch', target_saving=0.4)),
        Arm('shorter_60', 'full data, shorter schedule, 60% of the samples',
            fraction=0.6),
        # the detection measurement (issue 32): 30% saved
        Arm('infobatch_t30', 'InfoBatch, target 30%',
            dict(ratio=0.5, target_saving=0.3)),
        Arm('shorter_70', 'full data, shorter schedule, 70% of the samples',
            fraction=0.7),
    )
}


def _run_dir(root: str, schedule: Schedule, arm: Arm, seed: int) -> str:
    return osp.join(root, schedule.name, f'{arm.name}_seed{seed}')


def load_result(root: str, schedule: Schedule, arm: Arm,
                seed: int) -> Optional[dict]:
    """The recorded result of a finished run, or None."""
    path = osp.join(_run_dir(root, schedule, arm, seed), 'result.json')
    if not osp.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def _attempt_dir(run_dir: str) -> str:
    """A fresh folder for this attempt at the run (earlier attempts kept)."""
    attempt = 0
    while osp.exists(osp.join(run_dir, f'attempt{attempt}')):
        attempt += 1
    return osp.join(run_dir, f'attempt{attempt}')


def _build_config(config: str, schedule: Schedule, arm: Arm, seed: int,
                  root: str, work_dir: str, registry: Dict[str, Arm]
                  ) -> Config:
    if arm.equal_cost_of is not None:
        source = load_result(root, schedule, registry[arm.equal_cost_of],
                             seed)
        if source is None:
            raise RuntimeError(
                f'the equal-cost arm {arm.name!r} needs the finished '
                f'{arm.equal_cost_of!r} run of seed {seed} first')
        cfg, _ = equal_cost_config(source['work_dir'])
    elif arm.fraction is not None:
        cfg = Config.fromfile(config)
        cfg.merge_from_dict(schedule.options())
        cfg.custom_hooks = []
        per_iter = cfg.train_dataloader.batch_size
        if schedule.by_epoch:  # the last batch of an epoch may be short
            full_iters = schedule.length * -(-schedule.num_train // per_iter)
            full_samples = schedule.length * schedule.num_train
        else:
            full_iters = schedule.length
            full_samples = full_iters * per_iter
        cfg, _ = shorter_schedule(cfg, round(arm.fraction * full_samples),
                                  per_iter, full_iters)
    else:
        cfg = Config.fromfile(config)
        cfg.merge_from_dict(schedule.options())
        cfg.custom_hooks = ([dict(type='InfoBatchHook', **arm.hook)]
                            if arm.hook is not None else [])
    cfg.merge_from_dict(arm.extra)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'{arm.name}_seed{seed}'
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.log_level = 'WARNING'  # console; the log file gets INFO at train
    return cfg


def _log_training_to_file(logger: logging.Logger) -> None:
    """The run's training and savings lines (INFO) into its log file; the
    console keeps warnings only (the benchmark prints its own progress;
    the runner's set-up lines stay out of both)."""
    logger.setLevel(logging.INFO)
    for handler in logger.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.setLevel(logging.INFO)


def run_one(config: str,
            schedule: Schedule,
            arm: Arm,
            seed: int,
            root: str,
            progress: Optional[Callable] = None,
            registry: Optional[Dict[str, Arm]] = None,
            metric: str = 'accuracy/top1',
            metric_scale: float = 1.0) -> dict:
    """Train one arm for one seed (or return its recorded result).

    Args:
        config (str): The full-data config of the benchmark.
        schedule (Schedule): Epochs and training-set size.
        arm (Arm): What to train.
        seed (int): The run's seed.
        root (str): The benchmark's output folder.
        progress (callable, optional): See :class:`RunRecorderHook`.
        registry (dict, optional): Arms by name, for an equal-cost arm's
            source. Defaults to :data:`ARMS`.
        metric (str): The validation metric recorded as the run's
            ``score``. Defaults to ``'accuracy/top1'``.
        metric_scale (float): The score is the metric times this (100 for
            a metric in [0, 1], such as COCO's mAP, to read in points).
            Defaults to 1.

    Returns:
        dict: ``schedule``, ``arm``, ``seed``, ``metric``, ``score``,
        ``samples``, ``iters``, ``train_seconds``, ``work_dir``.
    """
    done = load_result(root, schedule, arm, seed)
    if done is not None:
        return done
    run_dir = _run_dir(root, schedule, arm, seed)
    work_dir = _attempt_dir(run_dir)
    cfg = _build_config(config, schedule, arm, seed, root, work_dir,
                        registry or ARMS)
    runner = Runner.from_cfg(cfg)
    _log_training_to_file(runner.logger)
    recorder = RunRecorderHook(progress)
    runner.register_hook(recorder)
    runner.train()
    result = dict(
        schedule=schedule.name,
        length=schedule.length,
        unit=schedule.unit,
        num_train=schedule.num_train,
        arm=arm.name,
        seed=seed,
        metric=metric,
        score=float(recorder.metrics[metric]) * metric_scale,
        samples=recorder.samples,
        iters=recorder.iters,
        train_seconds=recorder.train_seconds,
        work_dir=work_dir)
    partial = osp.join(run_dir, 'result.json.part')
    with open(partial, 'w') as f:
        json.dump(result, f, indent=1)
    os.replace(partial, osp.join(run_dir, 'result.json'))
    return result


def run_arms(config: str,
             schedule: Schedule,
             arms: Sequence[str],
             seeds: Sequence[int],
             root: str,
             log: Callable[[str], None] = print,
             registry: Optional[Dict[str, Arm]] = None,
             metric: str = 'accuracy/top1',
             metric_scale: float = 1.0) -> List[dict]:
    """Train every arm for every seed, seed by seed (arms interleaved, so
    a drift of a shared machine hits all arms alike).

    Args:
        config (str): The full-data config of the benchmark.
        schedule (Schedule): Epochs and training-set size.
        arms (Sequence[str]): Names in :data:`ARMS`; an equal-cost arm runs
            after the arm it matches.
        seeds (Sequence[int]): Seeds.
        root (str): Output folder (resume-safe, see the module doc).
        log (callable): Where progress lines go.
        registry (dict, optional): The arms by name. Defaults to
            :data:`ARMS`.
        metric (str): See :func:`run_one`.
        metric_scale (float): See :func:`run_one`.

    Returns:
        list[dict]: One result per run.
    """
    registry = registry or ARMS
    unknown = [a for a in arms if a not in registry]
    if unknown:
        raise ValueError(f'unknown arms {unknown}; known: {list(registry)}')
    order = sorted(arms, key=lambda a: registry[a].equal_cost_of is not None)
    jobs = [(seed, registry[a]) for seed in seeds for a in order]
    results, start = [], time.perf_counter()
    trained = 0
    for k, (seed, arm) in enumerate(jobs, 1):
        head = (f'[{schedule.name} run {k}/{len(jobs)}] {arm.label}, '
                f'seed {seed}')
        if load_result(root, schedule, arm, seed) is None:
            def progress(runner, recorder, head=head):
                if runner.train_loop.__class__.__name__.startswith('Epoch'):
                    # after_train_epoch: runner.epoch is still the 0-based
                    # epoch just trained
                    done = runner.epoch + 1
                    step = max(1, runner.max_epochs // 5)
                    if done % step and done != 1:
                        return
                    where = f'epoch {done}/{runner.max_epochs}'
                else:
                    where = f'iteration {runner.iter}/{runner.max_iters}'
                elapsed = time.perf_counter() - start
                log(f'{head}: {where}, {elapsed / 60:.1f} min elapsed')
            result = run_one(config, schedule, arm, seed, root, progress,
                             registry, metric, metric_scale)
            trained += 1
            elapsed = time.perf_counter() - start
            eta = elapsed / trained * (len(jobs) - k)
            log(f"{head}: {metric} {result['score']:.2f}, "
                f"{result['samples']:,} samples, "
                f"{result['train_seconds']:.1f} s training; "
                f'ETA of this schedule {eta / 60:.1f} min')
        else:
            result = run_one(config, schedule, arm, seed, root,
                             registry=registry, metric=metric,
                             metric_scale=metric_scale)
            log(f'{head}: recorded earlier, not trained again')
        results.append(result)
    return results
