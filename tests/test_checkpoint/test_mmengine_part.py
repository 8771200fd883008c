"""MMEngine's own part of a resumed checkpoint is checked against the run
before MMEngine reads it: each crafted field stops the resume with its
name, with the InfoBatch hook and with the guard hook alone."""
import math

import pytest
import torch

from conftest import demo_config, run

from mmib.checkpoint import ResumeFieldError


@pytest.fixture(scope='module')
def trained(tmp_path_factory) -> str:
    """A 1-epoch InfoBatch run of the demo config: its epoch_1.pth."""
    work = str(tmp_path_factory.mktemp('mmengine_part'))
    cfg = demo_config(work, epochs=2, num_samples=64,
                      infobatch=dict(ratio=0.5))
    cfg.train_cfg.max_epochs = 1  # the schedule of 2 epochs, stopped at 1
    run(cfg)
    return f'{work}/epoch_1.pth'


def _set(path):
    def mutate(checkpoint):
        node = checkpoint
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = mutate.value
    return mutate


def _cases():
    def drop(key):
        def mutate(checkpoint):
            del checkpoint[key]
        return mutate

    def nan_lr(checkpoint):
        checkpoint['optimizer']['param_groups'][0]['lr'] = math.nan

    def nan_eta(checkpoint):
        checkpoint['param_schedulers'][-1]['eta_min'] = math.nan

    def t_max_zero(checkpoint):
        checkpoint['param_schedulers'][-1]['T_max'] = 0

    def shadow(checkpoint):
        checkpoint['param_schedulers'][-1]['step'] = 5

    def list_step(checkpoint):
        checkpoint['param_schedulers'][-1]['last_step'] = []

    def meta(key, value):
        def mutate(checkpoint):
            checkpoint['meta'][key] = value
        return mutate

    def meta_without(key):
        def mutate(checkpoint):
            del checkpoint['meta'][key]
        return mutate

    return {
        'epoch_1e9': (meta('epoch', 10**9), r"meta\['epoch'\]: 1000000000 "
                      r'is outside \[0, 2\]'),
        'no_epoch': (meta_without('epoch'), r"meta\['epoch'\]: missing"),
        'seed_text': (meta('seed', 'abc'), r"meta\['seed'\]: 'abc'"),
        'seed_huge': (meta('seed', 2**70), r"meta\['seed'\]"),
        'no_meta': (drop('meta'), r"\['meta'\]: missing"),
        'no_state_dict': (drop('state_dict'), r"\['state_dict'\]: missing"),
        'nan_lr': (nan_lr, r"param_groups'\]\[0\]\['lr'\]: nan"),
        'nan_eta_min': (nan_eta, r"\['eta_min'\]: nan is not a finite"),
        't_max_zero': (t_max_zero, r"\['T_max'\]: 0 is not a positive"),
        'shadowed_method': (shadow, r"\['step'\]: .* shadowing its method"),
        'list_last_step': (list_step, r"\['last_step'\]: '\[\]' where "
                           r'CosineAnnealingLR holds a int'),
    }


CASES = _cases()


@pytest.mark.parametrize('case,hook', [(c, 'infobatch') for c in sorted(
    CASES)] + [(c, 'guard') for c in ('epoch_1e9', 'no_state_dict',
                                       'shadowed_method')])
def test_each_crafted_mmengine_field_is_named(trained, tmp_path, case, hook):
    mutate, match = CASES[case]
    checkpoint = torch.load(trained, weights_only=True)
    schedulers = checkpoint['param_schedulers']
    assert isinstance(schedulers, list) and 'eta_min' in schedulers[-1]
    mutate(checkpoint)
    crafted = str(tmp_path / f'{case}.pth')
    torch.save(checkpoint, crafted)
    cfg = demo_config(str(tmp_path / 'work'), epochs=2, num_samples=64,
                      infobatch=dict(ratio=0.5) if hook == 'infobatch'
                      else None)
    if hook == 'guard':
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='CheckpointGuardHook')]
    cfg.resume, cfg.load_from = True, crafted
    with pytest.raises(ResumeFieldError, match=match):
        run(cfg)


def test_the_untouched_checkpoint_resumes(trained, tmp_path):
    cfg = demo_config(str(tmp_path / 'work'), epochs=2, num_samples=64,
                      infobatch=dict(ratio=0.5))
    cfg.resume, cfg.load_from = True, trained
    runner = run(cfg)
    assert runner.epoch == 2
