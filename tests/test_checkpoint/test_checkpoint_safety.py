"""Safe checkpoints: ``import mmib`` widens nothing, mmib's checkpoints load
with torch's default allow-list, crafted files get an error (never a crash),
and MMEngine's own format still resumes through scoped stand-ins."""
import io
import os
import os.path as osp
import pickle
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from conftest import REPO, demo_config, get_hook, run
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from mmib_kit.analysis import read_infobatch_ledger
from mmib.checkpoint.safety import (CheckpointTrustError,
                                    ScopedCheckpointTrust,
                                    plain_message_hub,
                                    restore_plain_message_hub)


def _python(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=300)


def test_import_mmib_leaves_other_libraries_as_they_were():
    # MMEngine's runner imports torch.distributed, which registers torch's
    # own DTensor classes; any MMEngine plugin imports it, so it comes first
    out = _python(
        'import sys, torch\n'
        'from mmengine.runner import Runner\n'
        'before = set(map(str, torch.serialization.get_safe_globals()))\n'
        'import mmib\n'
        'after = set(map(str, torch.serialization.get_safe_globals()))\n'
        'print("SAME" if before == after else f"CHANGED {after ^ before}")\n'
        'print("torchvision imported" if "torchvision" in sys.modules '
        'else "no torchvision")\n'
        'import mmcv\n'
        'print("hue wrapped" if hasattr(mmcv.adjust_hue, "__wrapped__") '
        'else "hue as mmcv wrote it")\n')
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'SAME' in out.stdout, out.stdout
    # importing torchvision pulls in torch._dynamo, which registers its own
    # classes: mmib's torchvision fix does not import it
    assert 'no torchvision' in out.stdout
    # the adjust_hue mend (numpy 2) is a run fix: tools/train.py applies it
    assert 'hue as mmcv wrote it' in out.stdout


# -- crafted files ---------------------------------------------------------------
def _global(module: str, name: str) -> bytes:
    return b'c' + module.encode() + b'\n' + name.encode() + b'\n'


def _text(value: str) -> bytes:
    data = value.encode()
    return b'X' + struct.pack('<I', len(data)) + data


def _raw(data: bytes) -> bytes:
    """bytes, as protocol-2 pickles (and torch.save) write them."""
    return (_global('_codecs', 'encode') + _text(data.decode('latin1')) +
            _text('latin1') + b'\x86R')


def _int(value: int) -> bytes:
    return b'J' + struct.pack('<i', value)


def _dtype_f8() -> bytes:
    return (_global('numpy', 'dtype') + _text('f8') + b'\x89\x88\x87R' +
            b'(' + _int(3) + _text('<') + b'NNN' + _int(-1) + _int(-1) +
            _int(0) + b'tb')


def _array(n: int) -> bytes:
    return (_global('numpy._core.multiarray', '_reconstruct') +
            _global('numpy', 'ndarray') + _int(0) + b'\x85' + _raw(b'b') +
            b'\x87R' + b'(' + _int(1) + _int(n) + b'\x85' + _dtype_f8() +
            b'\x89' + _raw(bytes(8 * n)) + b'tb')


def use_after_free_pickle() -> bytes:
    """An array, a view on its buffer, the array's state set again (which
    frees the buffer under the view), the view handed to HistoryBuffer.
    (A list holds the steps: torch's unpickler has no POP.)"""
    return (
        b'\x80\x02]' + _array(4096) + b'q\x01a' +  # memo 1: the array
        _global('numpy', 'ndarray') + b'(' + _int(4096) + b'\x85' +
        _dtype_f8() + b'h\x01tR' + b'q\x02a' +  # memo 2: a view on it
        b'h\x01' + b'(' + _int(1) + _int(1) + b'\x85' + _dtype_f8() +
        b'\x89' + _raw(bytes(8)) + b'tba' +  # its buffer freed
        b'}' + _text('message_hub') +
        _global('mmengine.logging.history_buffer', 'HistoryBuffer') +
        b')\x81' + b'}' + _text('_log_history') + b'h\x02' + b's' +
        _text('_count_history') + b'h\x02' + b's' + b'b' + b'sa.')


def class_state_pickle(attribute: str) -> bytes:
    """``getattr(HistoryBuffer, attribute)``: reaching the class's state."""
    return (b'\x80\x02}' + _text('x') +
            _global('builtins', 'getattr') +
            _global('mmengine.logging.history_buffer', 'HistoryBuffer') +
            _text(attribute) + b'\x86Rs.')


def _torch_file(path: str, pickle_bytes: bytes) -> str:
    """A torch.save zip whose data.pkl is ``pickle_bytes``."""
    blob = io.BytesIO()
    torch.save({}, blob)
    blob.seek(0)
    with zipfile.ZipFile(blob) as src, zipfile.ZipFile(path, 'w') as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.endswith('data.pkl'):
                data = pickle_bytes
            dst.writestr(item, data)
    return path


def _statistics_snapshot():
    return dict(HistoryBuffer._statistics_methods)


