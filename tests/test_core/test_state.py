"""InfoBatchSnapshot: the versioned, plain checkpoint state."""
import io

import pytest
import torch

from mmib.core import InfoBatchSnapshot, PassPlan
from mmib.core.state import STATE_VERSION

from core_tables import snapshot


def test_snapshot_is_versioned_plain_data_loading_with_weights_only():
    state = snapshot().to_dict()
    assert state['version'] == STATE_VERSION
    blob = io.BytesIO()
    torch.save(state, blob)
    blob.seek(0)
    loaded = torch.load(blob, weights_only=True)  # torch's default list
    back = InfoBatchSnapshot.from_dict(loaded)
    original = snapshot()
    assert back.clock == original.clock and back.ledger == original.ledger
    assert torch.equal(back.plan.kept_indices, original.plan.kept_indices)
    assert torch.equal(back.plan.weights, original.plan.weights)
    assert back.ratios == (0.5, ) and back.layout['batch_size'] == 4


def test_snapshot_rejects_unknown_version_with_a_way_out():
    state = snapshot().to_dict()
    state['version'] = 99
    with pytest.raises(ValueError, match='version 99.*without --resume'):
        InfoBatchSnapshot.from_dict(state)


def test_pass_plan_fields_survive_plain_round_trip():
    from mmib.core.state import plan_from_dict, plan_to_dict
    plan = PassPlan(3, torch.tensor([0, 2]), torch.tensor([2., 0., 1.]),
                    torch.tensor([0.5]), False)
    back = plan_from_dict(plan_to_dict(plan))
    assert back.pass_index == 3 and back.num_kept == 2 and not back.annealing
