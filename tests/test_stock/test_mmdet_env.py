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


def probe(python: str, data_root: str, work_dir: str, hook) -> dict:
    argument = hook if isinstance(hook, str) else json.dumps(hook)
    out = sh([python, PROBE, data_root, work_dir, argument],
             cwd=osp.dirname(work_dir))
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_mask2former_rows_are_weighted_by_their_image(mmdet_python,
                                                      tiny_ade20k, tmp_path):
    """Queries and matched masks mapped to their images
    (MaskFormerHeadAdapter): with weights 1 the loss is the model's own,
    and every term is linear in the images' weights (each row weighted by
    exactly its image's weight), on one batch of the stock recipe."""
    check = probe(mmdet_python, tiny_ade20k, str(tmp_path / 'check'),
                  '--weights')
    assert check['adapters'][0] == 'MaskFormerHeadAdapter'
    assert check['unsplittable'] == []
    assert check['ones_vs_own'] <= 1e-5 * check['scale']
    assert check['mixed_vs_linear'] <= 1e-5 * check['scale']
    assert len(set(check['scores'])) == 4  # one score per image


def test_mask2former_trains_with_per_image_and_batch_scores(
        mmdet_python, tiny_ade20k, tmp_path):
    """The stock recipe trains and prunes with per-image scores, every
    image scored; with ``scores='batch'`` too."""
    for scores in ('sample', 'batch'):
        run = probe(mmdet_python, tiny_ade20k, str(tmp_path / scores),
                    dict(ratio=0.5, scores=scores))
        assert run['error'] is None, run
        assert run['unsplittable'] == []
        assert run['seen'] == run['num_samples'] == 40
        assert run['saved'] > 0
