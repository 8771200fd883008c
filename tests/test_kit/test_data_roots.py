"""Missing data folders are named before anything is built."""
import subprocess
import sys

import pytest
from conftest import REPO
from mmengine.config import Config

from mmib_kit.datasets import check_data_roots, missing_data_roots


def test_wrapped_and_listed_data_sets_are_checked(tmp_path):
    there = str(tmp_path)
    cfg = Config(dict(
        train_dataloader=dict(dataset=dict(
            type='InfoBatchDataset',
            dataset=dict(type='ConcatDataset', datasets=[
                dict(type='FashionMNIST', data_root=there),
                dict(type='mmseg.ADE20KDataset', data_root='no/such/dir'),
            ]))),
        val_dataloader=dict(dataset=dict(
            type='FashionMNIST', data_root='gone', download=True)),
        test_dataloader=None))
    assert missing_data_roots(cfg) == [
        ('train_dataloader.dataset.dataset.datasets.1.data_root',
         'no/such/dir', 'mmseg.ADE20KDataset', False),
        ('val_dataloader.dataset.data_root', 'gone', 'FashionMNIST', True)]
    warnings = []
    with pytest.raises(FileNotFoundError,
                       match=r"datasets\.1\.data_root='no/such/dir' does not "
                       r'exist .*make_tiny_ade20k\.py'):
        check_data_roots(cfg, warnings.append)
    assert warnings == ["val_dataloader.dataset.data_root='gone' does not "
                        'exist: the FashionMNIST data set downloads it '
                        '(download=True); set download=False to stop here '
                        'instead.']


def test_a_stock_config_whose_data_set_downloads_is_not_refused():
    """mmpretrain's CIFAR-10 recipe names no ``download``: its data set
    class downloads by default, so a missing folder is a warning."""
    import os.path as osp

    import mmpretrain
    stock = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs',
                     'resnet', 'resnet18_8xb16_cifar10.py')
    cfg = Config.fromfile(stock)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = 'no/such/cifar'
    warnings = []
    check_data_roots(cfg, warnings.append)
    assert len(warnings) == 3 and 'downloads it' in warnings[0]
    cfg.train_dataloader.dataset.download = False
    with pytest.raises(FileNotFoundError, match='does not exist .CIFAR10.'):
        check_data_roots(cfg, warnings.append)


def test_train_py_names_the_folder_and_the_prepare_command(tmp_path):
    work_dir = tmp_path / 'run'
    out = subprocess.run(
        [sys.executable, 'tools/train.py',
         'configs/fashion_mnist/smallcnn_fashion-mnist-4k_infobatch.py',
         '--work-dir', str(work_dir), '--cfg-options',
         f'train_dataloader.dataset.data_root={tmp_path}/missing'],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert 'Traceback' not in out.stderr
    assert (f"train_dataloader.dataset.data_root='{tmp_path}/missing' does "
            'not exist (FashionMNIST): prepare it with `python '
            'tools/prepare_fashion_mnist.py`') in out.stderr
    assert not work_dir.exists()  # nothing written
