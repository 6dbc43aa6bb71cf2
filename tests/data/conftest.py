"""Shared populations for the data tests: generated once per session (each takes under a second).

N is large enough that a 99% interval on an injected odds ratio is about +-15%, small enough that
the whole folder runs in well under a minute on two cores.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest

from audit.data import SyntheticPopulation, generate_population

N = 200_000
SEED = 7


@cache
def _population(scenario: str, n: int = N, seed: int = SEED) -> SyntheticPopulation:
    return generate_population(n, scenario=scenario, seed=seed)


@pytest.fixture(scope="session")
def population() -> Callable[..., SyntheticPopulation]:
    """population(scenario, n=N, seed=SEED) -> cached SyntheticPopulation."""
    return _population
