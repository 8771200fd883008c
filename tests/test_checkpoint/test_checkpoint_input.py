"""A checkpoint is input: no code runs on ``--resume``, decoding is bounded,
the hook's saved state is validated, damaged files are skipped with a word,
and bad settings are named. A seeded fuzz run mutates a real checkpoint."""
import copy
import os
import os.path as osp
import random
import shutil
import subprocess
import sys
import time

import pytest
import torch

from conftest import REPO, demo_config, run
from conftest import PROBE_CONFIG, run_command, subprocess_env

from mmib.core import InfoBatchSnapshot
from mmib.checkpoint.io import check_state
from mmib.core.validation import StateError
from mmib.checkpoint.safety import (BoundedDecoder,
                                    CheckpointTrustError,
                                    defuse_meta_config,
                                    restore_plain_message_hub)
from mmib.checkpoint import ResumeFieldError
from mmib.checkpoint.io import check_message_hub
from mmib.engine.hooks import InfoBatchHook
from mmib.checkpoint.resume_files import checkpoint_problem, find_resumable

PLAIN_CONFIG = osp.join(REPO, 'configs', 'demo',
                        'resnet18-tiny_digits_full.py')


@pytest.fixture(scope='module')
def trained(tmp_path_factory) -> str:
    """A 2-epoch probe run through tools/train.py: epoch_1/2.pth."""
    work_dir = str(tmp_path_factory.mktemp('trained'))
    run_command([sys.executable, 'tools/train.py', PROBE_CONFIG, '--work-dir',
                 work_dir, '--cfg-options', 'train_cfg.max_epochs=2'])
    return work_dir


def load(path: str) -> dict:
    return torch.load(path, weights_only=True)


# -- 1. nothing executes from a checkpoint -------------------------------------
@pytest.mark.parametrize('config', [PROBE_CONFIG, PLAIN_CONFIG])
def test_code_in_meta_config_never_runs_on_resume(trained, tmp_path, config):
    """With InfoBatchHook (the hook defuses it) and without (tools/train.py's
    CheckpointGuardHook): the marker file is never written."""
    marker = tmp_path / 'MARKER'
    checkpoint = load(osp.join(trained, 'epoch_1.pth'))
    checkpoint['meta']['config'] = (
        f"import os\nos.system('touch {marker}')\ngpu_ids = [0]\n")
    crafted = str(tmp_path / 'crafted.pth')
    torch.save(checkpoint, crafted)
    out = run_command([sys.executable, 'tools/train.py', config, '--work-dir',
                       str(tmp_path / 'work'), '--resume', crafted, '--cfg-options',
                       'train_cfg.max_epochs=2', 'train_dataloader.dataset.indices=200',
                       'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None'])
    assert not marker.exists()
    assert "meta['config'] is not executed" in out
    assert 'gpu_ids=[0]' in out


def test_defuse_reads_gpu_ids_by_parsing_only():
    ckpt = dict(meta=dict(config="gpu_ids = [0, 1]\nx = __import__('os')"))
    assert 'gpu_ids=[0, 1]' in defuse_meta_config(ckpt)
    assert ckpt['meta']['config'] == 'gpu_ids = [0, 1]\n'
    ckpt = dict(meta=dict(config="gpu_ids = list(range(8))"))  # a call
    defuse_meta_config(ckpt)
    assert 'config' not in ckpt['meta']
    ckpt = dict(meta=dict(config=b'not text'))
    defuse_meta_config(ckpt)
    assert 'config' not in ckpt['meta']
    assert defuse_meta_config(dict(meta=dict())) is None


# -- 2. bounded decoding -------------------------------------------------------
def plain(data, dtype='<f8'):
    return {'__mmib_plain__': 'ndarray', 'dtype': dtype, 'data': data}


def buffer(log, count=None, max_length=10):
    return {'__mmib_plain__': 'HistoryBuffer', 'log': log,
            'count': count or plain(torch.ones(log['data'].numel())),
            'max_length': max_length}


