"""Statistics of benchmark arms over seeds (plain Python, no framework).

Arms are compared *paired*: the runs of two arms with the same seed share
the initialisation and data order, so the per-seed difference removes most
of the seed-to-seed spread. The t statistic of the mean difference tells
whether it stands out of the noise.
"""
import math
import statistics
from dataclasses import dataclass
from typing import Dict, Sequence, Tuple

# two-sided 95% critical values of Student's t by degrees of freedom
_T_CRITICAL_95 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365,
    8: 2.306, 9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086,
    30: 2.042
}


def t_critical_95(dof: int) -> float:
    """Two-sided 95% critical value of Student's t for ``dof`` degrees of
    freedom (the next smaller tabulated dof, i.e. conservative; 1.96 past
    30)."""
    if dof < 1:
        raise ValueError(f'dof must be >= 1, got {dof}')
    if dof > 30:
        return 1.96
    return _T_CRITICAL_95[max(d for d in _T_CRITICAL_95 if d <= dof)]


def describe(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    values = list(values)
    if not values:
        raise ValueError('no values')
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.mean(values), sd


@dataclass(frozen=True)
class PairedComparison:
    """The paired difference ``a - b`` over seeds.

    Args:
        n (int): Number of pairs.
        mean (float): Mean difference.
        sd (float): Sample standard deviation of the differences.
        t (float): ``mean / (sd / sqrt(n))``; ``inf``/``-inf`` when all
            differences are equal and non-zero, 0 when they are all 0.
        significant (bool): ``|t|`` beyond the two-sided 95% critical value
            (False for a single pair).
    """

    n: int
    mean: float
    sd: float
    t: float
    significant: bool

    @property
    def ci95(self) -> Tuple[float, float]:
        """The two-sided 95% confidence interval of the mean difference
        (``mean +- t * sd / sqrt(n)``; unbounded for one pair)."""
        if self.n < 2:
            return (-math.inf, math.inf)
        half = t_critical_95(self.n - 1) * self.sd / math.sqrt(self.n)
        return (self.mean - half, self.mean + half)

    def within(self, margin: float) -> bool:
        """Whether the whole interval lies within ``+- margin``."""
        low, high = self.ci95
        return -margin <= low and high <= margin

    def verdict(self, better: str, worse: str, same: str) -> str:
        """One of the three words, by sign and significance."""
        if not self.significant:
            return same
        return better if self.mean > 0 else worse


def paired_comparison(a: Dict[int, float],
                      b: Dict[int, float]) -> PairedComparison:
    """Compare two arms on the seeds they share.

    Args:
        a (dict): Metric by seed of the first arm.
        b (dict): Metric by seed of the second arm.

    Returns:
        PairedComparison: Statistics of ``a[seed] - b[seed]``.
    """
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise ValueError('the two arms share no seed')
    diffs = [a[s] - b[s] for s in seeds]
    mean, sd = describe(diffs)
    n = len(diffs)
    if n == 1:
        return PairedComparison(n, mean, 0.0, 0.0, False)
    if sd == 0:
        t = 0.0 if mean == 0 else math.copysign(math.inf, mean)
    else:
        t = mean / (sd / math.sqrt(n))
    return PairedComparison(n, mean, sd, t, abs(t) > t_critical_95(n - 1))
