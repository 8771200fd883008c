"""The run's savings to MMEngine's message hub and visualizer."""
from typing import Callable

from mmengine.dist import is_main_process
from mmengine.hooks import LoggerHook
from mmengine.visualization import LocalVisBackend, TensorboardVisBackend

from ...core import (PassGeometry, PassPlan, pass_statistics,
                     projected_saving, score_histogram)
from ...mmengine_fields import vis_backends


class SavingsLog:
    """Writes the savings where MMEngine's logger and visualizer read them.

    Per logged iteration: ``train/infobatch_saved`` (fraction saved so far),
    ``train/infobatch_full_iters`` (the schedule clock) and
    ``train/infobatch_samples`` in the message hub, so the ``LoggerHook``'s
    lines carry them. Per pass: the score and plan statistics
    (:func:`~mmib.core.pass_statistics`) as ``infobatch/*`` scalars of the
    visualizer (``scalars.json``, TensorBoard, ...), and the score
    histogram of the pass: a histogram ``infobatch/scores`` in TensorBoard,
    the bin counts ``infobatch/score_hist`` and their ``infobatch/
    score_hist_range`` (lowest, highest score) in ``scalars.json``; other
    backends get the scalars only.
    """

    def __init__(self) -> None:
        self.interval = 1

    def attach(self, runner) -> None:
        """Follow the runner's ``LoggerHook`` interval."""
        self.interval = next(
            (h.interval for h in runner.hooks if isinstance(h, LoggerHook)),
            1)

    def log_pass(self, runner, table, plan: PassPlan, pass_index: int,
                 clock, ledger, saved: float,
                 geometry: PassGeometry) -> None:
        """The pass's statistics to the visualizer, once per pass.

        Args:
            runner (Runner): The runner.
            table (ScoreTable): The scores.
            plan (PassPlan): The pass's plan.
            pass_index (int): The pass.
            clock (PassClock): The schedule clock.
            ledger (SavingsLedger): The ledger.
            saved (float): Fraction saved so far.
            geometry (PassGeometry): The run's passes.
        """
        if not is_main_process():  # as the visualizer's own add_scalars
            return
        stats = pass_statistics(table, plan)
        stats.update(
            pass_index=pass_index,
            full_iters=clock.full_iters,
            saved_so_far=saved,
            projected_saving=projected_saving(
                ledger.samples_trained, plan.num_kept, len(table),
                pass_index, geometry.num_passes,
                geometry.num_pruning_passes))
        scalars = {f'infobatch/{k}': v for k, v in stats.items()}
        hist = score_histogram(table)
        for backend in vis_backends(runner.visualizer):
            if isinstance(backend, LocalVisBackend) and hist:
                backend.add_scalars(
                    dict(scalars, **{'infobatch/score_hist': hist['counts'],
                                     'infobatch/score_hist_range':
                                     hist['range']}), step=runner.iter)
                continue
            backend.add_scalars(scalars, step=runner.iter)
            if isinstance(backend, TensorboardVisBackend) and hist:
                backend.experiment.add_histogram(
                    'infobatch/scores',
                    table.scores[table.seen].float().numpy(), runner.iter)

    def log_step(self, runner, batch_idx: int, clock, ledger,
                 saved: Callable[[], float], pass_len: int) -> None:
        """The savings and the clock to the message hub, before the
        iterations the LoggerHook logs (it runs before the InfoBatch hook,
        and its history buffers grow with every update): the logged values
        are those at the start of the logged iteration, as its lr.
        ``saved`` (the fraction saved so far) is computed only then."""
        interval = self.interval
        if (batch_idx + 2) % interval and (runner.iter + 2) % interval and \
                clock.pass_iter + 1 != pass_len and interval != 1:
            return
        hub = runner.message_hub
        hub.update_scalar('train/infobatch_saved', saved())
        hub.update_scalar('train/infobatch_full_iters', clock.full_iters)
        hub.update_scalar('train/infobatch_samples',
                          ledger.samples_trained + ledger.padding_samples)
