"""The commands of README.md and the manual (docs/en) refer to scripts,
configs and options that exist, their ``tools/train.py`` commands build
their runner as written, and their links to files resolve."""
import glob
import os.path as osp
import re
import shlex
import subprocess
import sys

from conftest import REPO

PAGES = [osp.join(REPO, 'README.md')] + sorted(
    glob.glob(osp.join(REPO, 'docs', 'en', '**', '*.md'), recursive=True))
TEXTS = {page: open(page).read() for page in PAGES}
README = TEXTS[PAGES[0]]
BLOCKS = [
    block for text in TEXTS.values()
    for block in re.findall(r'```bash\n(.*?)```', text, flags=re.S)
]
LINES = [
    line.split('#')[0].strip() for block in BLOCKS
    for line in block.replace('\\\n', ' ').splitlines()
]


def test_scripts_and_configs_named_in_commands_exist():
    import mmpretrain
    import mmseg
    packages = dict(mmpretrain=mmpretrain, mmseg=mmseg)
    assert len(LINES) > 20
    for line in LINES:
        for path in re.findall(
                r'(?:^|\s)((?:tools|configs)/[\w./-]+\.(?:py|sh))', line):
            assert osp.exists(osp.join(REPO, path)), f'{path} in: {line}'
        for package, path in re.findall(
                r'import (mmpretrain|mmseg),os.*?/\.mim/(configs/[\w./-]+)',
                line):
            root = osp.dirname(packages[package].__file__)
            assert osp.exists(osp.join(root, '.mim', path)), line


def test_tool_options_used_in_readme_exist():
    used = {}
    for line in LINES:
        for match in re.finditer(r'python (tools/[\w/]+\.py)([^&;|]*)',
                                 line):
            used.setdefault(match.group(1), set()).update(
                re.findall(r'(--[a-z][\w-]*)', match.group(2)))
    assert 'tools/demo.py' in used and 'tools/benchmark/arms.py' in used
    for script, options in used.items():
        out = subprocess.run([sys.executable, script, '--help'], cwd=REPO,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, (script, out.stderr[-2000:])
        for option in options:
            assert option in out.stdout, f'{script} has no {option}'


def test_readme_is_short_and_links_of_every_page_resolve():
    assert len(README.splitlines()) <= 250
    for page, text in TEXTS.items():
        for target in re.findall(r'\]\(([^)#]+?)(?:#[^)]*)?\)', text):
            if target.startswith(('http://', 'https://')):
                continue
            path = osp.normpath(osp.join(osp.dirname(page), target))
            assert osp.exists(path), f'{osp.relpath(page, REPO)}: {target}'


def test_the_two_set_up_commands_install_the_pinned_stack():
    ci = open(osp.join(REPO, '.ci', 'run')).read().strip().splitlines()[-1]
    commands = [line for line in LINES if line.startswith('apt-get')]
    assert commands[1] == ci
    assert all('-r requirements/ci.txt -e .' in c for c in commands[:2])


def test_train_commands_build_their_runner_as_written(tmp_path):
    """Each ``python tools/train.py CONFIG ...`` of the pages: its flags
    parse, its config and ``--cfg-options`` load, and the runner (model,
    hooks with their option checks, strategy) builds; only the work dir is
    moved to a temporary folder and nothing is trained. A line resuming a
    run or naming a config the reader writes first is parsed only."""
    sys.path.insert(0, osp.join(REPO, 'tools'))
    import train
    built = []
    for k, line in enumerate(LINES):
        if not line.startswith('python tools/train.py '):
            continue
        args = train.parse_args(shlex.split(line)[2:])
        if (args.resume is not None or args.launcher != 'none' or args.amp
                or not osp.exists(osp.join(REPO, args.config))):
            continue
        args.config = osp.join(REPO, args.config)
        args.work_dir = str(tmp_path / f'command{k}')
        runner = train.build_runner(train.build_config(args))
        names = [type(h).__name__ for h in runner.hooks]
        assert ('InfoBatchHook' in names) == ('infobatch' in args.config), (
            line, names)
        built.append(line)
        del runner
    assert len(built) >= 6, built
