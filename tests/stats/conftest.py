from __future__ import annotations

import pandas as pd
import pytest

from audit.stats.simulate import simulate_decisions


@pytest.fixture
def decisions() -> pd.DataFrame:
    return simulate_decisions(3000, seed=11, score=True)
