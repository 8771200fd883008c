"""A segmentation data set made of real Fashion-MNIST garments.

Each image is a 2x2 mosaic of four Fashion-MNIST images (56x56 pixels, grey
values copied unchanged, stored as a 3-channel PNG). Its label map gives
every pixel of a garment the garment's class plus one (1..10) and every
other pixel 0 (background, a class of its own: ``reduce_zero_label=False``).
A pixel is part of the garment where its grey value is at least
:data:`GARMENT_THRESHOLD` (of 255); the rest of the 28x28 cell is
background. Mosaic ``k`` of a split uses the split's images ``4k..4k+3`` in
order, so the data set is a fixed function of the IDX files.

The layout is mmseg's (``BaseSegDataset``)::

    root/images/{training,validation}/*.png
    root/annotations/{training,validation}/*.png
"""
import os
import os.path as osp
from typing import Dict, Tuple

import cv2
import numpy as np
import torch
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .fashion_mnist_coco import split_images

#: grey value (0..255) from which a pixel belongs to the garment
GARMENT_THRESHOLD = 32
CLASSES = ('background', 'T-shirt/top', 'trouser', 'pullover', 'dress',
           'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot')


def read_idx(path: str) -> np.ndarray:
    """An IDX file (un-gzipped) of uint8 images or labels, read by
    mmpretrain's own MNIST reader.

    Raises:
        ValueError: Naming the file, for one that is not a uint8 IDX file
            of 1 or 3 dimensions with as many values as its header says.
    """
    from mmpretrain.datasets.mnist import read_sn3_pascalvincent_tensor
    try:
        tensor = read_sn3_pascalvincent_tensor(path, strict=True)
        if tensor.dtype != torch.uint8 or tensor.ndim not in (1, 3):
            raise ValueError(f'{tensor.dtype}, {tensor.ndim} dimensions')
    except (AssertionError, ValueError, RuntimeError, IndexError,
            KeyError) as error:
        raise ValueError(
            f'{path!r} is not a Fashion-MNIST IDX file of uint8 images or '
            f'labels ({error or type(error).__name__}); prepare the folder '
            'again with `python tools/prepare_fashion_mnist.py`.') from None
    return tensor.numpy()


def make_mosaics(images: np.ndarray,
                 labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """2x2 mosaics of consecutive images and their label maps.

    Args:
        images (np.ndarray): ``(4n, 28, 28)`` uint8 grey images.
        labels (np.ndarray): ``(4n,)`` classes 0..9.

    Returns:
        tuple: ``(n, 56, 56)`` uint8 images and ``(n, 56, 56)`` uint8 label
        maps (0 background, class + 1 on the garment).
    """
    n = len(images) // 4
    images, labels = images[:4 * n], labels[:4 * n]
    masks = np.where(images >= GARMENT_THRESHOLD,
                     labels[:, None, None].astype(np.uint8) + 1, 0)

    def tile(x: np.ndarray) -> np.ndarray:
        # (4n, 28, 28) -> (n, 2, 2, 28, 28) -> (n, 56, 56)
        x = x.reshape(n, 2, 2, 28, 28).transpose(0, 1, 3, 2, 4)
        return np.ascontiguousarray(x.reshape(n, 56, 56))

    return tile(images), tile(masks.astype(np.uint8))


def write_fashion_mnist_seg(root: str,
                            source: str = 'data/fashion-mnist',
                            num_train: int = 1000,
                            num_val: int = 500) -> Dict[str, int]:
    """Write the mosaics of the first ``4 * num_train`` training images and
    the first ``4 * num_val`` test images under ``root``.

    Args:
        root (str): Output folder (files already there are replaced only by
            the same content: the data set is deterministic).
        source (str): Folder with the un-gzipped IDX files
            (``tools/prepare_fashion_mnist.py``).
        num_train (int): Training mosaics (at most 15,000).
        num_val (int): Validation mosaics (at most 2,500).

    Returns:
        dict: Numbers of ``training`` and ``validation`` images.
    """
    splits = dict(training=('train', num_train), validation=('t10k', num_val))
    counts = {}
    for split, (prefix, count) in splits.items():
        mosaics, maps = make_mosaics(
            *split_images(source, prefix, split, count, read_idx))
        for kind in ('images', 'annotations'):
            os.makedirs(osp.join(root, kind, split), exist_ok=True)
        for i, (image, label) in enumerate(zip(mosaics, maps)):
            name = f'{split}_{i:05d}.png'
            cv2.imwrite(osp.join(root, 'images', split, name),
                        cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
            cv2.imwrite(osp.join(root, 'annotations', split, name), label)
        counts[split] = len(mosaics)
    return counts


@DATASETS.register_module()
class FashionMNISTSegDataset(BaseSegDataset):
    """The Fashion-MNIST mosaics of :func:`write_fashion_mnist_seg`: 11
    classes (background and the ten garments), nothing ignored."""

    METAINFO = dict(
        classes=CLASSES,
        palette=[[0, 0, 0]] + [[25 * k, 255 - 25 * k, (97 * k) % 256]
                               for k in range(1, 11)])

    def __init__(self, **kwargs) -> None:
        super().__init__(
            img_suffix='.png',
            seg_map_suffix='.png',
            reduce_zero_label=False,
            **kwargs)