@pytest.mark.parametrize('hub,field,why', [
    (dict(log_scalars={'loss': buffer(plain(torch.ones(3), 'U20000000'))}),
     "log_scalars['loss'].log.dtype", "numpy dtype 'U20000000'"),
    (dict(log_scalars={'loss': buffer(plain(torch.zeros(1).expand(10**6)))}),
     "log_scalars['loss'].log.data", 'non-contiguous'),
    (dict(log_scalars={'loss': buffer(plain(torch.ones(3)), max_length=-1)}),
     'max_length', 'not an integer'),
    (dict(log_scalars={'loss': buffer(plain(torch.ones(3)),
                                      plain(torch.ones(2)))}),
     "log_scalars['loss']", 'different lengths'),
    (dict(log_scalars=[1, 2]), 'message_hub.log_scalars', 'not a dict'),
])
def test_bad_message_hub_fields_are_named(hub, field, why):
    with pytest.raises(CheckpointTrustError) as error:
        restore_plain_message_hub(hub)
    assert field in str(error.value) and why in str(error.value)


def test_shared_and_deep_structures_are_bounded():
    dag = []
    for _ in range(25):  # 2**25 paths, 25 lists: the memo decodes 25
        dag = [dag, dag]
    start = time.perf_counter()
    restore_plain_message_hub(dict(log_scalars={}, runtime_info={'x': dag}))
    assert time.perf_counter() - start < 1.0
    deep = []
    for _ in range(5000):  # no RecursionError: the depth limit first
        deep = [deep]
    with pytest.raises(CheckpointTrustError, match='nested deeper than 32'):
        restore_plain_message_hub(dict(runtime_info={'x': deep}))
    decoder = BoundedDecoder(max_elements=1000)
    with pytest.raises(CheckpointTrustError, match='more than 1000 array'):
        decoder.walk([plain(torch.ones(600)), plain(torch.ones(600))])


# -- 3. validated state ----------------------------------------------------------
def _mutations():
    def dup(s):
        s['plan']['kept_indices'] = s['plan']['kept_indices'][[0, 0, 1]]
    def stretched(s):
        s['plan']['kept_indices'] = torch.zeros(1, dtype=torch.long).expand(
            4096)
    def out_of_range(s):
        s['plan']['kept_indices'] = torch.tensor([0, 10**6])
    def negative_weight(s):
        s['plan']['weights'][0] = -1.0
    def nan_weight(s):
        s['plan']['weights'][0] = float('nan')
    def huge_weight(s):
        s['plan']['weights'][0] = 1e30
    def weight_of_pruned(s):  # a kept sample with weight 0
        s['plan']['weights'][s['plan']['kept_indices'][0]] = 0.0
    def nan_score(s):
        s['table']['scores'][0] = float('nan')
        s['table']['seen'][0] = True
    def huge_clock(s):
        s['clock']['full_iters'] = 10**12
    def negative_ledger(s):
        s['ledger']['samples_trained'] = -5
    def missing_plan(s):
        del s['plan']
    def string_counter(s):
        s['clock']['pass_index'] = '12'
    def bool_counter(s):
        s['ledger']['passes_done'] = True
    def wrong_length(s):
        s['table']['scores'] = s['table']['scores'][:-1]
    def bad_rng(s):
        s['rng']['python']['state'] = [0] * 3
    def python_rng_version(s):
        s['rng']['python']['version'] = 16
    def random_torch_state(s):  # the right length, not a valid state
        s['rng']['torch'] = torch.randint(0, 256, s['rng']['torch'].shape,
                                          dtype=torch.uint8)
    def plan_of_another_pass(s):  # inside a pass, the plan of another
        s['clock']['pass_iter'] = 1
        s['plan']['epoch'] = s['clock']['pass_index'] + 1
    return [dup, stretched, out_of_range, negative_weight, nan_weight,
            huge_weight, weight_of_pruned, nan_score, huge_clock,
            negative_ledger, missing_plan, string_counter, bool_counter,
            wrong_length, bad_rng, python_rng_version, random_torch_state,
            plan_of_another_pass]


