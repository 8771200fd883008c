"""tools/mae_score_study.py, run as written (one short epoch)."""
import os
import subprocess
import sys

from conftest import REPO


def test_study_reads_its_own_checkpoints_and_prints_its_table(tmp_path):
    out = subprocess.run(
        [sys.executable, 'tools/mae_score_study.py', '--seeds', '0',
         '--epochs', '1', '--work-dir', str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert any(line.startswith('Per-sample score noise') and
               'Spearman rank correlation' in line for line in lines)
    assert ('| run | final reconstruction loss (mean ± sd) | samples '
            'trained | saved |') in lines
    rows = [line for line in lines if line.startswith('| full data |')
            or line.startswith('| InfoBatch')]
    assert len(rows) == 3
    assert rows[0].endswith('| 520 | 0.0% |')  # one epoch, no hook
    # one fresh folder per invocation, the three runs inside
    (run_dir, ) = os.listdir(tmp_path)
    assert sorted(os.listdir(tmp_path / run_dir)) == [
        'EMA_0.5_seed0', 'full_data_seed0', 'latest_loss_seed0']
