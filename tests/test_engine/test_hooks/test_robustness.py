"""AMP (bf16 autocast on CPU), gradient accumulation, bad values."""
from contextlib import contextmanager

import pytest
import torch
from conftest import demo_config, get_hook, run
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper
from mmengine.registry import HOOKS, OPTIM_WRAPPERS
from mmengine.runner import Runner

from mmib_kit.datasets import DigitsDataset


@OPTIM_WRAPPERS.register_module(force=True)
class CpuBf16OptimWrapper(OptimWrapper):
    """MMEngine's OptimWrapper with bf16 autocast on the CPU.

    ``AmpOptimWrapper`` needs CUDA; this runs the same autocast context
    (as AmpOptimWrapper does for bf16, without loss scaling) on the CPU.
    """

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(
                'cpu', dtype=torch.bfloat16):
            yield


def test_bf16_autocast_keeps_float32_scores_and_the_model_loss(work_dir):
    plain = demo_config(work_dir + '/plain', epochs=2)
    plain.optim_wrapper.type = 'CpuBf16OptimWrapper'
    ratio0 = demo_config(work_dir + '/ratio0', epochs=2,
                         infobatch=dict(ratio=0.0))
    ratio0.optim_wrapper.type = 'CpuBf16OptimWrapper'
    pruned = demo_config(work_dir + '/pruned', epochs=3,
                         infobatch=dict(ratio=0.5, delta=1.0))
    pruned.optim_wrapper.type = 'CpuBf16OptimWrapper'
    a = get_hook(run(plain), 'RecordingHook').records
    b = get_hook(run(ratio0), 'RecordingHook').records
    torch.testing.assert_close(
        torch.tensor([r['loss'] for r in b]),
        torch.tensor([r['loss'] for r in a]), rtol=1e-3, atol=1e-4)
    hook = get_hook(run(pruned), 'InfoBatchHook')
    assert hook.training.run.table.scores.dtype == torch.float32
    assert bool(torch.isfinite(hook.training.run.table.scores).all())
    assert hook.training.run.table.scores.unique().numel() > 200  # bf16 has ~256 levels
    assert hook.savings()['saved_samples'] > 0


@HOOKS.register_module(force=True)
class CountOptimizerSteps(Hook):

    def before_train(self, runner):
        self.steps = 0
        optimizer = runner.optim_wrapper.optimizer
        step = optimizer.step

        def counted(*args, **kwargs):
            self.steps += 1
            return step(*args, **kwargs)

        optimizer.step = counted


@pytest.mark.parametrize('iteration_based', [False, True])
def test_gradient_accumulation_steps_on_the_shortened_run(
        work_dir, iteration_based):
    from conftest import iter_config
    if iteration_based:
        cfg = iter_config(work_dir, passes=4,
                          infobatch=dict(ratio=0.5, delta=1.0))
    else:
        cfg = demo_config(work_dir, epochs=4,
                          infobatch=dict(ratio=0.5, delta=1.0))
    cfg.optim_wrapper.accumulative_counts = 3
    cfg.custom_hooks.append(dict(type='CountOptimizerSteps'))
    runner = run(cfg)
    iters = runner.iter
    assert iters < runner.train_loop.max_iters + 1
    assert runner.optim_wrapper._max_counts == iters
    # every full group of 3 and the last, partial group step once
    steps = get_hook(runner, 'CountOptimizerSteps').steps
    assert steps == iters // 3 + (1 if iters % 3 else 0)


class ShrinkingDigits(DigitsDataset):
    shrunk = False

    def __len__(self):
        return super().__len__() - (10 if ShrinkingDigits.shrunk else 0)


@HOOKS.register_module(force=True)
class ShrinkAfterFirstEpoch(Hook):

    def after_train_epoch(self, runner):
        ShrinkingDigits.shrunk = True


def test_data_set_changing_length_is_an_error(work_dir):
    from mmengine.registry import DATASETS
    DATASETS.register_module(module=ShrinkingDigits, force=True)
    ShrinkingDigits.shrunk = False
    cfg = demo_config(work_dir, epochs=3, infobatch=dict(ratio=0.5))
    cfg.train_dataloader.dataset.type = 'ShrinkingDigits'
    cfg.custom_hooks.append(dict(type='ShrinkAfterFirstEpoch'))
    runner = Runner.from_cfg(cfg)
    try:
        with pytest.raises(RuntimeError, match='changed length from 256'):
            runner.train()
    finally:
        ShrinkingDigits.shrunk = False


def test_score_momentum_outside_range_fails_at_build(work_dir):
    cfg = demo_config(work_dir, infobatch=dict(score_momentum=1.5))
    with pytest.raises(ValueError, match='score_momentum=1.5'):
        Runner.from_cfg(cfg)


@pytest.mark.parametrize('num_samples', [1, 33])
def test_a_training_set_ending_on_a_batch_of_one_is_named(tmp_path,
                                                          num_samples):
    """BatchNorm cannot train a one-sample batch: 1 or 33 samples in
    batches of 32 are named before the first step, with the way out."""
    cfg = demo_config(str(tmp_path), epochs=2, num_samples=num_samples,
                      infobatch=dict(ratio=0.5))
    with pytest.raises(ValueError, match=rf'has {num_samples} samples and '
                       r'batch size 32 .*drop_last=True'):
        run(cfg)
    cfg.train_dataloader.drop_last = True
    if num_samples > 32:
        run(cfg)  # the way out trains
