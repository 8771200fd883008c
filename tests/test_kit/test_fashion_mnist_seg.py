"""The Fashion-MNIST segmentation mosaics: labels as documented, the IDX
reader refuses damaged files by name, mmseg's data path reads the set."""
import os.path as osp

import numpy as np
import pytest

from conftest import REPO, needs_fashion_mnist

seg = pytest.importorskip('mmib_kit.datasets.fashion_mnist_seg')


def test_mosaic_labels_garment_pixels_with_class_plus_one():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (8, 28, 28), dtype=np.uint8)
    labels = np.array([0, 9, 3, 5, 1, 2, 7, 8])
    mosaics, maps = seg.make_mosaics(images, labels)
    assert mosaics.shape == maps.shape == (2, 56, 56)
    for k in range(8):  # image k sits in mosaic k // 4, cell k % 4
        row, col = divmod(k % 4, 2)
        cell = np.s_[k // 4, 28 * row:28 * row + 28, 28 * col:28 * col + 28]
        assert np.array_equal(mosaics[cell], images[k])
        garment = images[k] >= seg.GARMENT_THRESHOLD
        assert np.all(maps[cell][garment] == labels[k] + 1)
        assert np.all(maps[cell][~garment] == 0)


def _idx(tmp_path, header: bytes, body: bytes) -> str:
    path = str(tmp_path / 'x-idx3-ubyte')
    with open(path, 'wb') as f:
        f.write(header + body)
    return path


def test_idx_reader_refuses_damaged_files_by_name(tmp_path):
    good = b'\0\0\x08\x01' + (3).to_bytes(4, 'big')
    assert seg.read_idx(_idx(tmp_path, good, b'abc')).tolist() == [97, 98, 99]
    named = r"x-idx3-ubyte' is not a Fashion-MNIST IDX file.*prepare_fashion"
    for header, body in ((good, b'ab'),  # fewer values than the header says
                         (b'\0\0\x0d\x01' + (1).to_bytes(4, 'big'),
                          b'abcd'),  # float32, not uint8
                         (b'\0\0\x08\x02' + (1).to_bytes(4, 'big') * 2,
                          b'a'),  # 2 dimensions
                         (b'', b'')):
        with pytest.raises(ValueError, match=named):
            seg.read_idx(_idx(tmp_path, header, body))
    rng = np.random.default_rng(1)
    for _ in range(200):  # random bytes: a named ValueError or uint8 data
        blob = rng.integers(0, 256, int(rng.integers(0, 40)),
                            dtype=np.uint8).tobytes()
        if rng.random() < 0.5:
            blob = b'\0\0\x08' + blob
        try:
            assert seg.read_idx(_idx(tmp_path, blob, b'')).dtype == np.uint8
        except ValueError as error:
            assert 'is not a Fashion-MNIST IDX file' in str(error)


@needs_fashion_mnist
def test_written_set_reads_through_mmseg_with_the_idx_labels(tmp_path):
    from mmengine.config import Config
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules

    source = osp.join(REPO, 'data', 'fashion-mnist')
    if not osp.exists(osp.join(source, 'train-labels-idx1-ubyte')):
        import subprocess
        import sys
        subprocess.run([sys.executable, 'tools/prepare_fashion_mnist.py'],
                       cwd=REPO, check=True)
    root = str(tmp_path / 'seg')
    assert seg.write_fashion_mnist_seg(root, source, 6, 2) == dict(
        training=6, validation=2)
    register_all_modules()
    cfg = Config.fromfile(osp.join(
        REPO, 'configs', 'segmentation',
        'upernet_r18-tiny_fashion-mnist-seg_full.py'))
    data = cfg.train_dataloader.dataset
    data.data_root = root
    dataset = DATASETS.build(data)
    assert len(dataset) == 6
    sample = dataset[0]
    mask = sample['data_samples'].gt_sem_seg.data.numpy()[0]
    labels = seg.read_idx(osp.join(source, 'train-labels-idx1-ubyte'))[:4]
    present = set(np.unique(mask).tolist()) - {0}
    assert present == set((labels + 1).tolist())  # no flip changes a class
    with pytest.raises(ValueError, match='1..15000'):
        seg.write_fashion_mnist_seg(root, source, 15001, 2)
