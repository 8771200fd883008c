"""mmib's scope in MMEngine: child registries and the ``mmib::`` prefix.

mmib registers its classes in MMEngine's root registries (so configs keep
their own ``default_scope``). This module adds what lets a config reuse
mmib's shipped configs by scope, as OpenMMLab packages allow::

    _base_ = ['mmib::classification/resnet18_8xb16_cifar10_infobatch.py']

* MMEngine reads ``mmib::PATH`` from ``mmib/.mim/configs/PATH`` only for
  module names in ``mmengine.config.utils.MODULE2PACKAGE``:
  :func:`register_config_scope` adds ``'mmib'`` (only that key, and only
  if absent). It has to run before the config is read: mmib's
  ``tools/train.py`` imports mmib first.
* MMEngine tags the dicts of such a base with ``_scope_='mmib'`` and then
  looks for ``mmib.registry`` and a child registry of scope ``'mmib'``:
  the registries below, one per MMEngine root registry, as
  mmpretrain's ``registry.py`` has them. Each finds everything of the root
  through its parent; the parts of a stock base (``mmpretrain::...``) keep
  their own scope.
"""
from importlib import import_module

from mmengine import registry as mmengine_registry
from mmengine.registry import Registry

SCOPE = 'mmib'
_ROOTS = ('RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'STRATEGIES',
          'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
          'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'OPTIMIZERS',
          'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS',
          'METRICS', 'EVALUATOR', 'TASK_UTILS', 'VISUALIZERS', 'VISBACKENDS',
          'LOG_PROCESSORS', 'INFERENCERS', 'FUNCTIONS')


class ScopeRegistry(Registry):
    """mmib's child of an MMEngine root registry.

    A config that reuses one of mmib's by scope (``_base_ =
    ['mmib::fashion_mnist/...']``) gets its dicts tagged ``_scope_='mmib'``
    by MMEngine, but they name classes of the codebase the shipped config
    builds on (mmpretrain's ``UniversalVisualizer``, mmseg's
    ``SegLocalVisualizer``), which live in that codebase's child registry,
    a sibling of this one. What is found neither here nor in the root is
    looked up there: first in the registry of the run's default scope (the
    latest non-mmib ``DefaultScope``), then in the one other codebase that
    has it; a name two codebases hold stays unresolved (the usual
    ``KeyError``), rather than built from a guessed codebase.
    """

    def get(self, key: str):
        found = super().get(key)
        if found is not None or not isinstance(key, str) or '.' in key \
                or '::' in key:
            return found
        return self._from_sibling(key)

    def _from_sibling(self, key: str):
        from mmengine.registry import DefaultScope
        root = self._get_root_registry()
        preferred = [
            instance.scope_name
            for instance in DefaultScope._instance_dict.values()
            if instance.scope_name != SCOPE
        ][-1:]
        for scope in preferred:
            if scope not in root._children:
                try:  # as MMEngine does for a default scope
                    import_module(f'{scope}.registry')
                except ImportError:
                    continue
            child = root._children.get(scope)
            if child is not None:
                child.import_from_location()
                if key in child._module_dict:
                    return child._module_dict[key]
        holders = []
        for scope, child in list(root._children.items()):
            if scope != SCOPE and key in child._module_dict:
                holders.append(child._module_dict[key])
        return holders[0] if len(holders) == 1 else None


def _child(root_name: str) -> Registry:
    root = getattr(mmengine_registry, root_name)
    existing = root._children.get(SCOPE)  # a re-import of this module
    return existing or ScopeRegistry(root.name, parent=root, scope=SCOPE)


RUNNERS = _child('RUNNERS')
RUNNER_CONSTRUCTORS = _child('RUNNER_CONSTRUCTORS')
LOOPS = _child('LOOPS')
HOOKS = _child('HOOKS')
STRATEGIES = _child('STRATEGIES')
DATASETS = _child('DATASETS')
DATA_SAMPLERS = _child('DATA_SAMPLERS')
TRANSFORMS = _child('TRANSFORMS')
MODELS = _child('MODELS')
MODEL_WRAPPERS = _child('MODEL_WRAPPERS')
WEIGHT_INITIALIZERS = _child('WEIGHT_INITIALIZERS')
OPTIMIZERS = _child('OPTIMIZERS')
OPTIM_WRAPPERS = _child('OPTIM_WRAPPERS')
OPTIM_WRAPPER_CONSTRUCTORS = _child('OPTIM_WRAPPER_CONSTRUCTORS')
PARAM_SCHEDULERS = _child('PARAM_SCHEDULERS')
METRICS = _child('METRICS')
EVALUATOR = _child('EVALUATOR')
TASK_UTILS = _child('TASK_UTILS')
VISUALIZERS = _child('VISUALIZERS')
VISBACKENDS = _child('VISBACKENDS')
LOG_PROCESSORS = _child('LOG_PROCESSORS')
INFERENCERS = _child('INFERENCERS')
FUNCTIONS = _child('FUNCTIONS')


def register_config_scope() -> None:
    """Let MMEngine resolve ``mmib::PATH`` in ``_base_`` (adds one key)."""
    from mmengine.config import utils
    utils.MODULE2PACKAGE.setdefault(SCOPE, SCOPE)
