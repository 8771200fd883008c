"""What a user of the pinned CPU stack gets from PyPI's torchvision: its
compiled ops do not load beside torch's CPU wheel; ``import mmib`` (first,
as ``custom_imports`` and mmib's ``tools/train.py`` do) makes it import,
without it mmpretrain stops with torchvision's own error (README, "CPU")."""
import subprocess
import sys

import pytest


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=180)


def test_mmpretrain_imports_with_mmib_first_and_names_torchvision_without():
    alone = _python('import mmpretrain.datasets')
    if alone.returncode == 0:
        pytest.skip('torchvision imports on its own here (a build that '
                    'matches torch): nothing for mmib to fix')
    assert 'torchvision::nms does not exist' in alone.stderr
    fixed = _python('import mmib\nimport mmpretrain.datasets\n'
                    'import torchvision\nprint(torchvision.__version__)')
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert fixed.stdout.strip().splitlines()[-1].startswith('0.')
