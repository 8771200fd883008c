"""Write the equal-cost full-data config of a finished InfoBatch run.

The honest baseline of InfoBatch is not only the full run: the full data
trained for the same number of forward/backward passes (a shorter schedule)
costs the same. This tool reads the InfoBatch run's ledger (from its last
checkpoint) and its dumped config, and writes an iteration-based config
without the hook: ``max_iters = round(samples_trained / (batch x GPUs))``,
every parameter schedule compressed by the same factor. The config is read
as data (nothing in a work dir runs); the new config trains into its own
work dir, ``WORK_DIR_equal_cost``, and is written beside WORK_DIR, so
nothing of the InfoBatch run is overwritten.

Usage::

    python tools/equal_cost_config.py WORK_DIR [--config CFG] [--out OUT.py]
    python tools/train.py WORK_DIR_equal_cost.py
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmib_kit.analysis import equal_cost_config  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=' '.join(__doc__.split('\n\n')[0].split()))
    parser.add_argument('work_dir', help='work dir of the InfoBatch run')
    parser.add_argument('--config', help='the run config as MMEngine dumped '
                        'it (default: the one in WORK_DIR; read as data, '
                        'nothing in it runs)')
    parser.add_argument('--out', help='where to write the config (default: '
                        'WORK_DIR_equal_cost.py beside WORK_DIR; an existing '
                        'file is kept)')
    args = parser.parse_args()
    out = args.out or args.work_dir.rstrip('/') + '_equal_cost.py'
    if osp.exists(out):
        sys.exit(f'{out} exists; pass another --out (nothing overwritten).')
    try:
        cfg, info = equal_cost_config(args.work_dir, args.config)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f'equal_cost_config: {error}')
    cfg.dump(out)
    print(f"InfoBatch trained {info['infobatch_samples']:,} samples, "
          f"{100 * info['fraction']:.1f}% of the full schedule's "
          f"{info['full_iters']:,} iterations; the equal-cost config trains "
          f"{info['max_iters']:,} iterations ({info['samples']:,} samples) "
          f'on the full data with the schedule compressed the same way.')
    print(f'written: {out} (it trains into {cfg.work_dir})')


if __name__ == '__main__':
    main()
