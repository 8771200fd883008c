"""Every pass policy through the real Runner: ratio 0 is the plain run,
pruning saves, a mid-pass resume is bit-identical, 2 gloo processes agree;
a policy registered by the user's own module trains from a config."""
import copy
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from conftest import (REPO, assert_ranks_agree, demo_config, get_hook,
                      needs_fashion_mnist, run, run_command,
                      state_dicts_close, train_two_ranks)

POLICY_SETTINGS = {
    'seta': dict(policy='seta', ratio=0.3,
                 policy_options=dict(num_groups=4, window_scale=0.75)),
    'soft_random': dict(policy='soft_random', ratio=0.5),
    'random': dict(policy='random', ratio=0.5),
    'orderdp': dict(policy='orderdp', ratio=0.4),
    'repb': dict(policy='repb', ratio=0.5),
    # batch scores (BLS) with InfoBatch's policy
    'batch_scores': dict(policy='infobatch', ratio=0.8, scores='batch'),
}


def _records(runner):
    return get_hook(runner, 'RecordingHook').records


@pytest.mark.parametrize('name', sorted(POLICY_SETTINGS))
def test_ratio_zero_is_the_plain_run_and_pruning_saves(name, tmp_path):
    plain = run(demo_config(str(tmp_path / 'plain'), epochs=3,
                            num_samples=128))
    zero = dict(POLICY_SETTINGS[name], ratio=0.0)
    if name == 'seta':
        zero['policy_options'] = dict(num_groups=4, window_scale=1.0)
    ratio0 = run(demo_config(str(tmp_path / 'zero'), epochs=3,
                             num_samples=128, infobatch=zero))
    assert [r['indices'] for r in _records(ratio0)] == \
        [r['indices'] for r in _records(plain)]
    torch.testing.assert_close(
        torch.tensor([r['loss'] for r in _records(ratio0)]),
        torch.tensor([r['loss'] for r in _records(plain)]))
    pruned = run(demo_config(str(tmp_path / 'pruned'), epochs=4,
                             num_samples=128,
                             infobatch=dict(POLICY_SETTINGS[name],
                                            delta=0.75)))
    hook = get_hook(pruned, 'InfoBatchHook')
    assert hook.savings()['saved_samples'] > 0.05
    checkpoint = torch.load(osp.join(str(tmp_path / 'pruned'), 'epoch_4.pth'),
                            weights_only=True)
    assert checkpoint['infobatch']['ledger']['passes_done'] == 4


@pytest.mark.parametrize('name', ['seta', 'soft_random', 'orderdp', 'repb',
                                  'batch_scores'])
def test_mid_pass_resume_is_bit_identical(name, tmp_path):
    work_dir = str(tmp_path)
    cfg = demo_config(work_dir, epochs=3, num_samples=200,
                      infobatch=dict(POLICY_SETTINGS[name], delta=1.0))
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        by_epoch=False, interval=1)
    whole = run(cfg)
    records = _records(whole)
    k = [r['epoch'] for r in records].index(2) + 2  # 2 steps into epoch 3
    resumed_cfg = copy.deepcopy(cfg)
    resumed_cfg.resume = True
    resumed_cfg.load_from = osp.join(work_dir, f'iter_{k}.pth')
    resumed_cfg.work_dir = osp.join(work_dir, 'resumed')
    resumed = run(resumed_cfg)
    a, b = records[k:], _records(resumed)
    assert len(a) == len(b) > 0
    assert [r['indices'] for r in a] == [r['indices'] for r in b]
    assert [r['loss'] for r in a] == [r['loss'] for r in b]
    state_dicts_close(whole.model.state_dict(), resumed.model.state_dict(),
                      rtol=0, atol=0)


@pytest.mark.parametrize('name', ['seta', 'soft_random', 'orderdp', 'repb',
                                  'batch_scores'])
def test_two_gloo_processes_agree(name, tmp_path):
    work_dir = str(tmp_path)
    options = [f'custom_hooks.0.{key}={value}'
               for key, value in POLICY_SETTINGS[name].items()
               if key != 'policy_options']
    assert_ranks_agree(train_two_ranks(work_dir, *options))


