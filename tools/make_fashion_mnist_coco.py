"""Write the COCO-format Fashion-MNIST detection set (garment mosaics, one
box and mask per garment) for the detection recipes' tests.

    python tools/prepare_fashion_mnist.py
    python tools/make_fashion_mnist_coco.py --out data/fashion-mnist-coco
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmib_kit.datasets.fashion_mnist_coco import \
    write_fashion_mnist_coco  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/fashion-mnist-coco')
    parser.add_argument('--source', default='data/fashion-mnist',
                        help='folder with the un-gzipped IDX files')
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-val', type=int, default=50)
    args = parser.parse_args(argv)
    try:
        counts = write_fashion_mnist_coco(args.out, args.source,
                                          args.num_train, args.num_val)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(str(error)) from None
    print(f'wrote {counts} mosaics to {args.out}')


if __name__ == '__main__':
    main()
