"""A tiny ADE20K-format data set cut from two real photos (offline).

scikit-learn ships two photographs (``china.jpg``, ``flower.jpg``, 427x640).
:func:`write_tiny_ade20k` tiles them into small images and derives a label
map for each from its colours (hue x brightness bins spread over the 150
ADE20K classes), with grey pixels labelled 0, which ADE20K's
``reduce_zero_label=True`` turns into the ignore index 255. The layout is
mmseg's ADE20K layout::

    root/images/{training,validation}/*.jpg
    root/annotations/{training,validation}/*.png

The labels are pseudo-labels: the point is to run the real mmseg data path
(``ADE20KDataset``, ``LoadAnnotations``, ignore pixels, 150 classes) on CPU,
not to measure segmentation quality.
"""
import os
import os.path as osp
from typing import Dict

import cv2
import numpy as np

NUM_CLASSES = 150


def _pseudo_label(tile_bgr: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(tile_bgr, cv2.COLOR_BGR2HSV).astype(np.int64)
    hue_bin = hsv[..., 0] * 12 // 180
    value_bin = hsv[..., 2] * 3 // 256
    region = hue_bin * 3 + value_bin  # 36 colour regions
    label = 1 + (region * 41) % NUM_CLASSES  # spread over 1..150
    label[hsv[..., 1] < 40] = 0  # grey: "other", ignored by ADE20K
    return label.astype(np.uint8)


def write_tiny_ade20k(root: str,
                      tile: int = 96,
                      num_val: int = 8,
                      fully_ignored: int = 1) -> Dict[str, int]:
    """Write the tiny ADE20K-format data set under ``root``.

    Args:
        root (str): Output directory.
        tile (int): Side of the square tiles. Defaults to 96.
        num_val (int): Tiles put into ``validation``. Defaults to 8.
        fully_ignored (int): Training tiles whose whole label is 0 (every
            pixel ignored), to check that they never get a score.
            Defaults to 1.

    Returns:
        dict: Numbers of ``training`` and ``validation`` images.
    """
    from sklearn.datasets import load_sample_images

    tiles = []
    for image_rgb in load_sample_images().images:
        image = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)
        rows, cols = image.shape[0] // tile, image.shape[1] // tile
        for r in range(rows):
            for c in range(cols):
                tiles.append(image[r * tile:(r + 1) * tile,
                                   c * tile:(c + 1) * tile])
    splits = dict(validation=tiles[:num_val], training=tiles[num_val:])
    for split, images in splits.items():
        os.makedirs(osp.join(root, 'images', split), exist_ok=True)
        os.makedirs(osp.join(root, 'annotations', split), exist_ok=True)
        for i, image in enumerate(images):
            name = f'tiny_{split}_{i:04d}'
            label = _pseudo_label(image)
            if split == 'training' and i < fully_ignored:
                label[:] = 0
            cv2.imwrite(osp.join(root, 'images', split, name + '.jpg'), image)
            cv2.imwrite(
                osp.join(root, 'annotations', split, name + '.png'), label)
    return {split: len(images) for split, images in splits.items()}
