"""tools/benchmark/arms.py's recipes: the segmentation recipe trains its
arms iteration-based (InfiniteSampler, PolyLR) through the Runner, and the
report names the recipe's metric."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from conftest import REPO, needs_fashion_mnist

ARMS_PY = osp.join(REPO, 'tools', 'benchmark', 'arms.py')


def _arms(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, ARMS_PY, *args],
                          capture_output=True, text=True, cwd=REPO,
                          timeout=300)


def test_report_of_the_seg_recipe_speaks_of_miou(tmp_path):
    for seed, (full, ib, short) in enumerate([(60.0, 59.5, 58.0),
                                              (61.0, 60.9, 58.5),
                                              (59.0, 58.7, 57.1)]):
        for arm, score, samples in (('full', full, 1000),
                                    ('infobatch_t40', ib, 600),
                                    ('shorter_t40', short, 600)):
            folder = tmp_path / 'i1260' / f'{arm}_seed{seed}'
            folder.mkdir(parents=True)
            (folder / 'result.json').write_text(json.dumps(dict(
                arm=arm, seed=seed, metric='mIoU', score=score,
                samples=samples, iters=samples // 16, train_seconds=1.0)))
    out = _arms('--recipe', 'seg', '--report-only', '--out', str(tmp_path),
                '--arms', 'full', 'infobatch_t40', 'shorter_t40', '--seeds',
                '0', '1', '2')
    assert out.returncode == 0, out.stderr[-2000:]
    assert '### 1260 iterations, 1,000 Fashion-MNIST garment mosaics' in \
        out.stdout
    assert '| mIoU (%) mean ± sd |' in out.stdout
    assert '| InfoBatch, target 40% − full data | 3 | -0.30 ± 0.20 |' in \
        out.stdout
    assert 'ahead of full data, shorter schedule, 40% saved' in out.stdout


def test_a_schedule_of_another_recipe_is_refused_by_name(tmp_path):
    out = _arms('--recipe', 'deepcnn', '--schedules', 'e25', '--out',
                str(tmp_path))
    assert out.returncode == 2
    assert "recipe 'deepcnn' has no schedule ['e25']; it has ['e50', " \
        "'e200']" in out.stderr
    assert not os.listdir(tmp_path)


@pytest.mark.fashion_mnist
@needs_fashion_mnist
def test_seg_recipe_arms_train_iteration_based_at_the_target(tmp_path):
    from mmib_kit.bench.harness import ARMS, Arm, Schedule, run_arms
    from mmib_kit.datasets.fashion_mnist_seg import write_fashion_mnist_seg

    sys.path.insert(0, osp.dirname(ARMS_PY))
    import arms as arms_tool  # the tool's recipe table
    recipe = arms_tool.RECIPES['seg']
    source = osp.join(REPO, 'data', 'fashion-mnist')
    if not osp.exists(osp.join(source, 'train-labels-idx1-ubyte')):
        subprocess.run([sys.executable, 'tools/prepare_fashion_mnist.py'],
                       cwd=REPO, check=True)
    root = str(tmp_path / 'seg')
    write_fashion_mnist_seg(root, source, 64, 16)
    extra = {
        'train_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.data_root': root,
        'param_scheduler.0.end': 4,  # warm-up: one pass of the tiny set
        'param_scheduler.1.begin': 4,
    }
    registry = {
        name: Arm(a.name, a.label, a.hook, a.equal_cost_of, extra)
        for name, a in ARMS.items()
    }
    schedule = Schedule('tiny', 48, 64, by_epoch=False)  # 12 passes of 4
    results = run_arms(
        osp.join(REPO, recipe.config), schedule,
        ['full', 'infobatch_t40', 'infobatch_quantile_t40', 'shorter_t40'],
        [0], str(tmp_path / 'out'), log=lambda m: None, registry=registry,
        metric=recipe.metric)
    by_arm = {r['arm']: r for r in results}
    assert by_arm['full']['samples'] == 48 * 16
    assert all(r['metric'] == 'mIoU' and 0 <= r['score'] <= 100
               for r in results)
    for arm in ('infobatch_t40', 'infobatch_quantile_t40'):
        saved = 1 - by_arm[arm]['samples'] / by_arm['full']['samples']
        assert 0.3 < saved < 0.5, (arm, saved)  # 40% within a few batches
    assert abs(by_arm['shorter_t40']['samples'] -
               by_arm['infobatch_t40']['samples']) <= 16


@pytest.mark.fashion_mnist
@needs_fashion_mnist
def test_deepcnn_recipe_trains_six_convolutions_with_infobatch(tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmib_kit.bench.harness import Schedule

    sys.path.insert(0, osp.dirname(ARMS_PY))
    import arms as arms_tool
    recipe = arms_tool.RECIPES['deepcnn']
    if not osp.exists(osp.join(REPO, 'data', 'fashion-mnist',
                               'train-labels-idx1-ubyte')):
        subprocess.run([sys.executable, 'tools/prepare_fashion_mnist.py'],
                       cwd=REPO, check=True)
    cfg = Config.fromfile(osp.join(REPO, recipe.config))
    cfg.merge_from_dict(Schedule('tiny', 4, 256).options())
    cfg.custom_hooks = [dict(type='InfoBatchHook', target_saving=0.2)]
    cfg.work_dir = str(tmp_path)
    cfg.val_dataloader.dataset.indices = 500
    cfg.log_level = 'WARNING'
    cwd = os.getcwd()
    os.chdir(REPO)  # data_root is relative to the repository
    try:
        runner = Runner.from_cfg(cfg)
        runner.train()
    finally:
        os.chdir(cwd)
    convs = [m for m in runner.model.backbone.modules()
             if type(m).__name__ == 'Conv2d']
    assert len(convs) == 6 and cfg.optim_wrapper.optimizer.lr == 0.1
    hook = next(h for h in runner.hooks if type(h).__name__ == 'InfoBatchHook')
    assert abs(hook.savings()['saved_samples'] - 0.2) < 0.05
