"""Write the equal-cost full-data config of a finished InfoBatch run.

The honest baseline of InfoBatch is not only the full run: the full data
trained for the same number of forward/backward passes (a shorter schedule)
costs the same. This tool reads the InfoBatch run's ledger (from its last
checkpoint) and its dumped config, and writes an iteration-based config
without the hook: ``max_iters = round(samples_trained / (batch x GPUs))``,
every parameter schedule compressed by the same factor.

Usage::

    python tools/equal_cost_config.py WORK_DIR [--config CFG] [--out OUT.py]
    python tools/train.py OUT.py --work-dir work_dirs/equal_cost
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmib.analysis import equal_cost_config  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir', help='work dir of the InfoBatch run')
    parser.add_argument('--config', help='the run config (default: the '
                        'one MMEngine dumped into WORK_DIR)')
    parser.add_argument('--out', help='where to write the config (default: '
                        'WORK_DIR/equal_cost.py; an existing file is kept)')
    args = parser.parse_args()
    out = args.out or osp.join(args.work_dir, 'equal_cost.py')
    if osp.exists(out):
        sys.exit(f'{out} exists; pass another --out (nothing overwritten).')
    cfg, info = equal_cost_config(args.work_dir, args.config)
    cfg.dump(out)
    print(f"InfoBatch trained {info['infobatch_samples']:,} samples, "
          f"{100 * info['fraction']:.1f}% of the full schedule's "
          f"{info['full_iters']:,} iterations; the equal-cost config trains "
          f"{info['max_iters']:,} iterations ({info['samples']:,} samples) "
          f'on the full data with the schedule compressed the same way.')
    print(f'written: {out}')


if __name__ == '__main__':
    main()
