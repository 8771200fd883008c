"""The COCO-format Fashion-MNIST detection set: one instance per garment,
its box the garment's extent in its cell, written by the tool."""
import json
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import REPO

from mmib_kit.datasets.fashion_mnist_coco import (GARMENT_THRESHOLD,
                                                  mosaic_instances,
                                                  read_idx_file)

SOURCE = osp.join(REPO, 'data', 'fashion-mnist')
pytestmark = pytest.mark.fashion_mnist


def test_boxes_are_the_garments_extent_in_their_cells():
    images = np.zeros((4, 28, 28), np.uint8)
    images[0, 3:10, 5:8] = 200  # a garment in the top-left cell
    images[1, 0:28, 27] = GARMENT_THRESHOLD  # top-right, one column
    images[3, 20, 1] = GARMENT_THRESHOLD - 1  # below the threshold: none
    mosaics, instances = mosaic_instances(images, np.array([4, 0, 7, 9]))
    assert mosaics.shape == (1, 56, 56)
    assert instances == [[(5, [5, 3, 3, 7]), (1, [55, 0, 1, 28])]]


def test_the_tool_writes_images_and_annotations(tmp_path):
    if not osp.exists(osp.join(SOURCE, 'train-images-idx3-ubyte')):
        pytest.skip('python tools/prepare_fashion_mnist.py first')
    out = str(tmp_path / 'coco')
    subprocess.run([sys.executable, 'tools/make_fashion_mnist_coco.py',
                    '--out', out, '--num-train', '6', '--num-val', '2'],
                   cwd=REPO, check=True, capture_output=True)
    coco = json.load(open(osp.join(out, 'annotations', 'train.json')))
    assert len(coco['images']) == 6 and len(coco['categories']) == 10
    labels = read_idx_file(osp.join(SOURCE, 'train-labels-idx1-ubyte'))[:24]
    assert [a['category_id'] for a in coco['annotations']] == [
        int(v) + 1 for v in labels]  # every garment of the first 24 images
    for a in coco['annotations']:
        x, y, w, h = a['bbox']
        assert 0 <= x and x + w <= 56 and 0 <= y and y + h <= 56
        image = cv2.imread(osp.join(out, 'images', 'train',
                                    f'train_{a["image_id"]:05d}.png'), 0)
        assert image[y:y + h, x:x + w].max() >= GARMENT_THRESHOLD
    bad = subprocess.run([sys.executable, 'tools/make_fashion_mnist_coco.py',
                          '--out', out, '--source', str(tmp_path / 'none')],
                         cwd=REPO, capture_output=True, text=True)
    assert bad.returncode != 0 and 'prepare_fashion_mnist.py' in bad.stderr
    assert 'Traceback' not in bad.stderr
