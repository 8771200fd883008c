"""Tables and verdicts of benchmark arms (markdown)."""
from typing import Dict, List, Sequence

from ..analysis.stats import describe, paired_comparison

#: the arms that cost what InfoBatch costs
EQUAL_COST = ('shorter', 'random', 'random_norescale')
#: a policy arm is "lossless" only where the paired 95% interval of
#: (arm - full) lies within this many points of the metric (top-1 or mIoU),
#: stated up front
LOSSLESS_MARGIN = 0.3


def _by_arm(results: Sequence[dict]) -> Dict[str, List[dict]]:
    arms: Dict[str, List[dict]] = {}
    for r in results:
        arms.setdefault(r['arm'], []).append(r)
    return arms


def arm_table(results: Sequence[dict], labels: Dict[str, str],
              metric: str = 'top-1 (%)') -> str:
    """One row per arm: the metric's mean ± sd over seeds, samples, saved fraction,
    iterations, training-loop wall time, and wall saved / samples saved."""
    arms = _by_arm(results)
    full = arms.get('full')
    full_samples = (describe([r['samples'] for r in full])[0]
                    if full else None)
    full_wall = (describe([r['train_seconds'] for r in full])[0]
                 if full else None)
    lines = [
        f'| arm | seeds | {metric} mean ± sd | samples trained | saved '
        '| iterations | train wall (s) | wall saved / samples saved |',
        '|---|---|---|---|---|---|---|---|'
    ]
    for name, rows in arms.items():
        acc, sd = describe([r['score'] for r in rows])
        samples = describe([r['samples'] for r in rows])[0]
        iters = describe([r['iters'] for r in rows])[0]
        wall = describe([r['train_seconds'] for r in rows])[0]
        saved = ratio = '—'
        if full_samples and name != 'full':
            saved_frac = 1 - samples / full_samples
            saved = f'{100 * saved_frac:.1f}%'
            if saved_frac > 0:
                ratio = f'{(1 - wall / full_wall) / saved_frac:.2f}'
        lines.append(
            f'| {labels.get(name, name)} | {len(rows)} | {acc:.2f} ± {sd:.2f} '
            f'| {samples:,.0f} | {saved} | {iters:,.0f} | {wall:.1f} '
            f'| {ratio} |')
    return '\n'.join(lines)


def seed_table(results: Sequence[dict], labels: Dict[str, str],
               metric: str = 'top-1 (%)') -> str:
    """The metric of every run: one row per arm, one column per seed."""
    arms = _by_arm(results)
    seeds = sorted({r['seed'] for r in results})
    lines = [
        f'| {metric} per seed | ' + ' | '.join(f'seed {s}' for s in seeds) +
        ' |', '|---|' + '---|' * len(seeds)
    ]
    for name, rows in arms.items():
        by_seed = _metric(rows)
        cells = [f'{by_seed[s]:.2f}' if s in by_seed else '—' for s in seeds]
        lines.append(f'| {labels.get(name, name)} | ' + ' | '.join(cells) +
                     ' |')
    return '\n'.join(lines)


def _metric(rows: Sequence[dict]) -> Dict[int, float]:
    return {r['seed']: r['score'] for r in rows}


def _pairs(arms: Dict[str, List[dict]]) -> List[tuple]:
    """Every arm against the full run; every pruning arm against the
    equal-cost arms of its budget (``shorter*``, random arms)."""
    pairs = [(a, 'full') for a in arms if a != 'full' and 'full' in arms]
    for a in _policy_arms(arms):
        pairs += [(a, b) for b in _baselines_of(a, arms)]
    if 'infobatch' in arms and 'infobatch_norescale' in arms:
        pairs.append(('infobatch', 'infobatch_norescale'))
    return pairs


#: arm names of the pruning policies compared with the baselines
POLICY_PREFIXES = ('infobatch', 'seta', 'soft_random', 'orderdp', 'repb')


def _policy_arms(arms) -> List[str]:
    return [a for a in arms
            if a.startswith(POLICY_PREFIXES) and 'norescale' not in a]


