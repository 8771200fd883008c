"""A probe hook for the subprocess tests (imported via custom_imports).

Each rank saves, per pass (epoch), the InfoBatch plan's kept indices, the
indices it trained, the score table after the pass and the savings ledger,
to ``{work_dir}/probe_rank{rank}.pt``. Works for epoch- and iteration-based
loops (it follows the InfoBatch hook's pass clock).
"""
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from mmib.datasets import INDEX_KEY


@HOOKS.register_module(force=True)
class InfoBatchProbeHook(Hook):
    priority = 'LOWEST'

    def before_run(self, runner):
        self.epochs = []
        self.infobatch = next(h for h in runner.hooks
                              if type(h).__name__ == 'InfoBatchHook')

    def _new_pass(self, pass_index):
        self.epochs.append(
            dict(
                epoch=pass_index,
                kept=self.infobatch.training.run.plan.kept_indices.clone(),
                trained=[],
                losses=[]))

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        pass_index = self.infobatch.training.run.clock.pass_index
        if not self.epochs or self.epochs[-1]['epoch'] != pass_index:
            self._new_pass(pass_index)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        record = self.epochs[-1]
        record['trained'] += [
            s.metainfo[INDEX_KEY] for s in data_batch['data_samples']
        ]
        record['losses'].append(float(outputs['loss'].detach()))

        if self.infobatch.training.run.clock.pass_iter == 0:  # the pass just ended
            record['scores'] = self.infobatch.training.run.table.scores.clone()
            record['seen'] = self.infobatch.training.run.table.seen.clone()
            record['ledger'] = self.infobatch.training.run.ledger.state_dict()

    def after_train(self, runner):
        torch.save(
            dict(
                epochs=self.epochs,
                savings=self.infobatch.savings(),
                runner=type(runner).__name__,
                iters=runner.iter,
                max_iters=runner.max_iters),
            f'{runner.work_dir}/probe_rank{get_rank()}.pt')
