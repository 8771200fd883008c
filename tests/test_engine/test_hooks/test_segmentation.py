"""mmseg UperNet on a tiny ADE20K-format data set, iteration-based."""
import os.path as osp

import pytest
import torch
from conftest import REPO, get_hook, run
from mmengine.config import Config
from mmengine.runner import Runner
from conftest import run_command

from mmib_kit.datasets.tiny_ade20k import write_tiny_ade20k

TINY = osp.join(REPO, 'configs', 'segmentation',
                'upernet_r18-tiny_tiny-ade20k_full.py')
PROBE = osp.join(REPO, 'tests', 'configs', 'tiny_ade20k_probe.py')


@pytest.fixture(scope='module')
def tiny_ade20k(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('tiny_ade20k'))
    counts = write_tiny_ade20k(root, fully_ignored=1)
    assert counts['training'] == 40
    return root


def seg_config(work_dir, data_root, infobatch=None, max_iters=80):
    cfg = Config.fromfile(TINY)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'seg_{osp.basename(work_dir)}'
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.val_dataloader.dataset.data_root = data_root
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.max_iters = max_iters
    cfg.param_scheduler[1].end = max_iters
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook')
    cfg.custom_hooks = [dict(type='RecordingHook')]
    if infobatch is not None:
        cfg.custom_hooks.append(dict(type='InfoBatchHook', **infobatch))
    return cfg


def test_upernet_through_train_py(tiny_ade20k, tmp_path):
    work_dir = str(tmp_path)
    out = run_command([
        'python', 'tools/train.py', PROBE, '--work-dir', work_dir,
        '--cfg-options', f'train_dataloader.dataset.data_root={tiny_ade20k}',
        f'val_dataloader.dataset.data_root={tiny_ade20k}',
        f'test_dataloader.dataset.data_root={tiny_ade20k}'
    ])
    assert "per-sample losses from ['decode_head.loss_decode " \
        "(CrossEntropyLoss via ReductionAdapter)', 'auxiliary_head." \
        "loss_decode (CrossEntropyLoss via ReductionAdapter)']" in out
    probe = torch.load(osp.join(work_dir, 'probe_rank0.pt'))
    passes = probe['epochs']
    # 80 iterations = 8 passes of 10 on the full data: same passes, fewer
    # iterations, and the loop ends there (checkpoint + validation)
    assert len(passes) == 8
    assert passes[-1]['ledger']['passes_done'] == 8
    assert probe['iters'] == probe['max_iters'] < 80
    assert probe['savings']['iters_full'] == 80
    assert osp.exists(osp.join(work_dir, f"iter_{probe['iters']}.pth"))
    assert out.count('Iter(val)') == 2  # at iteration 40 and at the end
    for p, record in enumerate(passes):
        kept = record['kept'].tolist()
        assert sorted(record['trained']) == kept, f'pass {p}'
        if p in (0, 7):  # no scores yet / annealing
            assert len(kept) == 40
    assert any(len(r['kept']) < 40 for r in passes)
    # tile 0 is all ignore pixels: it never gets a score, so it is never
    # pruned; nearly all others were scored (a random crop of a mostly grey
    # tile may hold no valid pixel either)
    for record in passes:
        assert not bool(record['seen'][0])
        assert 0 in record['kept'].tolist()
    assert int(passes[-1]['seen'].sum()) >= 35
    assert 'no valid pixel' in out


def test_ratio_zero_equals_plain_mmseg_and_schedule_is_covered(
        tiny_ade20k, tmp_path):
    plain = run(seg_config(str(tmp_path / 'plain'), tiny_ade20k,
                           max_iters=30))
    ratio0 = run(seg_config(str(tmp_path / 'ratio0'), tiny_ade20k,
                            infobatch=dict(ratio=0.0), max_iters=30))
    pruned = run(seg_config(str(tmp_path / 'pruned'), tiny_ade20k,
                            infobatch=dict(ratio=0.7), max_iters=30))
    rec_plain = get_hook(plain, 'RecordingHook').records
    rec_0 = get_hook(ratio0, 'RecordingHook').records
    rec_p = get_hook(pruned, 'RecordingHook').records
    # ratio=0: the same images and per-iteration losses as plain mmseg
    assert [r['indices'] for r in rec_0] == [r['indices'] for r in rec_plain]
    torch.testing.assert_close(
        torch.tensor([r['loss'] for r in rec_0]),
        torch.tensor([r['loss'] for r in rec_plain]),
        rtol=1e-4, atol=1e-5)
    # the pruned run: fewer iterations, warmup complete, same end LR
    assert len(rec_p) < len(rec_plain) == 30
    lr_plain = [r['lr'] for r in rec_plain]
    lr_p = [r['lr'] for r in rec_p]
    assert lr_p[:10] == pytest.approx(lr_plain[:10])
    assert lr_p[10] == pytest.approx(0.01, rel=1e-6)
    assert pruned.optim_wrapper.get_lr()['lr'][0] == pytest.approx(
        plain.optim_wrapper.get_lr()['lr'][0], rel=1e-6)
    assert lr_p[-1] == pytest.approx(lr_plain[-1], abs=1e-3)