def _baselines_of(arm: str, arms) -> List[str]:
    """The equal-cost arms of ``arm``: those of its budget suffix
    (``_t40``: ``shorter_t40``, ``random_t40``, and the fixed-fraction
    ``shorter_60``), or the unsuffixed ones."""
    suffix = arm[arm.rindex('_t'):] if '_t' in arm and arm[
        arm.rindex('_t') + 2:].isdigit() else ''
    names = [f'{b}{suffix}' for b in EQUAL_COST]
    if suffix:
        names.append(f'shorter_{100 - int(suffix[2:])}')
    return [b for b in names if b in arms and b != arm]


def _interval(c) -> str:
    low, high = c.ci95
    return '—' if c.n < 2 else f'[{low:+.2f}, {high:+.2f}]'


def paired_table(results: Sequence[dict], labels: Dict[str, str],
                 metric: str = 'top-1') -> str:
    """Paired (same-seed) differences of the metric with their 95% intervals:
    every arm against the full run, each pruning arm against its equal-cost
    baselines."""
    arms = _by_arm(results)
    lines = [
        f'| comparison (same seeds) | pairs | {metric} difference, mean ± sd '
        '(points) | 95% CI | t | significant (95%) |',
        '|---|---|---|---|---|---|'
    ]
    for a, b in _pairs(arms):
        c = paired_comparison(_metric(arms[a]), _metric(arms[b]))
        t = f'{c.t:+.2f}' if c.n > 1 else '—'
        lines.append(
            f'| {labels.get(a, a)} − {labels.get(b, b)} | {c.n} '
            f'| {c.mean:+.2f} ± {c.sd:.2f} | {_interval(c)} | {t} '
            f"| {'yes' if c.significant else 'no'} |")
    return '\n'.join(lines)


def verdict(results: Sequence[dict], labels: Dict[str, str],
            margin: float = LOSSLESS_MARGIN) -> str:
    """Plain words, one sentence per pruning arm: *lossless* only where
    the paired 95% interval against the full run lies within ``+- margin``
    points; *ahead of* / *behind* a baseline only where the interval lies
    above / below 0; otherwise *not shown*."""
    arms = _by_arm(results)
    if 'full' not in arms or not _policy_arms(arms):
        return 'Verdict: needs the full arm and a pruning arm.'
    sentences = []
    for arm in _policy_arms(arms):
        name = labels.get(arm, arm)
        c = paired_comparison(_metric(arms[arm]), _metric(arms['full']))
        if c.n < 2:
            sentences.append(f'{name}: none with one seed ({c.mean:+.2f} '
                             'points against the full run)')
            continue
        if c.within(margin):
            head = f'{name} is lossless within ±{margin:g} points'
        elif c.ci95[1] < -margin:
            head = f'{name} is not lossless (a loss beyond {margin:g} points)'
        else:
            head = f'{name} is not shown lossless at ±{margin:g} points'
        parts = [f'{head}: {c.mean:+.2f} {_interval(c)} against the full '
                 f'run ({c.n} seeds)']
        for b in _baselines_of(arm, arms):
            cb = paired_comparison(_metric(arms[arm]), _metric(arms[b]))
            low, high = cb.ci95
            word = ('ahead of' if low > 0 else
                    'behind' if high < 0 else 'not shown ahead of')
            parts.append(f'{word} {labels.get(b, b)} ({cb.mean:+.2f} '
                         f'{_interval(cb)})')
        sentences.append('; '.join(parts))
    return 'Verdict: ' + '. '.join(sentences) + '.'


def schedule_report(title: str, results: Sequence[dict],
                    labels: Dict[str, str], metric: str = 'top-1') -> str:
    """Title, arm table, paired table and verdict of one schedule.

    Args:
        title (str): The heading.
        results (Sequence[dict]): Run records (``arm``, ``seed``, ``score``,
            ``samples``, ``iters``, ``train_seconds``).
        labels (dict): Table names of the arms.
        metric (str): Name of ``score`` in the tables (in points, e.g.
            ``'top-1'`` or ``'mIoU'``). Defaults to ``'top-1'``.
    """
    return '\n\n'.join([
        title, arm_table(results, labels, f'{metric} (%)'),
        seed_table(results, labels, f'{metric} (%)'),
        paired_table(results, labels, metric),
        verdict(results, labels)
    ])
