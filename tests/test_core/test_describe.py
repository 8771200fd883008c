"""The log lines: what each policy and pass says."""
from mmib.core import (POLICIES, PassGeometry, PassPolicy, PruningSettings,
                       build_policy, register_policy)

from core_tables import spread_table


def test_log_lines_say_what_each_policy_does():
    from mmib.core.describe import describe_pass, describe_run
    table = spread_table(100)
    orderdp = build_policy('orderdp', PruningSettings(ratios=(0.4, )))
    plan = orderdp.plan(table, 1, 8, seed=0)
    line = describe_pass(1, plan, True, PassGeometry(8, 64, 0.875, 5))
    assert '60/100 samples, 40 pruned by the policy' in line
    assert 'thresholds []' not in line
    text, _ = describe_run(orderdp, 100, PassGeometry(8, 64, 0.875),
                           ['loss'])
    assert 'passes 2-8 prune;' in text and 'anneal on' not in text

    @register_policy('half_test', force=True)
    class Half(PassPolicy):
        def plan(self, table, pass_index, num_passes, seed, layout=None):
            raise NotImplementedError

    try:
        text, _ = describe_run(build_policy('half_test', PruningSettings(
            ratios=(0.5, ))), 100, PassGeometry(8, 64, 0.875), ['loss'])
        assert 'the policy plans every pass after it' in text
        assert 'anneal' not in text
    finally:
        POLICIES.pop('half_test', None)
