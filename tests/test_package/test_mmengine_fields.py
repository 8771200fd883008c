"""Every private MMEngine field mmib touches exists in the installed
MMEngine (``mmib/engine/mmengine_fields.py`` is the one place)."""
import importlib
import inspect
import os.path as osp
import re

from conftest import REPO, demo_config, run

from mmib import mmengine_fields


def test_each_named_field_is_set_by_its_mmengine_class():
    for path, attr in mmengine_fields.FIELDS:
        module, name = path.rsplit('.', 1)
        cls = getattr(importlib.import_module(module), name)
        sources = ''.join(inspect.getsource(c) for c in cls.__mro__
                          if c.__module__.startswith('mmengine'))
        assert re.search(rf'self\.{attr}(: [^=]+)? =|    {attr}: ',
                         sources), (path, attr)


def test_no_other_module_of_mmib_touches_private_runner_fields():
    pattern = re.compile(r'\b(?:runner|loop|train_loop|wrapper|'
                         r'CheckpointLoader)\._[a-z]\w*')
    for folder, _, files in __import__('os').walk(osp.join(REPO, 'mmib')):
        for name in files:
            path = osp.join(folder, name)
            if not name.endswith('.py') or name == 'mmengine_fields.py':
                continue
            assert not pattern.search(open(path).read()), path


def test_the_fields_do_what_the_hook_needs_with_the_pinned_mmengine(tmp_path):
    """A shortened run: the loop's length and the message hub's agree."""
    runner = run(demo_config(str(tmp_path), epochs=3, num_samples=128,
                             infobatch=dict(ratio=0.5, delta=0.7)))
    assert runner.max_iters == runner.iter  # the loop ended where it said
    assert runner.message_hub.get_info('max_iters') == runner.max_iters
    assert mmengine_fields.is_resuming(runner) is False
    assert mmengine_fields.diff_rank_seed(runner) is False
