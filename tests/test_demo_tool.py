"""tools/demo.py's pieces that need no training: options and the table."""
import os.path as osp
import sys

from conftest import REPO
from mmengine.config import Config, DictAction

sys.path.insert(0, osp.join(REPO, 'tools'))
import demo  # noqa: E402


def test_schedule_options_rewrite_the_whole_schedule():
    cfg = Config.fromfile(demo.INFOBATCH)
    options = {}
    for item in demo.schedule_options(100):
        key, value = item.split('=')
        options[key] = DictAction._parse_iterable(value)
    cfg.merge_from_dict(options)
    assert cfg.train_cfg.max_epochs == 100
    assert cfg.param_scheduler[1].end == 100
    assert cfg.param_scheduler[1].T_max == 99
    assert cfg.default_hooks.checkpoint.interval == 100


def test_table_reports_means_and_savings_against_the_first_run():
    rows = [
        dict(name='full data', acc=99.0, samples=1000, iters=100, wall=10.0),
        dict(name='full data', acc=98.0, samples=1000, iters=100, wall=12.0),
        dict(name='InfoBatch', acc=97.0, samples=600, iters=60, wall=7.0),
        dict(name='InfoBatch', acc=97.0, samples=700, iters=70, wall=8.0),
    ]
    lines = demo.table(rows).splitlines()
    assert lines[2] == ('| full data | 98.50 ± 0.71 | 1,000 | 0.0% | 100 '
                        '| 11.0 |')
    assert lines[3] == '| InfoBatch | 97.00 ± 0.00 | 650 | 35.0% | 65 | 7.5 |'
