"""Recipes that need the full mmcv (``mmcv.ops``): mmseg's Mask2Former, in a
virtual environment built once per test run from ``../shared/wheels``'s
mmcv 2.1.0 wheel and ``mmdet==3.3.0``; skipped where the wheel is absent
(a user's machine)."""
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest

from conftest import REPO

WHEELS = sorted(glob.glob(osp.join(REPO, '..', 'shared', 'wheels',
                                   'mmcv-2.1.0-*.whl')))
STACK = ['torch==2.13.0', 'torchvision==0.28.0', 'mmengine==0.10.7',
         'mmdet==3.3.0', 'mmsegmentation==1.2.2', 'numpy==2.4.6',
         'setuptools==80.9.0', 'ftfy==6.3.1', 'regex==2026.11.19']
PROBE = osp.join(REPO, 'tests', 'test_stock', 'mmdet_env',
                 'mask2former_probe.py')

pytestmark = [
    pytest.mark.mmdet,
    pytest.mark.skipif(not WHEELS, reason='no full mmcv wheel in '
                       '../shared/wheels: mmdet cannot import on mmcv-lite')
]


def sh(args, timeout=900, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(args, capture_output=True, text=True,
                         timeout=timeout, **kw)
    assert out.returncode == 0, (args, out.stdout[-3000:], out.stderr[-3000:])
    return out


@pytest.fixture(scope='module')
def mmdet_python(tmp_path_factory) -> str:
    """The python of a venv with the full mmcv, mmdet and mmib."""
    root = str(tmp_path_factory.mktemp('mmdet_env') / 'venv')
    sh([sys.executable, '-m', 'venv', root])
    python = osp.join(root, 'bin', 'python')
    sh([python, '-m', 'pip', 'install', '-q', WHEELS[-1]] + STACK)
    sh([python, '-m', 'pip', 'install', '-q', '--no-deps', '-e', REPO])
    return python


@pytest.fixture(scope='module')
def tiny_ade20k(tmp_path_factory) -> str:
    from mmib_kit.datasets.tiny_ade20k import write_tiny_ade20k
    root = str(tmp_path_factory.mktemp('tiny_ade20k_mmdet'))
    write_tiny_ade20k(root)
    return root


def probe(python: str, data_root: str, work_dir: str, hook: dict) -> dict:
    out = sh([python, PROBE, data_root, work_dir, json.dumps(hook)],
             cwd=osp.dirname(work_dir))
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_mask2former_trains_with_batch_scores(mmdet_python, tiny_ade20k,
                                              tmp_path):
    """Its loss rows are queries and matched masks: with per-sample scores
    the first step stops with the terms named and ``scores='batch'`` as a
    way out; with it the stock recipe trains and prunes."""
    refused = probe(mmdet_python, tiny_ade20k, str(tmp_path / 'refused'),
                    dict(ratio=0.5))
    assert refused['iters'] == 0
    assert "decode.loss_dice" in refused['error']
    assert "scores='batch'" in refused['error']
    batch = probe(mmdet_python, tiny_ade20k, str(tmp_path / 'batch'),
                  dict(ratio=0.5, scores='batch'))
    assert batch['error'] is None
    assert batch['unsplittable'] == ['decode_head.loss_cls',
                                     'decode_head.loss_dice',
                                     'decode_head.loss_mask']
    assert batch['seen'] == batch['num_samples'] == 40
    assert batch['saved'] > 0
