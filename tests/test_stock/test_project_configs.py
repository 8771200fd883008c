"""The shipped classification configs: mmpretrain's recipes + one line."""
import glob
import os.path as osp

import pytest
from conftest import REPO, get_hook, run
from mmengine.config import Config

CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'classification',
                                    '*.py')))


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_is_mmpretrain_recipe_plus_the_hook(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_hooks == [
        dict(type='InfoBatchHook', ratio=0.5, delta=0.875)
    ]
    assert 'mmib' in cfg.custom_imports['imports']
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.train_dataloader.sampler.type == 'DefaultSampler'
    assert cfg.train_cfg.by_epoch


def test_cifar_recipe_trains_with_infobatch(work_dir):
    """mmpretrain's ResNet-18 CIFAR-10 recipe, run on 1-channel digits."""
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'classification',
                 'resnet18_8xb16_cifar10_infobatch.py'))
    cfg.work_dir = work_dir
    cfg.experiment_name = 'cifar_recipe'
    cfg.model.backbone.in_channels = 1
    cfg.data_preprocessor = dict(
        num_classes=10, mean=[127.5], std=[127.5], to_rgb=False)
    cfg.model.data_preprocessor = cfg.data_preprocessor
    cfg.train_dataloader.dataset = dict(
        type='DigitsDataset',
        indices=96,
        pipeline=[dict(type='Resize', scale=32),
                  dict(type='PackInputs')])
    cfg.train_dataloader.num_workers = 0
    cfg.train_cfg.max_epochs = 3
    cfg.train_cfg.val_interval = 10
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.custom_hooks[0].delta = 1.0
    runner = run(cfg)
    savings = get_hook(runner, 'InfoBatchHook').savings()
    assert savings['samples_full'] == 3 * 96
    assert 0 < savings['saved_samples'] < 0.5
    assert runner.iter == savings['iters_trained'] == runner.max_iters


SEG_CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', 'segmentation', 'upernet_r50_*.py')))


@pytest.mark.parametrize('path', SEG_CONFIGS, ids=osp.basename)
def test_ade20k_config_is_mmseg_recipe_plus_the_hook(path):
    from mmengine.registry import HOOKS
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg'
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.train_cfg.max_iters in (80000, 160000)
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    assert cfg.train_dataloader.dataset.type == 'ADE20KDataset'
    assert cfg.model.decode_head.num_classes == 150
    assert len(cfg.custom_hooks) == 1
    hook = HOOKS.build(cfg.custom_hooks[0])
    if 'quantile' in path:
        assert hook.options.pruning.quantiles == (0.2, 0.85)
        assert hook.options.pruning.weights == (4.0, 2.0)
    else:
        assert hook.options.pruning.threshold == 'mean'


SHIPPED = sorted(
    osp.relpath(p, osp.join(REPO, 'configs'))
    for p in glob.glob(osp.join(REPO, 'configs', '*', '*.py'))
    if '_base_' not in p)


@pytest.mark.parametrize('name', SHIPPED)
def test_every_shipped_config_builds_when_reused_by_scope(name, tmp_path):
    """``_base_ = ['mmib::<config>']``: MMEngine tags the base's dicts with
    mmib's scope; the runner still builds the codebase's visualizer,
    model and hooks (nothing is trained; data sets are built lazily)."""
    from mmengine.runner import Runner
    if name.startswith('detection/'):
        pytest.skip('mmdet needs the full mmcv: built in the mmdet '
                    'environment (tests/test_stock/test_mmdet_env.py)')
    path = tmp_path / 'mine.py'
    path.write_text(f"_base_ = ['mmib::{name}']\n")
    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(tmp_path / 'work')
    # a name of its own: MMEngine keys the default scope by the experiment
    # name, and two runners of one name within a second share the first's
    cfg.experiment_name = f"scope_{name.replace('/', '_')}"
    cfg.launcher = 'none'
    runner = Runner.from_cfg(cfg)
    assert runner.visualizer is not None and runner.model is not None
