"""The settings a checkpoint keeps, and what a resume with other settings
says."""
from mmib.core.setting_changes import (check_settings, describe_changes,
                                       run_settings)


def test_settings_are_kept_as_plain_data():
    settings = run_settings(policy='infobatch', ratio=(0.5, 0.3),
                            options={'pool': 2}, scores='sample')
    assert settings == dict(policy='infobatch', ratio=[0.5, 0.3],
                            options={'pool': 2}, scores='sample')
    assert check_settings(settings) is None


def test_a_changed_score_kind_is_refused_with_the_way_out():
    error, warning = describe_changes(dict(scores='sample', ratio=0.5),
                                      dict(scores='batch', ratio=0.5), 3)
    assert warning is None
    assert "scores='batch' where the checkpoint was trained with " \
        "scores='sample'" in error
    assert "Resume with scores='sample', or start without --resume" in error


def test_other_changes_apply_from_the_next_pass_and_are_named():
    error, warning = describe_changes(
        dict(scores='sample', ratio=0.5, delta=0.875),
        dict(scores='sample', ratio=0.3, delta=0.875), 4)
    assert error is None
    assert 'ratio=0.3 (was 0.5)' in warning and 'delta' not in warning
    assert 'from pass 4 on' in warning
    # the same settings, or a checkpoint that recorded none: nothing to say
    same = dict(scores='sample', ratio=0.5)
    assert describe_changes(same, dict(same), 2) == (None, None)
    assert describe_changes(None, same, 2) == (None, None)


def test_settings_that_are_not_plain_data_are_named():
    assert check_settings([('ratio', 0.5)]) == 'a dict of at most 32 settings'
    assert check_settings({str(i): i for i in range(33)}) == \
        'a dict of at most 32 settings'
    for bad in ({'ratio': object()}, {'policy': 'x' * 201},
                {'ratio': [[[[[0.5]]]]]}, {'ratio': list(range(65))},
                {1: 0.5}):
        assert check_settings(bad) == ('plain settings (numbers, short '
                                       'strings, short lists)'), bad
