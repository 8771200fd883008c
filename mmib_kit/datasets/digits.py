"""The scikit-learn digits, a small real image data set that ships offline."""
from typing import List

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.registry import DATASETS


@DATASETS.register_module()
class DigitsDataset(BaseDataset):
    """Handwritten digits from scikit-learn's ``load_digits`` (1797 images).

    8x8 grey-scale images of the digits 0-9 (UCI optical recognition data),
    bundled with scikit-learn, so the demo and the tests need no download.
    Pixels (0-16) are rescaled to ``uint8`` 0-255. A fixed split puts every
    5th image into ``'test'`` (360 images) and the rest into ``'train'``
    (1437 images).

    Args:
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        **kwargs: Passed to :class:`mmengine.dataset.BaseDataset` (e.g.
            ``pipeline``, ``indices``).
    """

    METAINFO = dict(classes=tuple(str(d) for d in range(10)))

    def __init__(self, split: str = 'train', **kwargs) -> None:
        if split not in ('train', 'test'):
            raise ValueError(f"split={split!r} must be 'train' or 'test'")
        self.split = split
        super().__init__(ann_file='', **kwargs)

    def load_data_list(self) -> List[dict]:
        """Load the digits of this split."""
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
        in_test = np.arange(len(images)) % 5 == 0
        chosen = np.flatnonzero(in_test if self.split == 'test' else ~in_test)
        return [
            dict(img=images[i], gt_label=int(digits.target[i]))
            for i in chosen
        ]
