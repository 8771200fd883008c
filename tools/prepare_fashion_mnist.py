"""Put Fashion-MNIST where mmpretrain's stock ``FashionMNIST`` reads it.

Debian's package ``dataset-fashion-mnist`` installs the four IDX files
gzipped in ``/usr/share/datasets/fashion-mnist/``; mmpretrain's
``FashionMNIST(data_root=...)`` reads them un-gzipped (and would try to
download them if they were missing). This tool un-gzips them into
``data/fashion-mnist`` (or ``--dst``). Files already there are kept.

Usage::

    apt-get install -y dataset-fashion-mnist     # as root, on Debian
    python tools/prepare_fashion_mnist.py        # -> data/fashion-mnist

Where apt is not available, put the four ``*-ubyte.gz`` files of
Fashion-MNIST (from any copy of the data set) into one folder and pass it as
``--src``.
"""
import argparse
import gzip
import os
import os.path as osp
import shutil
import sys

DEFAULT_SRC = '/usr/share/datasets/fashion-mnist'
FILES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
         't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')


def prepare(src: str, dst: str, option: str = '--src') -> str:
    """Un-gzip the four IDX files from ``src`` into ``dst``.

    Args:
        src (str): Folder with ``<name>.gz`` (or already un-gzipped) files.
        dst (str): Folder to write the un-gzipped files to.
        option (str): The command-line option that names ``src``, for the
            error. Defaults to ``'--src'``.

    Returns:
        str: ``dst``.
    """
    missing = [
        name for name in FILES if not osp.exists(osp.join(src, name + '.gz'))
        and not osp.exists(osp.join(src, name))
    ]
    if missing:
        raise FileNotFoundError(
            f'Fashion-MNIST files {missing} are not in {src!r}. On Debian run '
            '`apt-get install -y dataset-fashion-mnist` (as root); elsewhere '
            'put the four *-ubyte.gz files into a folder and pass '
            f'{option} FOLDER.')
    os.makedirs(dst, exist_ok=True)
    for name in FILES:
        target = osp.join(dst, name)
        if osp.exists(target):
            continue
        partial = target + '.part'
        if osp.exists(osp.join(src, name + '.gz')):
            with gzip.open(osp.join(src, name + '.gz'), 'rb') as fin, \
                    open(partial, 'wb') as fout:
                shutil.copyfileobj(fin, fout)
        else:
            shutil.copyfile(osp.join(src, name), partial)
        os.replace(partial, target)  # never a half-written file
    return dst


def main() -> None:
    parser = argparse.ArgumentParser(
        description=' '.join(__doc__.split('\n\n')[0].split()))
    parser.add_argument('--src', default=DEFAULT_SRC)
    parser.add_argument('--dst', default=osp.join('data', 'fashion-mnist'))
    args = parser.parse_args()
    try:
        print(f'Fashion-MNIST ready in {prepare(args.src, args.dst)}')
    except FileNotFoundError as error:
        sys.exit(str(error))


if __name__ == '__main__':
    main()
