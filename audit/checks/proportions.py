"""A group's rate against its reference's, as a difference of two proportions.

The interval is Newcombe's hybrid score interval (`audit.metrics.intervals.newcombe`), which stays
honest for small groups and rates near 0 or 1 where a Wald interval does not. The test is the
classical pooled two-proportion z-test (the score test of "both rates are equal"); its standard
error under that null also gives the effect the check could detect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from audit.checks.base import detectable_shift, wald_p
from audit.metrics.intervals import newcombe


@dataclass(frozen=True)
class RateGap:
    events: int  # in the group
    n: int
    reference_events: int
    n_reference: int

    @property
    def rate(self) -> float:
        return self.events / self.n if self.n else math.nan

    @property
    def reference_rate(self) -> float:
        return self.reference_events / self.n_reference if self.n_reference else math.nan

    @property
    def difference(self) -> float:
        return self.rate - self.reference_rate

    @property
    def null_se(self) -> float:
        """Standard error of the difference when both groups share the pooled rate."""
        if not (self.n and self.n_reference):
            return math.nan
        pooled = (self.events + self.reference_events) / (self.n + self.n_reference)
        return math.sqrt(pooled * (1 - pooled) * (1 / self.n + 1 / self.n_reference))

    def interval(self, alpha: float) -> tuple[float, float]:
        if not (self.n and self.n_reference):
            return math.nan, math.nan
        low, high = newcombe(
            np.array([self.rate]),
            np.array([float(self.n)]),
            np.array([self.reference_rate]),
            np.array([float(self.n_reference)]),
            1 - alpha,
        )
        # Newcombe's ends bracket the estimate; the clip only guards the last bit of rounding.
        d = self.difference
        return min(float(low[0]), d), max(float(high[0]), d)

    def p_value(self) -> float:
        return wald_p(self.difference, self.null_se)

    def detectable(self, *, alpha: float, tests: int, power: float) -> float:
        """The size of gap (positive) a corrected test would find with the stated power."""
        return detectable_shift(self.null_se, alpha=alpha, tests=tests, power=power)


def rate_gap(event: np.ndarray, in_group: np.ndarray, in_reference: np.ndarray) -> RateGap:
    """Counts of `event` (boolean) among the group's and the reference's people."""
    return RateGap(
        events=int((event & in_group).sum()),
        n=int(in_group.sum()),
        reference_events=int((event & in_reference).sum()),
        n_reference=int(in_reference.sum()),
    )
