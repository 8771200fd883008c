"""Write the tiny ADE20K-format data set the CPU segmentation configs use.

Usage::

    python tools/make_tiny_ade20k.py [data/tiny_ade20k]
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmib.datasets.tiny_ade20k import write_tiny_ade20k  # noqa: E402

if __name__ == '__main__':
    root = sys.argv[1] if len(sys.argv) > 1 else 'data/tiny_ade20k'
    counts = write_tiny_ade20k(root)
    print(f'wrote {counts} images to {root}')
