"""Small RGB tiles of scikit-learn's bundled photographs (offline)."""
from typing import List

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.registry import DATASETS


@DATASETS.register_module()
class PhotoTilesDataset(BaseDataset):
    """Square tiles cut from scikit-learn's two sample photographs.

    ``sklearn.datasets.load_sample_images`` ships ``china.jpg`` and
    ``flower.jpg`` (427x640 RGB); tiles of ``tile`` pixels on a grid give a
    small real image set (520 tiles of 32x32) for self-supervised
    pre-training on CPU, e.g. MAE. Images are returned BGR ``uint8`` like
    ``LoadImageFromFile`` gives them; there are no labels.

    Args:
        tile (int): Tile side in pixels. Defaults to 32.
        **kwargs: Passed to :class:`mmengine.dataset.BaseDataset`.
    """

    def __init__(self, tile: int = 32, **kwargs) -> None:
        self.tile = tile
        super().__init__(ann_file='', **kwargs)

    def load_data_list(self) -> List[dict]:
        """Cut the tiles."""
        from sklearn.datasets import load_sample_images

        t = self.tile
        data_list = []
        for image in load_sample_images().images:
            bgr = np.ascontiguousarray(image[..., ::-1])
            rows, cols = bgr.shape[0] // t, bgr.shape[1] // t
            for r in range(rows):
                for c in range(cols):
                    data_list.append(
                        dict(img=bgr[r * t:(r + 1) * t, c * t:(c + 1) * t]))
        return data_list
