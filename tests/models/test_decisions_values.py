"""A decisions file is read only when its decision column really is 0/1."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from audit.errors import AuditInputError
from audit.models.importing import load_model


@pytest.mark.parametrize("bad", [2, -1])
def test_a_decision_other_than_0_or_1_is_refused(tmp_path: Path, bad: int) -> None:
    # A 2 (say, "on hold" coded by the case system) would otherwise be counted as a decision
    # given, or not, depending on how the column happens to be cast later.
    path = tmp_path / "d.csv"
    pd.DataFrame({"decision": [0, 1, bad, 1]}).to_csv(path, index=False)
    with pytest.raises(AuditInputError, match="expected decisions coded 0/1") as err:
        load_model(path, decision_column="decision")
    assert str(bad) in str(err.value)


def test_a_clean_0_1_decisions_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"decision": [0, 1, 1, 0]}).to_csv(path, index=False)
    model = load_model(path, decision_column="decision")
    assert model.predict(pd.DataFrame(index=range(4))).tolist() == [0, 1, 1, 0]