CRAFTED = {
    'use_after_free': use_after_free_pickle,
    'getattr_dict': lambda: class_state_pickle('__dict__'),
    'getattr_statistics': lambda: class_state_pickle('_statistics_methods'),
    'getattr_subclasses': lambda: class_state_pickle('__subclasses__'),
}


@pytest.mark.parametrize('kind', sorted(CRAFTED))
def test_crafted_file_is_refused_without_crash(kind, tmp_path):
    path = _torch_file(str(tmp_path / f'{kind}.pth'), CRAFTED[kind]())
    allow_list = set(map(str, torch.serialization.get_safe_globals()))
    statistics = _statistics_snapshot()
    loader = CheckpointLoader._schemes['']
    # outside a runner's resume: torch's own default list refuses it
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    with pytest.raises(pickle.UnpicklingError):
        CheckpointLoader.load_checkpoint(path)
    # inside the scoped trust of a resume: refused, naming the file
    trust = ScopedCheckpointTrust()
    trust.enter()
    with pytest.raises(CheckpointTrustError, match=f'{kind}.pth: refused'):
        CheckpointLoader.load_checkpoint(path)
    assert not trust.active  # the refusal undid the trust
    assert CheckpointLoader._schemes[''] is loader
    assert set(map(str, torch.serialization.get_safe_globals())) == \
        allow_list
    assert _statistics_snapshot() == statistics


def test_crafted_file_through_train_py_resume(tmp_path):
    path = _torch_file(str(tmp_path / 'crafted.pth'),
                       use_after_free_pickle())
    config = osp.join(REPO, 'configs', 'demo',
                      'resnet18-tiny_digits_infobatch.py')
    out = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir',
         str(tmp_path / 'w'), '--resume', path],
        capture_output=True, text=True, cwd=REPO, timeout=600)
    assert out.returncode == 1, (out.returncode, out.stderr[-3000:])
    assert 'crafted.pth: refused to load this checkpoint' in out.stderr


# -- mmib's own checkpoints --------------------------------------------------
@pytest.fixture(scope='module')
def hooked_run(tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('hooked'))
    cfg = demo_config(work_dir, epochs=2, num_samples=128,
                      infobatch=dict(ratio=0.5, delta=1.0))
    return work_dir, run(cfg)


def test_hooked_checkpoint_loads_with_default_weights_only(hooked_run):
    work_dir, _ = hooked_run
    path = osp.join(work_dir, 'epoch_2.pth')
    out = _python(
        'import sys, torch\n'
        f'c = torch.load({path!r}, weights_only=True)\n'
        'assert "mmib" not in sys.modules and "mmengine" not in sys.modules\n'
        'print(sorted(c), c["infobatch"]["version"])\n')
    assert out.returncode == 0, out.stderr[-3000:]
    assert "'infobatch'" in out.stdout and "'message_hub'" in out.stdout


def test_hooked_checkpoint_message_hub_round_trips(hooked_run):
    _, runner = hooked_run
    state = runner.message_hub.state_dict()
    plain = plain_message_hub(state)
    blob = io.BytesIO()
    torch.save(plain, blob)
    blob.seek(0)
    back = restore_plain_message_hub(torch.load(blob, weights_only=True))
    assert back['log_scalars'].keys() == state['log_scalars'].keys()
    for key, buffer in state['log_scalars'].items():
        logs, counts = buffer.data
        new_logs, new_counts = back['log_scalars'][key].data
        assert isinstance(back['log_scalars'][key], HistoryBuffer)
        np.testing.assert_array_equal(logs, new_logs)
        np.testing.assert_array_equal(counts, new_counts)
        assert back['log_scalars'][key].mean() == buffer.mean()
    assert back['runtime_info'].keys() == state['runtime_info'].keys()


def test_mmengine_format_checkpoint_resumes_with_one_log_line(tmp_path):
    work_dir = str(tmp_path)
    run(demo_config(work_dir, epochs=2, num_samples=64))  # no mmib hook
    path = osp.join(work_dir, 'epoch_1.pth')
    with pytest.raises(pickle.UnpicklingError):  # MMEngine's own format
        torch.load(path, weights_only=True)
    # the equal-cost tool reads it through the stand-ins too
    with pytest.raises(ValueError, match='holds no InfoBatch state'):
        read_infobatch_ledger(work_dir)
    allow_list = set(map(str, torch.serialization.get_safe_globals()))
    cfg = demo_config(work_dir, epochs=2, num_samples=64,
                      infobatch=dict(ratio=0.5))
    cfg.resume, cfg.load_from = True, path
    cfg.work_dir = osp.join(work_dir, 'resumed')
    resumed = run(cfg)
    assert resumed.epoch == 2
    log = open(resumed.logger.log_file).read()
    assert log.count("checkpoint is in MMEngine's own format") == 1
    loss = resumed.message_hub.get_scalar('train/loss')
    assert isinstance(loss, HistoryBuffer) and len(loss.data[0]) > 2
    assert not get_hook(resumed, 'InfoBatchHook').trust.active
    assert set(map(str, torch.serialization.get_safe_globals())) == \
        allow_list
