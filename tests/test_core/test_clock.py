"""PassClock and the schedule arithmetic of iteration-based runs."""
import math

import pytest

from mmib.core import PassClock, full_data_steps, scheduler_steps_for_iter


@pytest.mark.parametrize('pass_len,full_len', [(45, 45), (26, 45), (1, 7),
                                               (33, 100), (99, 100)])
def test_clock_covers_the_full_pass(pass_len, full_len):
    steps = [
        scheduler_steps_for_iter(i, pass_len, full_len)
        for i in range(pass_len)
    ]
    assert sum(steps) == full_len
    assert min(steps) >= 1
    assert full_data_steps(pass_len, pass_len, full_len) == full_len
    assert full_data_steps(0, pass_len, full_len) == 0


def test_clock_rejects_bad_positions():
    with pytest.raises(ValueError):
        full_data_steps(5, 4, 10)
    with pytest.raises(ValueError):
        full_data_steps(0, 0, 10)


@pytest.mark.parametrize('pass_len,full_len', [(26, 45), (45, 45), (1, 7),
                                               (33, 100)])
def test_iterations_to_cover_is_the_first_iteration_reaching_the_steps(
        pass_len, full_len):
    from mmib.core import iterations_to_cover
    for steps in range(full_len + 2):
        j = iterations_to_cover(steps, pass_len, full_len)
        if steps > full_len:
            assert j is None
            continue
        assert full_data_steps(j, pass_len, full_len) >= steps
        assert j == 0 or full_data_steps(j - 1, pass_len, full_len) < steps


def test_clock_covers_full_pass_and_stops_at_target():
    clock = PassClock()
    steps = [clock.step(7, 10, target=25) for _ in range(7)]
    assert sum(steps) == 10 and min(steps) >= 1
    assert clock.full_iters == 10 and clock.pass_iter == 7
    clock.reset_to_pass(1)
    assert (clock.pass_index, clock.pass_iter, clock.full_iters) == (1, 0, 10)
    clock.full_iters = 24
    assert clock.step(7, 10, target=25) == 1
    assert clock.step(7, 10, target=25) == 0  # never past the target
    assert clock.full_iters == 25


def test_clock_end_in_pass_and_remaining_iters():
    clock = PassClock(pass_index=3, pass_iter=2, full_iters=32)
    # pass started at 32 - floor(2 * 10 / 5) = 28; 35 is 7 full steps on
    assert clock.pass_start_full_iters(5, 10) == 28
    assert clock.end_in_pass(35, 5, 10) == 4  # ceil(7 * 5 / 10)
    assert full_data_steps(4, 5, 10) >= 7
    assert clock.end_in_pass(50, 5, 10) is None
    # 3 iterations left in this pass; after it 38 of 80 covered: 4.2
    # passes left, 2 of them pruning (at half length), 2.2 full
    remaining = clock.remaining_iters(5, 10, 80, pruning_passes=6,
                                      pass_is_pruned=True)
    assert remaining == 3 + math.ceil((2 * 0.5 + 2.2) * 10)


def test_clock_state_round_trip_is_plain():
    clock = PassClock(2, 5, 300, 1, 77)
    state = clock.state_dict()
    assert all(type(v) is int for v in state.values())
    other = PassClock()
    other.load_state_dict(state)
    assert other == clock
