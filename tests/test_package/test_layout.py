"""The package's layout as the layout page describes it: the product apart
from the kit, imports that go one way, a hook that only routes, and
``import mmib`` registering only the product's components."""
import ast
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: the product's layers, lowest first: a module imports only its own layer
#: or lower ones (the package roots' ``__init__`` files aside)
LAYERS = [
    ('mmib.version', 'mmib.dependencies', 'mmib.compat',
     'mmib.mmengine_fields', 'mmib.registry', 'mmib.core'),
    ('mmib.datasets', 'mmib.engine.optional_classes'),
    ('mmib.checkpoint', 'mmib.engine.loss_adapters', 'mmib.engine.loop'),
    ('mmib.engine.run', ),
    ('mmib.engine.hooks', ),
]


def layer_of(module: str) -> int:
    for rank, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + '.') for p in prefixes):
            return rank
    raise AssertionError(f'{module} is in no layer of LAYERS')


def modules(package: str):
    root = osp.join(REPO, package)
    for folder, _, names in os.walk(root):
        for name in sorted(names):
            if name.endswith('.py'):
                path = osp.join(folder, name)
                rel = osp.relpath(path, REPO)[:-3].replace(os.sep, '.')
                yield rel.removesuffix('.__init__'), path


def imports_of(module: str, path: str):
    """The project modules ``module`` imports (relative ones resolved)."""
    is_package = path.endswith('__init__.py')
    base = module.split('.') if is_package else module.split('.')[:-1]
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base[:len(base) - node.level + 1]
                names = ['.'.join(parent + ([node.module]
                                            if node.module else []))]
            else:
                names = [node.module]
        else:
            continue
        for name in names:
            if name.split('.')[0] in ('mmib', 'mmib_kit'):
                yield name


def test_the_product_imports_nothing_of_the_kit_and_no_layer_up():
    for module, path in modules('mmib'):
        if module in ('mmib', 'mmib.engine'):  # the package roots
            continue
        for name in imports_of(module, path):
            assert not name.startswith('mmib_kit'), (module, name)
            if name == 'mmib':
                continue
            assert layer_of(name) <= layer_of(module), (
                f'{module} (layer {layer_of(module)}) imports {name} '
                f'(layer {layer_of(name)})')


def test_core_imports_no_framework():
    for module, path in modules(osp.join('mmib', 'core')):
        tree = ast.parse(open(path).read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split('.')[0] in {
                    'copy', 'math', 'dataclasses', 'typing', 'numpy', 'torch'
                }, f'{module} imports {name}'


def test_the_hook_routes_and_the_engine_is_small():
    path = osp.join(REPO, 'mmib', 'engine', 'hooks', 'infobatch_hook.py')
    assert len(open(path).read().splitlines()) <= 200
    project = set(imports_of('mmib.engine.hooks.infobatch_hook', path))
    assert len(project) <= 6, project
    top = [n for n in os.listdir(osp.join(REPO, 'mmib', 'engine'))
           if n.endswith('.py') and n != '__init__.py']
    assert len(top) <= 8, top
    assert not osp.exists(osp.join(REPO, 'mmib', 'engine', 'checkpoint_io.py'))
    # every attribute of the hook is set in __init__
    tree = ast.parse(open(path).read())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    set_in = {}
    for fn in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
        for node in ast.walk(fn):
            if isinstance(node, ast.Attribute) and isinstance(
                    node.ctx, ast.Store) and getattr(node.value, 'id',
                                                     '') == 'self':
                set_in.setdefault(node.attr, set()).add(fn.name)
    assert all('__init__' in where for where in set_in.values()), set_in
    assert len(set_in) <= 5, set_in


def test_every_package_says_what_it_owns():
    for package in ('mmib', 'mmib_kit'):
        for module, path in modules(package):
            if path.endswith('__init__.py'):
                doc = ast.get_docstring(ast.parse(open(path).read()))
                assert doc, f'{module} has no docstring'


def test_import_mmib_registers_only_the_products_components():
    code = '''
import json
import mmib
from mmengine import registry
found = {}
for name in ('DATASETS', 'DATA_SAMPLERS', 'HOOKS', 'MODELS', 'TRANSFORMS',
             'METRICS'):
    reg = getattr(registry, name)
    found[name] = sorted(k for k, v in reg.module_dict.items()
                         if v.__module__.split('.')[0] in ('mmib', 'mmib_kit'))
print(json.dumps(found))
'''
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    found = json.loads(out.strip().splitlines()[-1])
    assert found == {
        'DATASETS': ['InfoBatchDataset'],
        'DATA_SAMPLERS': ['InfoBatchSampler'],
        'HOOKS': ['CheckpointGuardHook', 'InfoBatchHook'],
        'MODELS': [], 'TRANSFORMS': [], 'METRICS': []}, found
    assert 'mmib_kit' not in out


@pytest.mark.parametrize('config', [
    'configs/fashion_mnist/smallcnn_fashion-mnist-4k_full.py',
    'configs/demo/resnet18-tiny_digits_full.py'])
def test_the_projects_configs_load_the_kit_themselves(config):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.custom_imports['imports'][:2] == ['mmib', 'mmib_kit']
