"""Tables and verdicts of benchmark arms (markdown)."""
from typing import Dict, List, Sequence

from ..analysis.stats import describe, paired_comparison

#: the arms that cost what InfoBatch costs
EQUAL_COST = ('shorter', 'random', 'random_norescale')


def _by_arm(results: Sequence[dict]) -> Dict[str, List[dict]]:
    arms: Dict[str, List[dict]] = {}
    for r in results:
        arms.setdefault(r['arm'], []).append(r)
    return arms


def arm_table(results: Sequence[dict], labels: Dict[str, str]) -> str:
    """One row per arm: top-1 mean ± sd over seeds, samples, saved fraction,
    iterations, training-loop wall time, and wall saved / samples saved."""
    arms = _by_arm(results)
    full = arms.get('full')
    full_samples = (describe([r['samples'] for r in full])[0]
                    if full else None)
    full_wall = (describe([r['train_seconds'] for r in full])[0]
                 if full else None)
    lines = [
        '| arm | seeds | top-1 (%) mean ± sd | samples trained | saved '
        '| iterations | train wall (s) | wall saved / samples saved |',
        '|---|---|---|---|---|---|---|---|'
    ]
    for name, rows in arms.items():
        acc, sd = describe([r['top1'] for r in rows])
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


def _metric(rows: Sequence[dict]) -> Dict[int, float]:
    return {r['seed']: r['top1'] for r in rows}


def paired_table(results: Sequence[dict], labels: Dict[str, str]) -> str:
    """Paired (same-seed) differences of top-1: every arm against the full
    run, and InfoBatch against each equal-cost baseline."""
    arms = _by_arm(results)
    pairs = [(a, 'full') for a in arms if a != 'full' and 'full' in arms]
    if 'infobatch' in arms:
        pairs += [('infobatch', b) for b in (*EQUAL_COST,
                                             'infobatch_norescale')
                  if b in arms]
    lines = [
        '| comparison (same seeds) | pairs | top-1 difference, mean ± sd '
        '(points) | t | significant (95%) |', '|---|---|---|---|---|'
    ]
    for a, b in pairs:
        c = paired_comparison(_metric(arms[a]), _metric(arms[b]))
        t = f'{c.t:+.2f}' if c.n > 1 else '—'
        lines.append(
            f'| {labels.get(a, a)} − {labels.get(b, b)} | {c.n} '
            f'| {c.mean:+.2f} ± {c.sd:.2f} | {t} '
            f"| {'yes' if c.significant else 'no'} |")
    return '\n'.join(lines)


def verdict(results: Sequence[dict], labels: Dict[str, str]) -> str:
    """The plain-words verdict on InfoBatch for one schedule."""
    arms = _by_arm(results)
    if 'infobatch' not in arms or 'full' not in arms:
        return 'Verdict: needs the full and the InfoBatch arms.'
    ib = _metric(arms['infobatch'])
    c = paired_comparison(ib, _metric(arms['full']))
    if c.n < 2:
        return (f'Verdict: none with one seed ({c.mean:+.2f} points against '
                'the full run); run several seeds for a test.')
    if c.significant and c.mean < 0:
        parts = [f'InfoBatch is not lossless here: {c.mean:+.2f} points '
                 f'against the full run (t={c.t:+.2f}, {c.n} seeds)']
    else:
        parts = [f'InfoBatch is lossless here within the seed noise '
                 f'({c.mean:+.2f} points against the full run, t={c.t:+.2f}, '
                 f'{c.n} seeds)']
    for b in EQUAL_COST:
        if b not in arms:
            continue
        cb = paired_comparison(ib, _metric(arms[b]))
        word = cb.verdict('ahead of', 'behind', 'no different from')
        parts.append(f'{word} {labels.get(b, b)} ({cb.mean:+.2f} points, '
                     f't={cb.t:+.2f})')
    return 'Verdict: ' + '; '.join(parts) + '.'


def schedule_report(title: str, results: Sequence[dict],
                    labels: Dict[str, str]) -> str:
    """Title, arm table, paired table and verdict of one schedule."""
    return '\n\n'.join([
        title, arm_table(results, labels), paired_table(results, labels),
        verdict(results, labels)
    ])
