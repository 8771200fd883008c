"""Write the tiny ADE20K-format data set the CPU segmentation configs use.

Usage::

    python tools/make_tiny_ade20k.py [data/tiny_ade20k]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmib_kit.datasets.tiny_ade20k import write_tiny_ade20k  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write the tiny ADE20K-format data set (tiles of '
        "scikit-learn's two bundled photographs, colour pseudo-labels).")
    parser.add_argument(
        'root', nargs='?', default='data/tiny_ade20k',
        help='folder to write (default: data/tiny_ade20k)')
    return parser.parse_args(argv)


if __name__ == '__main__':
    args = parse_args()
    counts = write_tiny_ade20k(args.root)
    print(f'wrote {counts} images to {args.root}')
