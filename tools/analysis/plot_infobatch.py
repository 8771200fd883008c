"""Pictures of an InfoBatch run, from its work dir's logged scalars.

Writes four PNG figures:

* ``scores.png``: the score histograms of a few passes, thresholds drawn;
* ``kept_pruned.png``: samples kept and pruned in each pass (per band);
* ``saved.png``: the saved fraction of samples over the iterations, and each
  pass's projection for the whole run;
* ``lr_clock.png``: the learning rate against the full-data iterations the
  schedule clock covered, and against the real iterations (the compressed
  schedule: the same curve, fewer iterations).

Usage::

    python tools/analysis/plot_infobatch.py WORK_DIR [--out FOLDER] [--passes 2 5 20]
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmib_kit.analysis.runs import read_scalars  # noqa: E402

PREFIX = 'infobatch/'


def pass_rows(rows: List[dict]) -> List[Dict[str, float]]:
    """The per-pass statistics rows, keys without the prefix."""
    return [{k[len(PREFIX):]: v
             for k, v in r.items() if k.startswith(PREFIX)} | {
                 'step': r.get('step', 0)
             } for r in rows if PREFIX + 'kept' in r]


def plot_scores(passes: List[dict], chosen: Optional[Sequence[int]], ax):
    with_hist = [p for p in passes if 'score_hist' in p]
    if chosen:
        with_hist = [p for p in with_hist if int(p['pass_index']) + 1 in
                     chosen]
    elif len(with_hist) > 4:  # first, two in between, last
        k = len(with_hist) - 1
        with_hist = [with_hist[i] for i in sorted({0, k // 3, 2 * k // 3, k})]
    for n, p in enumerate(with_hist):
        counts = p['score_hist']
        low, high = p['score_hist_range']
        width = (high - low) / len(counts) if high > low else 1.0
        edges = [low + i * width for i in range(len(counts))]
        color = f'C{n}'
        ax.step(edges, counts, where='post', color=color,
                label=f"pass {int(p['pass_index']) + 1}")
        for key in sorted(k for k in p if k.startswith('threshold_')):
            ax.axvline(p[key], color=color, linestyle='--', alpha=0.8)
    ax.set_xlabel('score (latest training loss)')
    ax.set_ylabel('samples')
    ax.set_title('score distribution per pass (dashed: thresholds)')
    ax.legend()


def plot_kept(passes: List[dict], ax):
    index = [int(p['pass_index']) + 1 for p in passes]
    below, top = [], []
    for p in passes:
        top_band = sum(1 for k in p if k.startswith('threshold_'))
        below.append(sum(p.get(f'band{b}_kept', 0) for b in range(top_band)))
        top.append(p.get(f'band{top_band}_kept', 0))
    ax.bar(index, below, color='C0', label='kept below the threshold '
           '(weighted 1/(1-ratio))')
    ax.bar(index, top, bottom=below, color='C1',
           label='always kept (at/above the threshold, unscored, or a '
           'pass that does not prune)')
    ax.bar(index, [p['pruned'] for p in passes],
           bottom=[a + b for a, b in zip(below, top)], color='lightgrey',
           label='pruned')
    ax.set_xlabel('pass')
    ax.set_ylabel('samples')
    ax.set_title('kept and pruned samples per pass')
    # below the axes: inside, it covers the bars of the first passes
    ax.legend(fontsize='small', loc='upper center',
              bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)


def plot_saved(rows: List[dict], passes: List[dict], ax):
    logged = [(r['step'], r['infobatch_saved']) for r in rows
              if 'infobatch_saved' in r]
    if logged:
        ax.plot(*zip(*logged), label='saved so far')
    ax.plot([p['step'] for p in passes],
            [p['projected_saving'] for p in passes], 'o--',
            label='projected for the run (at each pass)')
    ax.set_xlabel('iteration')
    ax.set_ylabel('fraction of samples saved')
    ax.set_title('savings')
    ax.legend()


def plot_lr(rows: List[dict], ax):
    logged = [(r['step'], r['infobatch_full_iters'], r['lr']) for r in rows
              if 'infobatch_full_iters' in r and 'lr' in r]
    if logged:
        steps, full, lr = zip(*logged)
        ax.plot(full, lr, label='against full-data iterations (clock)')
        ax.plot(steps, lr, label='against real iterations')
    ax.set_xlabel('iterations')
    ax.set_ylabel('learning rate')
    ax.set_title('the compressed schedule')
    ax.legend()


def make_figures(work_dir: str, out: str,
                 chosen: Optional[Sequence[int]] = None) -> List[str]:
    """Write the four figures; return their paths."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rows = read_scalars(work_dir)
    passes = pass_rows(rows)
    if not passes:
        raise ValueError(f'{work_dir!r} logged no InfoBatch pass statistics '
                         '(was InfoBatchHook in the config?)')
    os.makedirs(out, exist_ok=True)
    paths = []
    for name, draw in (('scores.png', lambda ax: plot_scores(
            passes, chosen, ax)), ('kept_pruned.png',
                                   lambda ax: plot_kept(passes, ax)),
                       ('saved.png', lambda ax: plot_saved(rows, passes, ax)),
                       ('lr_clock.png', lambda ax: plot_lr(rows, ax))):
        fig, ax = plt.subplots(figsize=(7, 4))
        draw(ax)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = osp.join(out, name)
        fig.savefig(path, dpi=100, bbox_inches='tight')
        plt.close(fig)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(
        description=' '.join(__doc__.split('\n\n')[0].split()))
    parser.add_argument('work_dir')
    parser.add_argument('--out', help='folder for the PNGs (default: '
                        'WORK_DIR/infobatch_plots)')
    parser.add_argument('--passes', type=int, nargs='+',
                        help='1-based passes whose histograms to draw')
    args = parser.parse_args()
    out = args.out or osp.join(args.work_dir, 'infobatch_plots')
    try:
        paths = make_figures(args.work_dir, out, args.passes)
    except (FileNotFoundError, ValueError) as error:  # RunDataError too
        raise SystemExit(f'plot_infobatch: {error}') from None
    for path in paths:
        print(path)


if __name__ == '__main__':
    main()
