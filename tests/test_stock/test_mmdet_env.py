"""Recipes that need the full mmcv (``mmcv.ops``): mmseg's Mask2Former and
mmdet's RetinaNet, Faster R-CNN, DETR, ATSS, FCOS and GFL, in a virtual
environment built once per test run on top of the test environment (its
torch, mmengine, mmseg and mmib) with ``../shared/wheels``'s mmcv 2.1.0
wheel, which shadows mmcv-lite there, and ``mmdet==3.3.0``; skipped where
the wheel is absent (a user's machine)."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from conftest import REPO

WHEELS = sorted(glob.glob(osp.join(REPO, '..', 'shared', 'wheels',
                                   'mmcv-2.1.0-*.whl')))
# what mmdet adds to the test environment (installed without dependencies:
# the rest of the stack is the test environment's, seen by the venv)
MMDET = ['mmdet==3.3.0', 'pycocotools==2.0.11', 'shapely==2.2.0',
         'terminaltables==3.1.10', 'tqdm==4.70.1']
PROBES = osp.join(REPO, 'tests', 'test_stock', 'mmdet_env')

pytestmark = [
    pytest.mark.mmdet,
    pytest.mark.skipif(not WHEELS, reason='no full mmcv wheel in '
                       '../shared/wheels: mmdet cannot import on mmcv-lite')
]


def sh(args, timeout=900, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(args, capture_output=True, text=True,
                         timeout=timeout, **kw)
    assert out.returncode == 0, (args, out.stdout[-3000:], out.stderr[-3000:])
    return out


@pytest.fixture(scope='module')
def mmdet_python(tmp_path_factory) -> str:
    """The python of a venv with the full mmcv and mmdet over the test
    environment's packages (mmib included): built once per test run, shared
    by the pytest-xdist workers (a file lock)."""
    from filelock import FileLock
    shared = tmp_path_factory.getbasetemp()
    if osp.basename(str(shared)).startswith('popen-gw'):  # an xdist worker
        shared = shared.parent
    root = osp.join(str(shared), 'mmdet_env', 'venv')
    python = osp.join(root, 'bin', 'python')
    os.makedirs(osp.dirname(root), exist_ok=True)
    with FileLock(osp.join(osp.dirname(root), 'build.lock')):
        if not osp.exists(osp.join(osp.dirname(root), 'ready')):
            sh([sys.executable, '-m', 'venv', '--clear',
                '--system-site-packages', root])
            sh([python, '-m', 'pip', 'install', '-q', '--no-deps',
                WHEELS[-1]] + MMDET)
            sh([python, '-c', 'import mmib, mmcv.ops, mmdet.models'])
            open(osp.join(osp.dirname(root), 'ready'), 'w').close()
    return python


@pytest.fixture(scope='module')
def tiny_ade20k(tmp_path_factory) -> str:
    from mmib_kit.datasets.tiny_ade20k import write_tiny_ade20k
    root = str(tmp_path_factory.mktemp('tiny_ade20k_mmdet'))
    write_tiny_ade20k(root)
    return root


@pytest.fixture(scope='module')
def fashion_mnist_coco(tmp_path_factory) -> str:
    from mmib_kit.datasets.fashion_mnist_coco import write_fashion_mnist_coco
    source = osp.join(REPO, 'data', 'fashion-mnist')
    if not osp.exists(osp.join(source, 'train-labels-idx1-ubyte')):
        pytest.skip('Fashion-MNIST is not prepared '
                    '(python tools/prepare_fashion_mnist.py)')
    root = str(tmp_path_factory.mktemp('fashion_mnist_coco'))
    write_fashion_mnist_coco(root, source, num_train=20, num_val=4)
    return root


def probe(script: str, args: list) -> dict:
    out = sh([args[0], osp.join(PROBES, script)] + args[1:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def check_rows(weights: dict, first: str) -> None:
    """Weights 1 give the model's own loss; each term is linear in the
    images' weights (each row weighted by exactly its image's weight);
    every image has a score of its own."""
    assert weights['adapters'][0] == first
    assert weights['unsplittable'] == []
    assert weights['ones_vs_own'] <= 1e-5 * weights['scale']
    assert weights['mixed_vs_linear'] <= 1e-5 * weights['scale']
    assert len(set(weights['scores'])) == 4


def check_by_hand(by_hand: dict) -> None:
    """Each image's share of the loss (only its weight 1, through the
    adapters) equals the hand computation of the probes
    (``probe_common.by_hand``: each loss module run on that image's
    rows alone), and the images' shares differ."""
    scale = max(abs(v) for v in by_hand['hand'])
    assert by_hand['difference'] <= 1e-5 * scale, by_hand
    assert len({round(v, 4) for v in by_hand['hand']}) == len(
        by_hand['hand']), by_hand


