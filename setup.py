"""mmib: InfoBatch for OpenMMLab (MMEngine, mmpretrain, mmsegmentation)."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements() -> list:
    """Runtime requirements from requirements.txt, the one place of pins."""
    with open(osp.join(HERE, 'requirements.txt')) as f:
        lines = [line.split('#')[0].strip() for line in f]
    return [r for r in lines if r and not r.startswith('pytest')]


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'mmib', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmib',
    version=read_version(),
    description='InfoBatch (unbiased dynamic data pruning) for OpenMMLab',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmib', 'mmib.*']),
    python_requires='>=3.9',
    install_requires=read_requirements(),
    license='Apache-2.0',
)