EXPECTED_FIELD = dict(
    dup='plan.kept_indices', stretched='plan.kept_indices',
    out_of_range='plan.kept_indices', negative_weight='plan.weights',
    nan_weight='plan.weights', huge_weight='plan.weights',
    weight_of_pruned='plan.weights', nan_score='table.scores[0]',
    huge_clock='clock.full_iters', negative_ledger='ledger.samples_trained',
    missing_plan='plan', string_counter='clock.pass_index',
    bool_counter='ledger.passes_done', wrong_length='table.scores',
    bad_rng='rng.python.state', plan_of_another_pass='plan.epoch',
    python_rng_version='rng.python.version', random_torch_state='rng.torch')


def test_legacy_random_states_are_loaded_into_scratch_generators():
    """mmib 0.1's states (Python's and numpy's own tuples): one that its
    generator refuses is named, the global states untouched."""
    import random as stdlib_random

    import numpy as np
    from mmib.checkpoint.rng_state import validate_rng
    good = dict(python=stdlib_random.getstate(),
                numpy=np.random.get_state(), torch=torch.get_rng_state())
    before = stdlib_random.getstate()
    validate_rng(good, legacy=True)
    assert stdlib_random.getstate() == before
    for field, bad in (('rng.python', (3, tuple(range(10)), None)),
                       ('rng.numpy', ('MT19937', [1, 2], 0, 0, 0.0))):
        state = dict(good, **{field.split('.')[1]: bad})
        with pytest.raises(StateError, match=rf"{field} = 'a state its "
                           'generator refuses'):
            validate_rng(state, legacy=True)


@pytest.mark.parametrize('mutate', _mutations(), ids=lambda f: f.__name__)
def test_each_bad_state_field_is_named(trained, mutate):
    state = load(osp.join(trained, 'epoch_2.pth'))['infobatch']
    check_state(copy.deepcopy(state), max_passes=4)  # intact: fine
    mutate(state)
    with pytest.raises(StateError) as error:
        check_state(state, max_passes=4)
    field = EXPECTED_FIELD[mutate.__name__]
    assert f"checkpoint['infobatch'].{field} = " in str(error.value)
    assert 'expected' in str(error.value)


def test_a_bad_state_stops_resume_before_training(trained, tmp_path):
    checkpoint = load(osp.join(trained, 'epoch_1.pth'))
    checkpoint['infobatch']['plan']['weights'][:] = -1.0
    crafted = str(tmp_path / 'bad_weights.pth')
    torch.save(checkpoint, crafted)
    cfg = demo_config(str(tmp_path / 'work'), epochs=2, num_samples=200,
                      infobatch=dict(ratio=0.5, delta=0.75))
    cfg.train_dataloader.batch_size = 16
    cfg.resume, cfg.load_from = True, crafted
    with pytest.raises(StateError, match=r'plan\.weights'):
        run(cfg)


