"""The benchmark's statistics and report (paired comparisons, verdicts)."""
import math

import pytest

from mmib_kit.analysis.stats import (describe, paired_comparison,
                                     t_critical_95)
from mmib_kit.bench.report import arm_table, paired_table, verdict


def test_describe_mean_and_sample_sd():
    mean, sd = describe([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert sd == pytest.approx(math.sqrt(5 / 3))
    assert describe([7.0]) == (7.0, 0.0)
    with pytest.raises(ValueError):
        describe([])


def test_paired_comparison_t_statistic_by_hand():
    a = {0: 90.0, 1: 91.0, 2: 89.5, 3: 90.5, 4: 90.0}
    b = {0: 89.0, 1: 90.5, 2: 89.0, 3: 89.0, 4: 89.5, 9: 0.0}  # 9: unpaired
    c = paired_comparison(a, b)
    diffs = [1.0, 0.5, 0.5, 1.5, 0.5]
    mean = sum(diffs) / 5
    sd = math.sqrt(sum((d - mean)**2 for d in diffs) / 4)
    assert c.n == 5 and c.mean == pytest.approx(mean)
    assert c.sd == pytest.approx(sd)
    assert c.t == pytest.approx(mean / (sd / math.sqrt(5)))
    assert c.significant  # t = 4.0 > 2.776
    assert c.verdict('ahead', 'behind', 'same') == 'ahead'


def test_paired_comparison_edge_cases():
    same = paired_comparison({0: 1.0, 1: 2.0}, {0: 1.0, 1: 2.0})
    assert same.t == 0.0 and not same.significant
    constant = paired_comparison({0: 2.0, 1: 3.0}, {0: 1.0, 1: 2.0})
    assert constant.t == math.inf and constant.significant
    single = paired_comparison({0: 2.0}, {0: 1.0})
    assert single.n == 1 and not single.significant
    with pytest.raises(ValueError, match='share no seed'):
        paired_comparison({0: 1.0}, {1: 1.0})
    assert t_critical_95(4) == 2.776 and t_critical_95(11) == 2.228
    assert t_critical_95(100) == 1.96


def _results():
    rows = []
    for seed, (full, ib, short) in enumerate([(90, 89.0, 88.0),
                                              (91, 90.1, 89.0),
                                              (90.5, 89.4, 88.6)]):
        rows += [
            dict(arm='full', seed=seed, score=full, samples=1000, iters=100,
                 train_seconds=10.0),
            dict(arm='infobatch', seed=seed, score=ib, samples=700, iters=72,
                 train_seconds=7.2),
            dict(arm='shorter', seed=seed, score=short, samples=700,
                 iters=70, train_seconds=7.0),
        ]
    return rows


def test_report_tables_and_verdict():
    labels = dict(full='full data', infobatch='InfoBatch',
                  shorter='shorter schedule')
    table = arm_table(_results(), labels)
    assert '| InfoBatch | 3 | 89.50 ± 0.56 | 700 | 30.0% | 72 | 7.2 | 0.93 |' \
        in table
    paired = paired_table(_results(), labels)
    # mean -1.00, sd 0.10, 3 pairs: -1.00 +- 4.303 * 0.10 / sqrt(3)
    assert '| InfoBatch − full data | 3 | -1.00 ± 0.10 | [-1.25, -0.75] |' \
        in paired
    text = verdict(_results(), labels)
    assert 'InfoBatch is not lossless (a loss beyond 0.3 points)' in text
    assert 'ahead of shorter schedule (+0.97' in text


def test_lossless_only_inside_the_margin_and_ahead_only_above_zero():
    labels = dict(full='full', infobatch='IB', shorter='short')
    rows = []
    # IB - full: 0.1, -0.1, 0.0, 0.05, -0.05 (CI about +-0.1): lossless;
    # IB - short: 0.2, -0.3, 0.4, -0.2, 0.1: not shown ahead
    for seed, (d_full, d_short) in enumerate([(0.1, 0.2), (-0.1, -0.3),
                                              (0.0, 0.4), (0.05, -0.2),
                                              (-0.05, 0.1)]):
        rows += [dict(arm='full', seed=seed, score=90.0, samples=10,
                      iters=1, train_seconds=1.0),
                 dict(arm='infobatch', seed=seed, score=90.0 + d_full,
                      samples=7, iters=1, train_seconds=1.0),
                 dict(arm='shorter', seed=seed, score=90.0 + d_full - d_short,
                      samples=7, iters=1, train_seconds=1.0)]
    text = verdict(rows, labels)
    assert 'IB is lossless within ±0.3 points' in text
    assert 'not shown ahead of short' in text
    # a drop of 0.85 over 3 seeds with a wide interval is not "lossless"
    wide = [r for r in rows if r['seed'] < 3]
    for r in wide:
        if r['arm'] == 'infobatch':
            r['score'] = 90.0 - 0.85 + 0.3 * (r['seed'] - 1)
    assert 'IB is not shown lossless at ±0.3 points' in verdict(wide, labels)
