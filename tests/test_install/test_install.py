"""mmib joins an environment a user already has, and its wheel works.

A venv gets an older but supported stack (numpy 1.26, mmengine 0.10.3, the
lower end of the ranges; torch 2.13 CPU, the one CPU wheel here; mmcv-lite,
mmpretrain, mmseg), with nothing of mmib. Into it: ``pip install --dry-run
--report`` of the built wheel must install nothing but mmib; the install
then changes nothing else; the repository's own ratio=0 tests (cls, seg)
and compat tests run there against the installed wheel; a config that
``_base_``-s an mmib config by scope (``mmib::``) trains through the
wheel's ``.mim/tools/train.py``. Every step runs pip against the package
registry, as a fresh machine would: nothing is cached by this test.
"""
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

from conftest import REPO

OLDER_STACK = [
    'torch==2.13.0', 'torchvision==0.28.0', 'numpy==1.26.4',
    'mmengine==0.10.3', 'mmcv-lite==2.1.0', 'mmpretrain==1.2.0',
    'mmsegmentation==1.2.2', 'setuptools==80.9.0', 'scikit-learn==1.9.1',
    'ftfy', 'regex', 'pytest'
]
# the repository's tests that train with ratio=0 against the plain run
# (classification epoch-based, iteration-based, mmseg), and the compat fixes
IN_VENV_TESTS = [
    'tests/test_engine/test_hooks/test_runner_classification.py::'
    'test_ratio_zero_changes_nothing',
    'tests/test_engine/test_loop/test_iteration_loop.py::'
    'test_ratio_zero_matches_the_plain_infinite_sampler_run',
    'tests/test_engine/test_hooks/test_segmentation.py::'
    'test_ratio_zero_equals_plain_mmseg_and_schedule_is_covered',
    'tests/test_package/test_compat.py',
]

pytestmark = pytest.mark.install


