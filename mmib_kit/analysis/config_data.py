"""A config that MMEngine dumped into a work dir, read as data.

MMEngine's config loader runs the file it reads: a work dir someone hands over
could hold any code under the dump's name. MMEngine's dump is plain data
(``name = dict(...)`` assignments of literals), so it is parsed and only
literals are evaluated; anything else is refused by line, and the text is
bounded in size before it is parsed.
"""
import ast
import os.path as osp
from typing import Any

from mmengine.config import Config

#: the largest dumped config read (a dump is a few kB)
MAX_CONFIG_BYTES = 4 << 20
_NAMES = {'True': True, 'False': False, 'None': None}


class ConfigDataError(ValueError):
    """A dumped config that is not plain data."""


def _value(node: ast.AST, path: str, depth: int = 0) -> Any:
    if depth > 64:
        raise ConfigDataError(f'{path}: nested deeper than 64 levels')
    where = f'{path}, line {getattr(node, "lineno", "?")}'
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in _NAMES:
        return _NAMES[node.id]
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_value(e, path, depth + 1) for e in node.elts]
        return (tuple(items) if isinstance(node, ast.Tuple) else
                set(items) if isinstance(node, ast.Set) else items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ConfigDataError(f'{where}: a ** expansion is not data')
        return {
            _value(k, path, depth + 1): _value(v, path, depth + 1)
            for k, v in zip(node.keys, node.values)
        }
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == 'dict' and not node.args
            and all(k.arg is not None for k in node.keywords)):
        return {k.arg: _value(k.value, path, depth + 1)
                for k in node.keywords}
    if (isinstance(node, ast.UnaryOp)
            and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float))):
        value = node.operand.value
        return -value if isinstance(node.op, ast.USub) else value
    raise ConfigDataError(
        f'{where}: {type(node).__name__} is not a literal; a config that '
        'MMEngine dumped holds only literals and dict(...)')


def read_dumped_config(path: str) -> Config:
    """The config MMEngine dumped at ``path``, evaluated as literals only.

    Args:
        path (str): A ``.py`` file that ``Config.dump`` wrote.

    Raises:
        ConfigDataError: A file too large, not Python, with a statement
            other than ``name = literal``, or a source config (``_base_``):
            nothing of it is run.
    """
    size = osp.getsize(path)
    if size > MAX_CONFIG_BYTES:
        raise ConfigDataError(
            f'{path} is {size:,} bytes; a dumped config is a few kB (at '
            f'most {MAX_CONFIG_BYTES:,} read): not a config MMEngine wrote.')
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise ConfigDataError(f'{path} is not a dumped config: {error}')
    data = {}
    for statement in tree.body:
        if not (isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            raise ConfigDataError(
                f'{path}, line {statement.lineno}: '
                f'{type(statement).__name__} is not an assignment of data; '
                'a config MMEngine dumped holds only name = literal lines. '
                'Nothing of the file was run.')
        data[statement.targets[0].id] = _value(statement.value, path)
    if '_base_' in data:
        raise ConfigDataError(
            f'{path} is a source config (it has _base_): pass the config '
            'MMEngine dumped into the work dir, which is merged.')
    return Config(data, filename=path)
