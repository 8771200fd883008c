"""The three CPU-stack fixes of mmib.compat."""
import io
import pickle

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import HistoryBuffer

import mmib  # noqa: F401  (applies the fixes)
from mmib import compat


def test_torchvision_imports_and_its_python_parts_work():
    import torchvision
    from torchvision.transforms import functional as TF

    image = torch.rand(3, 8, 8)
    assert TF.hflip(image).shape == (3, 8, 8)
    assert torchvision.__version__
    # once importable, the fix is not applied again
    assert compat.fix_torchvision_import() is False


def test_mmseg_models_import_and_point_sample_is_correct():
    import mmseg.models  # noqa: F401  (needs mmcv.ops.point_sample)
    from mmcv.ops import point_sample

    feats = torch.rand(2, 3, 5, 7)
    points = torch.rand(2, 11, 2)
    expected = F.grid_sample(
        feats, 2 * points.unsqueeze(2) - 1,
        align_corners=False).squeeze(3)
    torch.testing.assert_close(point_sample(feats, points), expected)


def test_compiled_mmcv_ops_fail_with_a_clear_message():
    import mmcv.ops
    if not isinstance(mmcv.ops, compat._LiteOpsModule):
        pytest.skip('full mmcv with compiled ops is installed')
    with pytest.raises(RuntimeError, match='mmcv-lite.*full mmcv'):
        mmcv.ops.sigmoid_focal_loss(torch.rand(2, 3), torch.zeros(2))


def test_mmengine_checkpoint_objects_load_with_weights_only():
    buffer = HistoryBuffer()
    buffer.update(1.5)
    buffer.update(2.5)
    import numpy as np
    blob = io.BytesIO()
    torch.save(dict(hub=buffer, arr=np.arange(3.0), x=np.float64(1.0)),
               blob)
    blob.seek(0)
    loaded = torch.load(blob)  # torch 2.13: weights_only=True by default
    assert loaded['hub'].mean() == pytest.approx(2.0)
    assert loaded['arr'].tolist() == [0.0, 1.0, 2.0]


class _Sneaky:
    """Pickles as getattr(HistoryBuffer, '__init__'): must be rejected."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def test_weights_only_still_rejects_other_getattr_uses():
    blob = io.BytesIO()
    torch.save(dict(x=_Sneaky()), blob)
    blob.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(blob)
    with pytest.raises(pickle.UnpicklingError, match='not allowed'):
        compat.history_buffer_method(HistoryBuffer, '__init__')
    assert compat.history_buffer_method(HistoryBuffer, 'mean') is \
        HistoryBuffer.mean
