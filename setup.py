"""mmib: InfoBatch for OpenMMLab (MMEngine, mmpretrain, mmsegmentation).

``install_requires`` holds ranges (``requirements/runtime.txt``) and never
torch, torchvision or mmcv: those stay the user's (a CUDA build of torch,
the full mmcv). Extras: ``mmib[cls]`` (mmpretrain), ``mmib[seg]``
(mmsegmentation), ``mmib[all]``, ``mmib[tests]``, ``mmib[mim]`` (mmcv's
range). The exact stack of CI and the README's commands is
``requirements/ci.txt``, used only by ``pip install -r``.

The package carries mmib's configs and tools in ``mmib/.mim/`` (symbolic
links to the repository's ``configs/`` and ``tools/``, followed when a wheel
is built), where MMEngine finds ``_base_ = 'mmib::PATH'``.
"""
import os
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name: str) -> list:
    """The requirement lines of ``requirements/<name>``, comments dropped."""
    with open(osp.join(HERE, 'requirements', name)) as f:
        lines = [line.split('#')[0].strip() for line in f]
    return [r for r in lines if r and not r.startswith('-')]


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'mmib', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def mim_files() -> list:
    """Every file under ``mmib/.mim`` (configs and tools), for the wheel."""
    root = osp.join(HERE, 'mmib')
    files = []
    for folder, _, names in os.walk(osp.join(root, '.mim'), followlinks=True):
        if '__pycache__' in folder:
            continue
        files += [
            osp.relpath(osp.join(folder, n), root) for n in names
            if n.endswith(('.py', '.sh', '.md', '.yml'))
        ]
    return files


optional = read_requirements('optional.txt')
cls = [r for r in optional if r.startswith('mmpretrain')]
seg = [r for r in optional if r.startswith('mmsegmentation')]

setup(
    name='mmib',
    version=read_version(),
    description='InfoBatch (unbiased dynamic data pruning) for OpenMMLab',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmib', 'mmib.*', 'mmib_kit', 'mmib_kit.*']),
    package_data={'mmib': mim_files()},
    include_package_data=False,
    python_requires='>=3.9',
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'cls': cls,
        'seg': seg,
        'all': cls + seg,
        'tests': read_requirements('tests.txt'),
        'mim': read_requirements('mminstall.txt'),
    },
    license='Apache-2.0',
    zip_safe=False,
)