# -- 4. unlucky files ------------------------------------------------------------
def test_auto_resume_falls_back_to_the_newest_intact_checkpoint(trained,
                                                                tmp_path):
    work = str(tmp_path / 'work')
    shutil.copytree(trained, work)
    pointer = osp.join(work, 'last_checkpoint')
    newest = osp.join(work, 'epoch_2.pth')
    older = osp.join(work, 'epoch_1.pth')
    os.utime(older, (1, 1))
    # an empty pointer: the newest intact file
    open(pointer, 'w').close()
    assert find_resumable(work) == (newest, [f'{pointer} is empty'])
    # a pointer to a missing file, and a truncated newest checkpoint
    with open(pointer, 'w') as f:
        f.write(osp.join(work, 'epoch_9.pth'))
    with open(newest, 'r+b') as f:
        f.truncate(os.path.getsize(newest) // 2)
    path, notes = find_resumable(work)
    assert path == older
    assert 'no such file' in notes[0] and newest in notes[1]
    # through tools/train.py: it says what it skipped and resumes epoch 1
    out = run_command([sys.executable, 'tools/train.py', PROBE_CONFIG, '--work-dir',
                       work, '--resume', '--cfg-options', 'train_cfg.max_epochs=2'])
    assert f'WARNING: --resume reads {older} instead.' in out
    assert 'resumed epoch: 1' in out
    # nothing intact: a named error, nothing overwritten
    for name in ('epoch_1.pth', 'epoch_2.pth'):
        with open(osp.join(work, name), 'wb') as f:
            f.write(b'PK\x03\x04 truncated')
    with pytest.raises(FileNotFoundError, match='no intact checkpoint'):
        find_resumable(work)


def test_explicit_resume_of_a_damaged_file_names_it(trained, tmp_path):
    damaged = str(tmp_path / 'damaged.pth')
    with open(osp.join(trained, 'epoch_1.pth'), 'rb') as f:
        data = f.read()
    with open(damaged, 'wb') as f:
        f.write(data[:len(data) // 3])
    assert checkpoint_problem(damaged) is not None
    out = subprocess.run(
        [sys.executable, 'tools/train.py', PROBE_CONFIG, '--work-dir',
         str(tmp_path / 'w'), '--resume', damaged], cwd=REPO, env=subprocess_env(),
        capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert f'--resume {damaged}: cannot resume from this file' in out.stderr
    assert not osp.exists(tmp_path / 'w' / 'epoch_1.pth')


# -- 5. settings ------------------------------------------------------------------
@pytest.mark.parametrize('options,message', [
    (dict(threshold='quantile', quantiles=0.5, ratio=[0.5]),
     r'quantiles=0\.5 must be a list'),
    (dict(seed='abc'), r"seed='abc' must be an integer"),
    (dict(seed=1.5), r'seed=1\.5 must be an integer'),
])
def test_bad_settings_are_named_at_build(options, message):
    with pytest.raises(ValueError, match=message):
        InfoBatchHook(**options)


def test_weights_above_20_are_warned_about(capsys):
    from mmengine.logging import MMLogger
    MMLogger.get_instance('mmib_weight_warning')
    InfoBatchHook(ratio=0.96)
    assert 'loss weight 25 (above 20)' in capsys.readouterr().out


def test_unknown_unweighted_loss_name_is_named_at_the_first_step(tmp_path):
    cfg = demo_config(str(tmp_path), epochs=2, num_samples=64,
                      infobatch=dict(ratio=0.5, unweighted_losses=['loss_typo']))
    with pytest.raises(ValueError, match=r"unweighted_losses=\['loss_typo'\]"
                       r".*whose terms are \['loss'\]"):
        run(cfg)


# -- 6. fuzz ----------------------------------------------------------------------
def _mutate(state, rng: random.Random):
    """One random change of the hook's state or the message hub."""
    values = [None, -1, 0, 2**62, 1.5, float('nan'), 'x', [], {}, True,
              torch.tensor([1.0, float('inf')]),
              torch.zeros(1).expand(100), torch.tensor(7),
              torch.ones(3, 3), torch.arange(5).flip(0)]
    paths = []

    def collect(node, path, depth=0):
        if depth > 6:
            return
        paths.append(path)
        if isinstance(node, dict):
            for k in node:
                collect(node[k], path + [k], depth + 1)
        elif isinstance(node, list) and len(node) < 20:
            for i, v in enumerate(node):
                collect(v, path + [i], depth + 1)

    collect(state, [])
    path = rng.choice(paths[1:])
    parent = state
    for key in path[:-1]:
        parent = parent[key]
    action = rng.randrange(4)
    if action == 0:
        parent[path[-1]] = copy.copy(rng.choice(values))
    elif action == 1 and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == 2:
        parent[path[-1]] = [parent[path[-1]]] * 3  # shared sub-lists
    else:
        target = parent[path[-1]]
        if isinstance(target, torch.Tensor) and target.numel():
            flat = target.reshape(-1)
            try:
                flat[rng.randrange(flat.numel())] = rng.choice(
                    [-1, 10**6, float('nan'), 0, 1])
            except RuntimeError:  # a value this dtype cannot hold
                flat[0] = 1
        else:
            parent[path[-1]] = {'__mmib_plain__': 'ndarray',
                                'dtype': rng.choice(['<f8', 'U9', 'O', 'V8']),
                                'data': torch.ones(4)}


def test_fuzzed_checkpoints_give_named_errors_or_valid_state(trained):
    """400 seeded mutants of a real checkpoint's InfoBatch state and message
    hub go through what a resume reads first (decode, validate, restore):
    each ends in a named error or a state that passes every check, within
    a time bound; nothing else escapes (no KeyError, TypeError, crash)."""
    checkpoint = load(osp.join(trained, 'epoch_2.pth'))
    # a release runs more: MMIB_FUZZ_MUTANTS=20000 MMIB_FUZZ_SEED=N
    count = int(os.environ.get('MMIB_FUZZ_MUTANTS', 400))
    rng = random.Random(int(os.environ.get('MMIB_FUZZ_SEED', 20261202)))
    outcomes = dict(named=0, valid=0)
    import resource
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    for _ in range(count):
        mutant = copy.deepcopy({'infobatch': checkpoint['infobatch'],
                                'message_hub': checkpoint['message_hub']})
        for _ in range(rng.randint(1, 3)):
            _mutate(mutant, rng)
        start = time.perf_counter()
        try:
            hub = mutant.get('message_hub')
            if isinstance(hub, dict):
                check_message_hub(restore_plain_message_hub(hub))
            state = mutant.get('infobatch')
            check_state(state, num_samples=200, max_passes=4)
            InfoBatchSnapshot.from_dict(state)
            outcomes['valid'] += 1
        except (StateError, CheckpointTrustError):
            outcomes['named'] += 1
        assert time.perf_counter() - start < 10
    assert outcomes['named'] > count // 2 and outcomes['valid'] > 0, outcomes
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown < 1024 * 1024, f'peak memory grew by {grown} KiB'


def test_fuzzed_checkpoints_resumed_through_the_runner(trained, tmp_path):
    """A few seeded mutants resumed for real (the hook's state, the message
    hub, and MMEngine's counters, seed and scheduler states): each trains
    to the end or stops with a named error before anything trains."""
    from mmengine.runner import Runner
    checkpoint = load(osp.join(trained, 'epoch_1.pth'))
    rng = random.Random(int(os.environ.get('MMIB_FUZZ_SEED', 7)))
    outcomes = []
    for k in range(int(os.environ.get('MMIB_FUZZ_RESUMES', 8))):
        mutant = copy.deepcopy(checkpoint)
        meta = {key: mutant['meta'][key] for key in ('epoch', 'iter', 'seed')
                if key in mutant['meta']}
        part = {'infobatch': mutant['infobatch'],
                'message_hub': mutant['message_hub'], 'meta': meta,
                'param_schedulers': mutant['param_schedulers']}
        _mutate(part, rng)
        for key in ('epoch', 'iter', 'seed'):
            mutant['meta'].pop(key, None)
        meta = part.pop('meta', None)
        if isinstance(meta, dict):
            mutant['meta'].update(meta)
        else:  # the whole meta replaced or deleted
            mutant['meta'] = meta
        mutant.update(part)
        path = str(tmp_path / f'mutant{k}.pth')
        torch.save(mutant, path)
        cfg = demo_config(str(tmp_path / f'work{k}'), epochs=2,
                          num_samples=200,
                          infobatch=dict(ratio=0.5, delta=0.75))
        cfg.train_dataloader.batch_size = 16
        cfg.resume, cfg.load_from = True, path
        runner = Runner.from_cfg(cfg)
        try:
            runner.train()
            assert runner.epoch == 2
            outcomes.append('trained')
        except (StateError, CheckpointTrustError, ResumeFieldError):
            assert runner.iter <= 13  # stopped before a step was trained
            outcomes.append('named')
    assert set(outcomes) <= {'named', 'trained'} and outcomes, outcomes


def test_kill_9_loop_with_a_checkpoint_every_iteration_resumes_exactly(
        tmp_path):
    """SIGKILL three times at random moments of a run that checkpoints every
    iteration (so some kills land while a file or ``last_checkpoint`` is
    written); each ``--resume`` picks the newest intact checkpoint, and the
    run ends with the weights, scores and ledger of an uninterrupted one."""
    import signal
    options = ['--cfg-options', 'default_hooks.checkpoint.by_epoch=False',
               'default_hooks.checkpoint.interval=1']
    straight = str(tmp_path / 'straight')
    run_command([sys.executable, 'tools/train.py', PROBE_CONFIG, '--work-dir',
                 straight, *options])
    work = str(tmp_path / 'killed')
    rng = random.Random(9)
    for attempt in range(3):
        before = len([f for f in os.listdir(work) if f.startswith('iter_')]
                     ) if osp.isdir(work) else 0
        args = [sys.executable, 'tools/train.py', PROBE_CONFIG, '--work-dir',
                work, *options] + (['--resume'] if attempt else [])
        process = subprocess.Popen(args, cwd=REPO, env=subprocess_env(),
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline and process.poll() is None:
            done = len([f for f in os.listdir(work) if f.startswith('iter_')]
                       ) if osp.isdir(work) else 0
            if done >= before + 3:
                break
            time.sleep(0.05)
        time.sleep(rng.uniform(0, 0.3))
        assert process.poll() is None, 'the run ended before the kill'
        process.send_signal(signal.SIGKILL)
        process.wait()
    run_command([sys.executable, 'tools/train.py', PROBE_CONFIG, '--work-dir', work,
                 '--resume', *options])
    last = [open(osp.join(d, 'last_checkpoint')).read().strip()
            for d in (straight, work)]
    assert osp.basename(last[0]) == osp.basename(last[1])
    a, b = load(last[0]), load(last[1])
    assert a['meta']['iter'] == b['meta']['iter'] > 0
    for key in a['state_dict']:
        assert torch.equal(a['state_dict'][key], b['state_dict'][key]), key
    assert torch.equal(a['infobatch']['table']['scores'],
                       b['infobatch']['table']['scores'])
    assert a['infobatch']['ledger'] == b['infobatch']['ledger']


def test_a_copied_work_dir_resumes_its_own_checkpoints(trained, tmp_path):
    copy_dir = str(tmp_path / 'copy')
    shutil.copytree(trained, copy_dir)  # its pointer names the original
    path, notes = find_resumable(copy_dir)
    assert osp.dirname(path) == copy_dir
    assert 'a file of another work dir' in notes[0]


def test_links_planted_where_mmengine_saves_stop_the_run(trained, tmp_path):
    work = tmp_path / 'shared'
    work.mkdir()
    victim = tmp_path / 'precious.txt'
    victim.write_text('keep me')
    os.symlink(victim, work / 'epoch_1.pth')
    out = subprocess.run([sys.executable, 'tools/train.py', PROBE_CONFIG,
                          '--work-dir', str(work)], cwd=REPO,
                         env=subprocess_env(), capture_output=True,
                         text=True, timeout=300)
    assert out.returncode != 0
    assert 'symbolic links where MMEngine writes its checkpoints' in \
        out.stderr + out.stdout
    assert victim.read_text() == 'keep me'
