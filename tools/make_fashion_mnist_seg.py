"""Write the Fashion-MNIST segmentation data set (2x2 garment mosaics).

Every pixel of a garment (grey value >= 32) is labelled with the garment's
class + 1, every other pixel 0 (background); see
``mmib/datasets/fashion_mnist_seg.py``.

Usage::

    python tools/prepare_fashion_mnist.py
    python tools/make_fashion_mnist_seg.py     # -> data/fashion-mnist-seg
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write 2x2 mosaics of Fashion-MNIST garments with '
        'per-pixel labels (class + 1 on the garment, 0 elsewhere).')
    parser.add_argument(
        'root', nargs='?', default='data/fashion-mnist-seg',
        help='folder to write (default: data/fashion-mnist-seg)')
    parser.add_argument(
        '--source', default='data/fashion-mnist',
        help='the un-gzipped IDX files (default: data/fashion-mnist)')
    parser.add_argument('--num-train', type=int, default=1000,
                        help='training mosaics (default: 1000)')
    parser.add_argument('--num-val', type=int, default=500,
                        help='validation mosaics (default: 500)')
    return parser.parse_args(argv)


if __name__ == '__main__':
    args = parse_args()
    from mmib_kit.datasets.fashion_mnist_seg import write_fashion_mnist_seg
    counts = write_fashion_mnist_seg(args.root, args.source, args.num_train,
                                     args.num_val)
    print(f'wrote {counts} images to {args.root}')