def check_run(run: dict, num_samples: int) -> None:
    assert run['error'] is None, run
    assert run['unsplittable'] == []
    assert run['seen'] == run['num_samples'] == num_samples
    assert run['saved'] > 0


def test_mask2former_per_image_and_batch_scores(mmdet_python, tiny_ade20k,
                                                tmp_path):
    """Queries and matched masks mapped to their images
    (MaskFormerHeadAdapter) on one batch of the stock recipe; it trains
    and prunes with per-image scores, and with ``scores='batch'``."""
    for scores in ('sample', 'batch'):
        run = probe('mask2former_probe.py', [
            mmdet_python, tiny_ade20k, str(tmp_path / scores),
            json.dumps(dict(ratio=0.5, scores=scores))])
        check_run(run, 40)
        if scores == 'sample':
            check_rows(run['weights'], 'MaskFormerHeadAdapter')
            check_by_hand(run['weights']['by_hand'])
            assert run['weights']['by_hand']['modules'] == [
                'decode_head.loss_cls', 'decode_head.loss_dice',
                'decode_head.loss_mask']


def test_mask2former_ratio_zero_and_resume(mmdet_python, tiny_ade20k,
                                           tmp_path):
    """The iteration-based Mask2Former recipe (16 iterations): stopped at
    its checkpoint of iteration 8 and resumed, it ends with the weights of
    an uninterrupted run, bit for bit. With the line at ratio=0 it trains
    the plain run up to float rounding only: its mask and dice losses have
    ``loss_weight=5``, which mmdet applies to the reduced loss in the plain
    run and to each element before the (weighted) reduction with the line
    (about 2e-6 in the weights after 30 iterations)."""
    exact = probe('mask2former_probe.py', [
        mmdet_python, tiny_ade20k, str(tmp_path / 'exact'), '--exact'])
    assert exact['resumed_equals_straight'], exact
    assert exact['zero_vs_plain'] < 1e-4, exact


@pytest.mark.parametrize('config,first', [
    ('retinanet/retinanet_r50_fpn_1x_coco.py', 'AnchorHeadAdapter'),
    ('faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', 'AnchorHeadAdapter'),
    ('detr/detr_r50_8xb2-150e_coco.py', 'DETRHeadAdapter'),
])
def test_detection_recipes_weight_and_score_per_image(
        mmdet_python, fashion_mnist_coco, tmp_path, config, first):
    """mmdet's stock RetinaNet, Faster R-CNN (RPN + RoI box head) and DETR,
    shrunk, on the Fashion-MNIST COCO set: rows mapped to images by the
    head adapters, then a pruned run."""
    run = probe('detection_probe.py', [
        mmdet_python, fashion_mnist_coco, str(tmp_path / 'run'), config,
        json.dumps(dict(ratio=0.5, delta=1.0))])
    check_rows(run['weights'], first)
    check_by_hand(run['weights']['by_hand'])
    if 'faster' in config:
        assert 'BBoxHeadAdapter' in run['weights']['adapters']
    check_run(run, 20)


