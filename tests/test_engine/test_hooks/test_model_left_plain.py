"""The user's model after InfoBatch: no hook of mmib's left on it, after a
finished training and after one that raised mid-step."""
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import Runner

from conftest import DEMO_FULL, demo_config


@HOOKS.register_module(force=True)
class RaiseAtIterHook(Hook):
    """Raises inside the training step (after InfoBatch started it)."""

    priority = 'LOWEST'

    def __init__(self, at: int = 2) -> None:
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at:
            raise RuntimeError('stop here')


def loss_modules(model):
    return [m for n, m in model.named_modules() if n.endswith('loss_module')]


def hooks_of(model) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks)
               for m in model.modules())


def with_validation(cfg):
    full = Config.fromfile(DEMO_FULL)
    cfg.val_dataloader = full.val_dataloader
    cfg.val_dataloader.dataset.indices = 64
    cfg.val_evaluator, cfg.val_cfg = full.val_evaluator, full.val_cfg
    return cfg


def test_finished_training_leaves_no_hook_and_a_second_train_works(
        work_dir):
    cfg = with_validation(
        demo_config(work_dir, epochs=2, num_samples=64,
                    infobatch=dict(ratio=0.5)))
    runner = Runner.from_cfg(cfg)
    before = hooks_of(runner.model)
    (module, ) = loss_modules(runner.model)
    runner.train()
    assert hooks_of(runner.model) == before
    assert module.reduction == 'mean'
    plain = runner.val()
    # a second train() installs and removes its hooks again
    runner.train_loop._max_epochs = 3
    runner.train()
    assert hooks_of(runner.model) == before
    assert runner.val().keys() == plain.keys()


def test_a_step_that_raised_leaves_the_model_plain_for_val(work_dir):
    cfg = with_validation(
        demo_config(work_dir, epochs=2, num_samples=64,
                    infobatch=dict(ratio=0.5)))
    cfg.custom_hooks.append(dict(type='RaiseAtIterHook', at=2))
    runner = Runner.from_cfg(cfg)
    before = hooks_of(runner.model)
    with pytest.raises(RuntimeError, match='stop here'):
        runner.train()
    assert hooks_of(runner.model) > before  # the step never finished
    metrics = runner.val()
    assert hooks_of(runner.model) == before
    assert 'accuracy/top1' in metrics
    (module, ) = loss_modules(runner.model)
    assert module.reduction == 'mean'
    data = next(iter(runner.val_dataloader))
    data = runner.model.data_preprocessor(data, True)
    losses = runner.model(**data, mode='loss')
    assert losses['loss'].dim() == 0 and torch.isfinite(losses['loss'])
