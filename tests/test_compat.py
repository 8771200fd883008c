"""The CPU-stack fixes of mmib.compat."""
import pytest
import torch
import torch.nn.functional as F

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