def sh(args, cwd=None, timeout=900, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(args, cwd=cwd, capture_output=True, text=True,
                         timeout=timeout, **kw)
    assert out.returncode == 0, (args, out.stdout[-3000:], out.stderr[-3000:])
    return out


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> str:
    dist = str(tmp_path_factory.mktemp('dist'))
    sh([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '-q', '-w', dist,
        REPO])
    (path, ) = glob.glob(osp.join(dist, 'mmib-*.whl'))
    return path


@pytest.fixture(scope='module')
def venv(tmp_path_factory) -> str:
    """A venv holding the older stack, without mmib."""
    root = str(tmp_path_factory.mktemp('older_stack') / 'venv')
    sh([sys.executable, '-m', 'venv', root])
    sh([osp.join(root, 'bin', 'python'), '-m', 'pip', 'install', '-q'] +
       OLDER_STACK)
    return root


def freeze(venv: str) -> set:
    out = sh([osp.join(venv, 'bin', 'python'), '-m', 'pip', 'freeze'])
    return set(out.stdout.splitlines())


def test_wheel_metadata_has_ranges_and_no_torch_or_mmcv(wheel):
    import zipfile
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = z.read(next(n for n in names
                           if n.endswith('.dist-info/METADATA'))).decode()
    required = [line.split(':', 1)[1].strip() for line in meta.splitlines()
                if line.startswith('Requires-Dist:')
                and 'extra ==' not in line]
    assert required, meta
    for req in required:
        assert '==' not in req, req
        name = re.match(r'[\w-]+', req).group(0).lower()
        assert name not in ('torch', 'torchvision', 'mmcv', 'mmcv-lite'), req
    assert any(r.startswith('mmengine') for r in required)
    # OpenMMLab's layout: configs and tools inside the package
    assert ('mmib/.mim/configs/demo/resnet18-tiny_digits_infobatch.py'
            in names)
    assert 'mmib/.mim/tools/train.py' in names
    assert 'mmib/.mim/model-index.yml' in names
    # the licence setup.py names, as a file in the repository and the wheel
    assert 'License: Apache-2.0' in meta
    licence = next(n for n in names if n.endswith('.dist-info/LICENSE')
                   or '/licenses/LICENSE' in n)
    with zipfile.ZipFile(wheel) as z:
        text = z.read(licence).decode()
    assert 'Apache License' in text and 'Version 2.0, January 2004' in text
    assert open(osp.join(REPO, 'LICENSE')).read() == text


def test_dry_run_into_the_older_stack_installs_only_mmib(venv, wheel):
    python = osp.join(venv, 'bin', 'python')
    for target in (wheel, f'mmib[all] @ file://{wheel}'):
        report = osp.join(osp.dirname(venv), 'report.json')
        sh([python, '-m', 'pip', 'install', '--dry-run', '-q', '--report',
            report, target])
        with open(report) as f:
            install = json.load(f)['install']
        names = [i['metadata']['name'] for i in install]
        assert names == ['mmib'], (target, names)


def test_install_changes_nothing_else_and_trains_there(venv, wheel):
    python = osp.join(venv, 'bin', 'python')
    before = freeze(venv)
    sh([python, '-m', 'pip', 'install', '-q', wheel])
    after = freeze(venv)
    assert {p for p in after - before if not p.startswith('mmib')} == set()
    assert before - after == set()
    probe = sh([python, '-c',
                'import mmib, numpy, mmengine, os\n'
                'from mmengine.registry import HOOKS\n'
                'assert HOOKS.get("InfoBatchHook") is not None\n'
                'print(mmib.__file__, numpy.__version__, mmengine.__version__)'
                ], cwd=osp.dirname(venv)).stdout.split()
    assert probe[0].startswith(venv), probe  # the wheel, not the checkout
    assert probe[1:] == ['1.26.4', '0.10.3']
    # the repository's ratio=0 tests, run against the installed wheel
    # (cwd outside the checkout, so `import mmib` finds the venv's copy)
    env = dict(os.environ, PYTHONPATH='')
    out = sh([python, '-m', 'pytest', '-q', '-p', 'no:cacheprovider'] +
             [osp.join(REPO, t) for t in IN_VENV_TESTS],
             cwd=osp.dirname(venv), env=env, timeout=1200)
    assert re.search(r'\b\d+ passed\b', out.stdout), out.stdout[-2000:]
    assert 'failed' not in out.stdout.splitlines()[-1]


def test_a_config_basing_on_an_mmib_config_by_scope_trains(venv, wheel,
                                                           tmp_path):
    python = osp.join(venv, 'bin', 'python')
    sh([python, '-m', 'pip', 'install', '-q', '--no-deps', wheel])
    config = tmp_path / 'my_resnet18_infobatch.py'
    config.write_text(
        "_base_ = ['mmib::classification/resnet18_8xb16_cifar10_"
        "infobatch.py']\n"
        "# the stock mmpretrain recipe with mmib's line, on offline digits\n"
        'model = dict(backbone=dict(in_channels=1))\n'
        'data_preprocessor = dict(num_classes=10, mean=[127.5], '
        'std=[127.5], to_rgb=False)\n'
        'train_dataloader = dict(batch_size=16, dataset=dict(_delete_=True, '
        "type='DigitsDataset', split='train', indices=64, "
        "pipeline=[dict(type='PackInputs')]))\n"
        'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n'
        'test_dataloader = None\ntest_cfg = None\ntest_evaluator = None\n'
        'train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=10)\n'
        "param_scheduler = dict(type='MultiStepLR', by_epoch=True, "
        'milestones=[2], gamma=0.1)\n'
        'default_hooks = dict(logger=dict(interval=1))\n')
    train_py = sh([
        python, '-c', 'import mmib, os; print(os.path.join(os.path.dirname('
        "mmib.__file__), '.mim', 'tools', 'train.py'))"
    ], cwd=str(tmp_path)).stdout.strip()
    out = sh([python, train_py, str(config), '--work-dir',
              str(tmp_path / 'work')], cwd=str(tmp_path), timeout=600)
    log = out.stdout + out.stderr
    assert 'InfoBatch finished: trained' in log, log[-3000:]
    assert osp.exists(tmp_path / 'work' / 'epoch_3.pth')
