"""The supported ranges: one set of numbers, checked at ``import mmib``."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

from conftest import REPO
from mmib import dependencies


def requirement_ranges(name: str) -> dict:
    ranges = {}
    with open(osp.join(REPO, 'requirements', name)) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line:
                pkg, spec = re.match(r'([\w-]+)(.*)', line).groups()
                ranges[pkg] = spec
    return ranges


def test_ranges_are_those_of_the_requirements_files():
    runtime = requirement_ranges('runtime.txt')
    assert runtime == {
        name: dependencies.specifier(r)
        for name, r in dependencies.REQUIRED.items() if name != 'torch'
    }
    assert requirement_ranges('mminstall.txt') == {
        'mmcv': dependencies.specifier(dependencies.MMCV)}
    assert requirement_ranges('optional.txt') == {
        name: dependencies.specifier(r)
        for name, r in dependencies.OPTIONAL.items()}
    # the pins of the one pinned stack lie in every range
    pins = {k: v.lstrip('=') for k, v in requirement_ranges('ci.txt').items()}
    for name, supported in {**dependencies.REQUIRED, **dependencies.OPTIONAL,
                            'mmcv-lite': dependencies.MMCV}.items():
        assert dependencies.in_range(pins[name], supported), name


@pytest.mark.parametrize('version,expected', [
    ('2.13.0+cpu', True), ('2.5.0', True), ('2.4.1', False),
    ('2.5.0rc1', True), ('10.0', True)])
def test_torch_lower_bound(version, expected):
    assert dependencies.in_range(version, ('2.5.0', None)) is expected


@pytest.mark.parametrize('version,expected', [
    ('0.10.3', True), ('0.10.7', True), ('0.10.2', False), ('0.11.0', False),
    ('0.9.1', False)])
def test_mmengine_range(version, expected):
    assert dependencies.in_range(version, ('0.10.3', '0.11.0')) is expected


def check_with(monkeypatch, **versions):
    found = {'torch': '2.13.0+cpu', 'mmengine': '0.10.7', 'numpy': '2.4.6',
             'mmcv-lite': '2.1.0', **versions}
    monkeypatch.setattr(dependencies, 'installed_version',
                        lambda name: found.get(name))
    dependencies.check_dependencies()


def test_in_range_stack_passes(monkeypatch):
    check_with(monkeypatch)
    check_with(monkeypatch, **{'mmcv-lite': None, 'mmcv': '2.1.0'})


@pytest.mark.parametrize('versions,message', [
    (dict(numpy='1.24.4'),
     r"numpy 1\.24\.4 is installed; mmib supports numpy>=1\.26\.0,<3\.0\.0"),
    (dict(mmengine='0.9.1'), r'mmengine 0\.9\.1 .*mmengine>=0\.10\.3,<0\.11'),
    (dict(torch=None), r'torch is not installed; mmib needs torch>=2\.5\.0'),
    ({'mmcv-lite': None}, r'neither mmcv nor mmcv-lite is installed'),
    ({'mmcv-lite': None, 'mmcv': '1.7.2'}, r'mmcv 1\.7\.2 is installed'),
    (dict(mmpretrain='0.25.0'), r'mmpretrain 0\.25\.0 .*>=1\.2\.0,<2\.0\.0'),
])
def test_out_of_range_names_package_version_and_range(monkeypatch, versions,
                                                      message):
    with pytest.raises(dependencies.DependencyError, match=message):
        check_with(monkeypatch, **versions)


def test_import_mmib_with_an_old_numpy_says_so_in_one_line(tmp_path):
    """A real interpreter whose metadata says numpy 1.20.0: ``import mmib``
    ends with the named error, not a traceback from deep inside."""
    info = tmp_path / 'numpy-1.20.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text(
        'Metadata-Version: 2.1\nName: numpy\nVersion: 1.20.0\n')
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    out = subprocess.run([sys.executable, '-c', 'import mmib'], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith('mmib.dependencies.DependencyError: mmib cannot '
                           'be imported: numpy 1.20.0 is installed'), last
    assert "pip install 'numpy>=1.26.0,<3.0.0'" in last


def test_import_mmib_adds_only_its_scope_to_mmengine():
    """The ``mmib::`` prefix: one MODULE2PACKAGE key and child registries of
    scope ``mmib``; nothing else of MMEngine's tables changes."""
    probe = (
        'import mmengine.registry as r\n'
        'from mmengine.config import utils\n'
        'roots = [getattr(r, n) for n in dir(r) '
        'if isinstance(getattr(r, n), r.Registry)]\n'
        'before = dict(utils.MODULE2PACKAGE), '
        '[sorted(x._children) for x in roots], '
        '[sorted(x._module_dict) for x in roots]\n'
        'import mmib\n'
        'after = dict(utils.MODULE2PACKAGE)\n'
        'assert set(after) - set(before[0]) == {"mmib"}, after\n'
        'assert {k: after[k] for k in before[0]} == before[0]\n'
        'for x, children in zip(roots, before[1]):\n'
        '    new = set(x._children) - set(children)\n'
        '    assert new <= {"mmib"}, (x.name, new)\n'
        '    assert x._children.get("mmib") is None or '
        'x._children["mmib"].parent is x\n'
        'print("ok")\n')
    out = subprocess.run([sys.executable, '-c', probe], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == 'ok', out.stderr
