"""Compare finished runs: the table papers quote, and metric-vs-cost curves.

From several work dirs (full data, InfoBatch, baselines; any seeds) this
prints one markdown row per group of runs (seeds grouped by the ``_seed<k>``
suffix of the folder name): the final validation metric (top-1 or mIoU,
whichever the evaluator logged) mean ± sd, samples trained, iterations,
training wall time, and the saved fractions against the first group. With
``--plot`` it also draws the metric against samples trained and against
wall time.

Usage::

    python tools/analysis/compare_runs.py work_dirs/full work_dirs/infobatch
    python tools/analysis/compare_runs.py work_dirs/benchmark/e25/*/attempt0 \
        --plot work_dirs/compare.png
"""
import argparse
import os.path as osp
import sys
from typing import List

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmib_kit.analysis.runs import group_runs, run_summary  # noqa: E402
from mmib_kit.analysis.stats import describe  # noqa: E402


def comparison_table(summaries: List[dict]) -> str:
    """The markdown table (the first group is the reference)."""
    groups = group_runs(summaries)
    metric = next((s['metric_name'] for s in summaries if s['metric_name']),
                  'metric')
    lines = [
        f'| run | runs | {metric} mean ± sd | samples trained | saved '
        '| iterations | train wall (s) | wall saved |',
        '|---|---|---|---|---|---|---|---|'
    ]
    reference = None
    for name, runs in groups.items():
        values = [r['metric'] for r in runs if r['metric'] is not None]
        mean, sd = describe(values) if values else (float('nan'), 0.0)
        samples = describe([r['samples'] for r in runs])[0]
        iters = describe([r['iters'] for r in runs])[0]
        wall = describe([r['train_seconds'] for r in runs])[0]
        approx = '' if all(r['samples_exact'] for r in runs) else '≈'
        if reference is None:
            reference = (samples, wall)
            saved = wall_saved = '—'
        else:
            saved = f'{100 * (1 - samples / reference[0]):.1f}%'
            wall_saved = (f'{100 * (1 - wall / reference[1]):.1f}%'
                          if reference[1] else '—')
        lines.append(f'| {name} | {len(runs)} | {mean:.2f} ± {sd:.2f} '
                     f'| {approx}{samples:,.0f} | {saved} | {iters:,.0f} '
                     f'| {wall:.1f} | {wall_saved} |')
    return '\n'.join(lines)


def plot_curves(summaries: List[dict], out: str) -> str:
    """Metric against samples trained and against training wall time.

    Runs validated more than once are drawn as curves, one per run. Where
    every run of a group has only its final value (validation at the end
    only), the group is drawn as one point, mean ± sd over its runs, with
    the single runs as small dots.

    Returns:
        str: ``'curves'`` or ``'final values'``: what was drawn.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    groups = group_runs(summaries)
    curves = any(len(r['curve']) > 1 for runs in groups.values()
                 for r in runs)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for g, (name, runs) in enumerate(groups.items()):
        color = f'C{g}'
        points = [r['curve'][-1] for r in runs if r['curve']]
        if not points:
            continue
        if curves:
            for k, run in enumerate(r for r in runs if r['curve']):
                _, samples, seconds, values = zip(*run['curve'])
                label = name if k == 0 else None
                axes[0].plot(samples, values, '.-', color=color, label=label)
                axes[1].plot(seconds, values, '.-', color=color, label=label)
            continue
        _, samples, seconds, values = (np.array(v) for v in zip(*points))
        _, sd = describe(values.tolist())
        for ax, x in zip(axes, (samples, seconds)):
            ax.plot(x, values, '.', color=color, alpha=0.4)
            ax.errorbar(x.mean(), values.mean(), yerr=sd, xerr=x.std(),
                        fmt='o', color=color, capsize=4, markersize=8,
                        label=f'{name} (mean ± sd, {len(values)} runs)')
    metric = next((s['metric_name'] for s in summaries if s['metric_name']),
                  'metric')
    axes[0].set_xlabel('samples trained (forward/backward passes)')
    axes[1].set_xlabel('training wall time (s)')
    for ax in axes:
        ax.set_ylabel(metric if curves else f'final {metric}')
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize='small')
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return 'curves' if curves else 'final values'


def main() -> None:
    parser = argparse.ArgumentParser(
        description=' '.join(__doc__.split('\n\n')[0].split()))
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--plot', help='write the curves to this PNG')
    args = parser.parse_args()
    try:
        summaries = [run_summary(w) for w in args.work_dirs]
    except (FileNotFoundError, ValueError) as error:  # RunDataError too
        raise SystemExit(f'compare_runs: {error}') from None
    print(comparison_table(summaries))
    if any(not s['samples_exact'] for s in summaries):
        print('\n≈: full-data run without a sample ledger: iterations x batch '
              'size (short last batches counted full).')
    if args.plot:
        plot_curves(summaries, args.plot)
        print(f'\ncurves: {args.plot}')


if __name__ == '__main__':
    main()
