"""Bad settings fail before training, with a message naming the setting."""
import pytest
import torch.nn.functional as F
from conftest import demo_config, get_hook, run
from mmengine.runner import Runner
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.registry import MODELS


@MODELS.register_module(force=True)
class ScalarLossHead(LinearClsHead):
    """A head that reduces its loss itself (``F.cross_entropy``)."""

    def __init__(self, keep_loss_module: bool = False, **kwargs):
        super().__init__(**kwargs)
        if not keep_loss_module:
            del self.loss_module

    def _get_loss(self, cls_score, data_samples, **kwargs):
        import torch
        target = torch.cat([s.gt_label for s in data_samples])
        return dict(loss=F.cross_entropy(cls_score, target))


@pytest.mark.parametrize('options,match', [
    (dict(ratio=1.0), r'ratio=1.0 is outside \[0, 1\)'),
    (dict(ratio=-0.2), r'ratio=-0.2 is outside'),
    (dict(delta=0), r'delta=0 is outside \(0, 1\]'),
    (dict(threshold='quantile', quantiles=[0.2, 0.8], ratio=[0.5]),
     'same length'),
    (dict(ratio='0.5'), r"ratio='0.5' must be a number"),
    (dict(policy='hard'), r"policy='hard' is not supported"),
    (dict(rescale=0), r'rescale=0 must be True or False'),
    (dict(unweighted_losses='loss_x'),
     r"unweighted_losses='loss_x' must be a list of loss names"),
])
def test_bad_hook_options_fail_when_the_runner_is_built(work_dir, options,
                                                        match):
    cfg = demo_config(work_dir, infobatch=options)
    with pytest.raises(ValueError, match=match):
        Runner.from_cfg(cfg)


def _fails_before_training(cfg, error, match):
    runner = Runner.from_cfg(cfg)
    with pytest.raises(error, match=match):
        runner.train()
    assert get_hook(runner, 'RecordingHook').records == []


def test_model_without_a_per_sample_loss_fails_before_training(work_dir):
    cfg = demo_config(work_dir, infobatch=dict(ratio=0.5))
    cfg.model.head.type = 'ScalarLossHead'
    _fails_before_training(cfg, ValueError,
                           'no loss module.*already reduced to a scalar')


def test_no_splittable_loss_module_error_names_the_losses_seen(work_dir):
    cfg = demo_config(work_dir, infobatch=dict(ratio=0.5))
    cfg.model.head.type = 'ScalarLossHead'
    cfg.model.head.keep_loss_module = True
    cfg.model.head.loss = dict(type='mmseg.BoundaryLoss')  # no reduction
    _fails_before_training(
        cfg, ValueError,
        r'the loss modules it saw: \[.head.loss_module '
        r'\(BoundaryLoss\).\]')


def test_loss_reduced_outside_the_loss_module_fails_at_the_first_step(
        work_dir):
    cfg = demo_config(work_dir, infobatch=dict(ratio=0.5))
    cfg.model.head.type = 'ScalarLossHead'
    cfg.model.head.keep_loss_module = True  # found, but never called
    runner = Runner.from_cfg(cfg)
    # the coverage check names the term before anything is trained
    with pytest.raises(RuntimeError,
                       match=r"loss terms \['loss'\] carry gradient but "
                       r"reach no loss module.*\['head.loss_module'\]"):
        runner.train()
    assert runner.iter == 0


def test_sampler_the_hook_cannot_replace(work_dir):
    cfg = demo_config(work_dir, infobatch=dict(ratio=0.5))
    # mmpretrain's SequentialSampler: a fixed order InfoBatch cannot prune
    cfg.train_dataloader.sampler = dict(type='SequentialSampler')
    _fails_before_training(cfg, ValueError,
                           'train_dataloader.sampler.*SequentialSampler')



def test_explicit_config_wrapping_is_accepted(work_dir):
    """The data set wrapper and sampler may also be written in the config."""
    cfg = demo_config(work_dir, epochs=2, infobatch=dict(ratio=0.5, delta=1))
    loader = cfg.train_dataloader
    loader.dataset = dict(type='InfoBatchDataset', dataset=loader.dataset)
    loader.sampler = dict(type='InfoBatchSampler', shuffle=True)
    runner = run(cfg)
    assert get_hook(runner, 'InfoBatchHook').savings()['saved_samples'] > 0
