"""``PendingResume``: what a restored state leaves for the next pass start,
taken once (the pass driver, not the resume plan, writes the sampler)."""
import torch

from mmib.core import full_plan
from mmib.engine.run import PendingResume


def test_an_interrupted_pass_continues_once_with_its_trained_samples_left_out():
    plan = full_plan(2, 10, False)
    pending = PendingResume(plan=plan, samples_to_skip=4)
    assert pending.enter_pass(2) == (False, plan, 4)
    assert pending.enter_pass(2) == (False, None, 0)  # taken once


def test_a_finished_epoch_repeated_by_mmengine_is_skipped():
    plan = full_plan(1, 10, False)
    pending = PendingResume(plan=plan, skip_whole_pass=True)
    assert pending.enter_pass(2) == (True, plan, 0)
    assert pending.enter_pass(3) == (False, None, 0)


def test_a_plan_of_another_pass_is_not_continued_and_rng_is_set_once():
    pending = PendingResume(plan=full_plan(1, 10, False), samples_to_skip=3,
                            torch_rng_before_next_pass=dict(
                                torch=torch.get_rng_state(), cuda=None))
    expected = torch.rand(3)
    assert pending.enter_pass(2) == (False, None, 0)
    assert torch.equal(torch.rand(3), expected)  # the state was restored
    assert pending.torch_rng_before_next_pass is None
    rng = dict(torch=torch.get_rng_state())
    pending.torch_rng_at_first_iter = rng
    assert pending.take_rng_at_first_iter() is rng
    assert pending.take_rng_at_first_iter() is None
