import math

import pytest

import tachymeter


@pytest.fixture
def engine():
    """A private engine without a background thread: snapshots come from flush() only."""
    return tachymeter.Engine(background=False)


def ns(v):
    """A float-seconds value as the engine stores it: integer nanoseconds."""
    return round(v * 1e9)


def nearest_rank(values, q):
    """The exact ⌈q·n⌉-th smallest value (the engine's quantile definition)."""
    s = sorted(values)
    k = max(1, math.ceil(q * len(s)))
    return s[k - 1]


def assert_quantile(estimate, values_ns, q, bound, scale=1e9):
    exact = nearest_rank(values_ns, q) / scale
    assert abs(estimate - exact) <= bound * exact + 1e-12, (q, estimate, exact)