@pytest.mark.parametrize('config', [
    'atss/atss_r50_fpn_1x_coco.py',
    'fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
    'gfl/gfl_r50_fpn_1x_coco.py',
])
def test_a_head_that_orders_its_rows_itself_trains_with_batch_scores(
        mmdet_python, fashion_mnist_coco, tmp_path, config):
    """ATSS, FCOS and GFL override the anchor-free/anchor head's loss: their
    rows are not mapped by guess; their box terms are named as not split
    and weighted as a whole (batch loss scores for them), a level without
    positives (``pred.sum() * 0``, FCOS's sum of no rows) is no missing
    term where one occurs, and the stock recipe trains and prunes with the
    plain line."""
    run = probe('detection_probe.py', [
        mmdet_python, fashion_mnist_coco, str(tmp_path / 'run'), config,
        json.dumps(dict(ratio=0.5, delta=1.0))])
    assert run['weights']['adapters'][0] == 'ReductionAdapter'
    assert run['error'] is None, run
    assert 'bbox_head.loss_bbox' in run['unsplittable']
    assert run['iters'] > 0 and run['saved'] > 0


@pytest.mark.parametrize('config', [
    'retinanet/retinanet_r50_fpn_1x_coco.py',
    'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    'detr/detr_r50_8xb2-150e_coco.py',
])
def test_detection_ratio_zero_is_the_plain_run_and_resume_is_exact(
        mmdet_python, fashion_mnist_coco, tmp_path, config):
    """With the line at ratio=0 the stock detector trains to the plain
    run's weights, bit for bit; a pruned run stopped after its first epoch
    and resumed ends with the weights of an uninterrupted one."""
    exact = probe('detection_probe.py', [
        mmdet_python, fashion_mnist_coco, str(tmp_path / 'exact'), config,
        '--exact'])
    assert exact['zero_equals_plain'] and exact['resumed_equals_straight']


def test_the_shipped_detection_config_trains_with_the_line(mmdet_python,
                                                           tmp_path):
    """``configs/detection/`` (mmdet's stock RetinaNet through an
    ``mmdet::`` base, shrunk) with the line, on a small COCO set: one
    two epochs train (4 iterations of 8) and COCO's metric evaluates it
    (the benchmark reads its bbox mAP)."""
    from mmib_kit.datasets.fashion_mnist_coco import write_fashion_mnist_coco
    source = osp.join(REPO, 'data', 'fashion-mnist')
    if not osp.exists(osp.join(source, 'train-labels-idx1-ubyte')):
        pytest.skip('Fashion-MNIST is not prepared '
                    '(python tools/prepare_fashion_mnist.py)')
    root = str(tmp_path / 'coco') + '/'
    write_fashion_mnist_coco(root, source, num_train=16, num_val=8)
    config = osp.join(REPO, 'configs', 'detection',
                      'retinanet_r18-tiny_fashion-mnist-coco_full.py')
    code = f"""
import mmib
from mmengine.config import Config
from mmengine.runner import Runner
cfg = Config.fromfile({config!r})
for loader in (cfg.train_dataloader, cfg.val_dataloader):
    loader.dataset.data_root = {root!r}
cfg.val_evaluator.ann_file = {root!r} + 'annotations/val.json'
cfg.merge_from_dict({{'train_cfg.max_epochs': 2,
                     'train_cfg.val_interval': 10,
                     'param_scheduler.1.end': 2,
                     'param_scheduler.1.T_max': 1,
                     'train_dataloader.dataset.indices': 16}})
cfg.custom_hooks = [dict(type='InfoBatchHook', ratio=0.5)]
cfg.work_dir = {str(tmp_path / 'work')!r}
runner = Runner.from_cfg(cfg)
runner.train()
metrics = runner.val()  # empty while no box passes the score threshold
print(runner.iter, type(runner.val_evaluator.metrics[0]).__name__,
      type(metrics).__name__)
"""
    last = sh([mmdet_python, '-c', code]).stdout.strip().splitlines()[-1]
    assert last == '4 CocoMetric dict', last
