"""A COCO-format detection set made of real Fashion-MNIST garments.

The images are the garment mosaics of :mod:`.fashion_mnist_seg` (2x2
Fashion-MNIST images, 56x56 pixels); each of the four garments is one
instance: its class (1..10, the category ids), its box (the garment pixels'
extent in its 28x28 cell, grey value at least ``GARMENT_THRESHOLD``) and
its mask as that box's polygon. A cell without garment pixels has no
instance. Mosaic ``k`` uses the split's images ``4k..4k+3``, so the set is a
fixed function of the IDX files. Layout (mmdet's ``CocoDataset``)::

    root/images/{train,val}/*.png
    root/annotations/{train,val}.json
"""
import json
import os
import os.path as osp
from typing import Callable, Dict, List

import cv2
import numpy as np

#: grey value (0..255) from which a pixel belongs to the garment
GARMENT_THRESHOLD = 32
CLASSES = ('T-shirt/top', 'trouser', 'pullover', 'dress', 'coat', 'sandal',
           'shirt', 'sneaker', 'bag', 'ankle boot')


def read_idx_file(path: str) -> np.ndarray:
    """A uint8 IDX file (un-gzipped), read with numpy alone.

    Raises:
        ValueError: Naming the file, for one that is not a uint8 IDX file
            with as many values as its header says.
    """
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 4 or data[:3] != b'\x00\x00\x08' or data[3] not in (1, 3):
        raise ValueError(f'{path!r} is not a uint8 IDX file of 1 or 3 '
                         'dimensions; prepare the folder again with `python '
                         'tools/prepare_fashion_mnist.py`.')
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big')
                  for i in range(ndim))
    body = data[4 + 4 * ndim:]
    if len(body) != int(np.prod(shape)):
        raise ValueError(f'{path!r}: its header says {shape}, it holds '
                         f'{len(body)} values.')
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def split_images(source: str, prefix: str, split: str, count: int,
                 read: Callable[[str], np.ndarray]) -> tuple:
    """The first ``4 * count`` images and labels of a split's IDX files
    (``read`` reads one file), each missing file and a count the split
    cannot give named."""
    paths = [osp.join(source, f'{prefix}-{kind}-idx{d}-ubyte')
             for kind, d in (('images', 3), ('labels', 1))]
    missing = [p for p in paths if not osp.exists(p)]
    if missing:
        raise FileNotFoundError(
            f'{missing} not found: run `python '
            'tools/prepare_fashion_mnist.py` first (or pass --source).')
    images, labels = (read(p) for p in paths)
    if not 0 < count <= len(images) // 4:
        raise ValueError(f'{split}: {count} mosaics asked for, the '
                         f'source has 1..{len(images) // 4}')
    return images[:4 * count], labels[:4 * count]


def mosaic_instances(images: np.ndarray, labels: np.ndarray) -> tuple:
    """2x2 mosaics and, per mosaic, its garments' classes and boxes.

    Args:
        images (np.ndarray): ``(4n, 28, 28)`` uint8 grey images.
        labels (np.ndarray): ``(4n,)`` classes 0..9.

    Returns:
        tuple: ``(n, 56, 56)`` uint8 images, and for each mosaic a list of
        ``(category_id, [x, y, w, h])``.
    """
    n = len(images) // 4
    images, labels = images[:4 * n], labels[:4 * n]
    tiles = images.reshape(n, 2, 2, 28, 28).transpose(0, 1, 3, 2, 4)
    mosaics = np.ascontiguousarray(tiles.reshape(n, 56, 56))
    garment = images >= GARMENT_THRESHOLD  # (4n, 28, 28)
    rows, cols = garment.any(2), garment.any(1)  # (4n, 28) each
    present = rows.any(1)
    first_row, last_row = rows.argmax(1), 27 - rows[:, ::-1].argmax(1)
    first_col, last_col = cols.argmax(1), 27 - cols[:, ::-1].argmax(1)
    cell = np.arange(4 * n) % 4
    x0 = first_col + 28 * (cell % 2)
    y0 = first_row + 28 * (cell // 2)
    boxes = np.stack([x0, y0, last_col - first_col + 1,
                      last_row - first_row + 1], 1)
    instances: List[list] = [[] for _ in range(n)]
    for i in np.nonzero(present)[0].tolist():  # at most 4 per mosaic
        instances[i // 4].append((int(labels[i]) + 1,
                                  [int(v) for v in boxes[i]]))
    return mosaics, instances


def write_fashion_mnist_coco(root: str,
                             source: str = 'data/fashion-mnist',
                             num_train: int = 200,
                             num_val: int = 50) -> Dict[str, int]:
    """Write the first ``num_train`` training and ``num_val`` test mosaics
    with their COCO annotations under ``root``.

    Args:
        root (str): Output folder.
        source (str): Folder with the un-gzipped IDX files
            (``tools/prepare_fashion_mnist.py``).
        num_train (int): Training mosaics (at most 15,000).
        num_val (int): Validation mosaics (at most 2,500).

    Returns:
        dict: Numbers of ``train`` and ``val`` images.
    """
    splits = dict(train=('train', num_train), val=('t10k', num_val))
    categories = [dict(id=k + 1, name=name) for k, name in enumerate(CLASSES)]
    counts = {}
    for split, (prefix, count) in splits.items():
        images, labels = split_images(source, prefix, split, count,
                                      read_idx_file)
        mosaics, instances = mosaic_instances(images, labels)
        folder = osp.join(root, 'images', split)
        os.makedirs(folder, exist_ok=True)
        os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
        coco = dict(images=[], annotations=[], categories=categories)
        for i, (image, garments) in enumerate(zip(mosaics, instances)):
            name = f'{split}_{i:05d}.png'
            cv2.imwrite(osp.join(folder, name),
                        cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
            coco['images'].append(dict(id=i, file_name=name, width=56,
                                       height=56))
            for category, (x, y, w, h) in garments:
                coco['annotations'].append(dict(
                    id=len(coco['annotations']), image_id=i,
                    category_id=category, bbox=[x, y, w, h], area=w * h,
                    iscrowd=0,
                    segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]]))
        with open(osp.join(root, 'annotations', f'{split}.json'), 'w') as f:
            json.dump(coco, f)
        counts[split] = len(mosaics)
    return counts
