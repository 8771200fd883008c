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


def test_negative_hue_shift_under_numpy_2_wraps_as_numpy_1_did():
    """Fix 3: mmcv's pillow ``adjust_hue`` raised OverflowError for a
    negative factor under numpy 2 (every ColorJitter with a hue range)."""
    import mmcv
    import numpy as np
    from mmcv.image import photometric
    from PIL import Image

    compat.apply_run_fixes()  # not applied by ``import mmib``
    img = np.random.default_rng(0).integers(0, 256, (8, 9, 3), np.uint8)
    if int(np.__version__.split('.')[0]) >= 2:
        with pytest.raises(OverflowError):
            photometric.adjust_hue.__wrapped__(img, -0.1, backend='pillow')
    out = mmcv.adjust_hue(img, -0.1, backend='pillow')
    # numpy 1's np.uint8(-25.5) wrapped to 231: the hue channel + 231 mod 256
    h, s, v = Image.fromarray(img[..., ::-1], 'RGB').convert('HSV').split()
    shifted = ((np.array(h, dtype=np.int64) + 231) % 256).astype(np.uint8)
    expected = np.array(
        Image.merge('HSV', (Image.fromarray(shifted, 'L'), s, v)).convert(
            'RGB'))[..., ::-1]
    np.testing.assert_array_equal(out, expected)
    # everything else is mmcv's own function
    original = getattr(photometric.adjust_hue, '__wrapped__',
                       photometric.adjust_hue)
    np.testing.assert_array_equal(
        mmcv.adjust_hue(img, 0.2, backend='pillow'),
        original(img, 0.2, backend='pillow'))
    with pytest.raises(ValueError, match='hue_factor'):
        mmcv.adjust_hue(img, -0.7, backend='pillow')