def test_a_policy_registered_from_custom_imports_trains(tmp_path):
    module = tmp_path / 'my_policy.py'
    module.write_text(
        'import torch\n'
        'from mmib.core import PassPlan, PassPolicy, register_policy\n\n\n'
        "@register_policy('every_other_test', force=True)\n"
        'class EveryOther(PassPolicy):\n'
        '    def plan(self, table, pass_index, num_passes, seed, '
        'layout=None):\n'
        '        keep = torch.arange(pass_index % 2, len(table), 2)\n'
        '        weights = torch.zeros(len(table))\n'
        '        weights[keep] = 2.0\n'
        '        return PassPlan(pass_index, keep, weights, '
        'torch.empty(0), False)\n')
    sys.path.insert(0, str(tmp_path))
    try:
        cfg = demo_config(str(tmp_path / 'work'), epochs=2, num_samples=64,
                          infobatch=dict(policy='every_other_test'))
        cfg.custom_imports = dict(imports=['mmib', 'my_policy'],
                                  allow_failed_imports=False)
        path = str(tmp_path / 'my_config.py')
        cfg.dump(path)  # a config file: Config.fromfile runs its imports
        runner = run(Config.fromfile(path))
    finally:
        sys.path.remove(str(tmp_path))
    trained = [i for r in _records(runner) for i in r['indices']]
    assert len(trained) == 64  # half of each of the 2 passes
    from mmib.core import POLICIES
    POLICIES.pop('every_other_test', None)


@pytest.mark.parametrize('name', ['infobatch', 'random', 'soft_random',
                                  'seta', 'orderdp', 'repb',
                                  'batch_scores'])
def test_target_saving_on_digits_lands_near_the_target(name, tmp_path):
    settings = dict(POLICY_SETTINGS.get(name, dict(policy=name)),
                    target_saving=0.3)
    settings.pop('policy_options', None)
    num_samples = 256
    if name == 'batch_scores':
        # whole batches share a score: with 8 batches a pass only about a
        # third of the samples are below the mean, fewer than the budget
        # prunes; 16 batches and no annealing leave room
        settings['delta'] = 1.0
        num_samples = 512
    runner = run(demo_config(str(tmp_path), epochs=10,
                             num_samples=num_samples, infobatch=settings))
    hook = get_hook(runner, 'InfoBatchHook')
    saved = hook.savings()['saved_samples']
    assert abs(saved - 0.3) < 0.015, saved  # within a batch per pass
    assert 'against a target saving of 30.0%' in hook.summary()


def test_an_unreachable_target_is_named_before_training(tmp_path):
    with pytest.raises(ValueError, match=r'target_saving=0\.9 cannot be '
                       'reached'):
        run(demo_config(str(tmp_path), epochs=4, num_samples=64,
                        infobatch=dict(target_saving=0.9)))


@pytest.mark.fashion_mnist
@needs_fashion_mnist
def test_target_saving_on_the_fashion_mnist_config_trains_60_percent(
        tmp_path):
    """target_saving=0.4 on the Fashion-MNIST benchmark config as it is
    (25 epochs, 4,000 images; validation off) trains 60% +- 1% of the full
    run's samples."""
    run_command([sys.executable, 'tools/prepare_fashion_mnist.py'])
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'fashion_mnist',
                                   'smallcnn_fashion-mnist-4k_infobatch.py'))
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg.val_interval = 100
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.custom_hooks = [dict(type='InfoBatchHook', target_saving=0.4)]
    runner = Runner.from_cfg(cfg)
    runner.train()
    savings = get_hook(runner, 'InfoBatchHook').savings()
    assert savings['samples_full'] == 25 * 4000
    assert abs(savings['samples_trained'] / 100000 - 0.6) <= 0.01, savings


class _MaxItersProbe(Hook):
    """The run length the loop expects at each epoch's start, after the
    InfoBatch hook (priority 75) re-estimated it."""

    priority = 80

    def __init__(self):
        self.estimates = []

    def before_train_epoch(self, runner):
        self.estimates.append(runner.train_loop.max_iters)


def test_run_length_estimate_counts_setas_shortened_annealing(tmp_path):
    cfg = demo_config(str(tmp_path), epochs=8, num_samples=256,
                      infobatch=dict(POLICY_SETTINGS['seta'], delta=0.5))
    runner = Runner.from_cfg(cfg)
    probe = _MaxItersProbe()
    runner.register_hook(probe)
    runner.train()
    final = runner.iter
    hook = get_hook(runner, 'InfoBatchHook')
    full_pass = hook.training.driver.geometry.full_pass_len
    # from the first annealing pass (epoch 5 of 8) on, SeTa still trains a
    # subset: the estimate extrapolates the shortened pass, not full passes
    assert hook.training.driver.shortened_passes == 8
    for estimate in probe.estimates[4:]:
        assert abs(estimate - final) < full_pass // 2, (probe.estimates,
                                                        final)
    assert probe.estimates[-1] == final  # exact in the last pass
