"""`audit assess` reads only the columns it names; a missing one still lists those that exist."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from audit.tables import read_table

ROOT = Path(__file__).resolve().parents[2]


def _wide(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    return pd.DataFrame(
        {
            "notes": ["free text, with a comma"] * n,
            "statut": rng.choice(["A", "B"], n),
            "embauche": rng.integers(0, 2, n),
            "retenu": rng.integers(0, 2, n),
            "salaire": rng.gamma(2.0, 1000.0, n),
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_only_the_named_columns_are_read_with_their_values(tmp_path: Path, suffix: str) -> None:
    frame = _wide()
    path = tmp_path / f"wide{suffix}"
    if suffix == ".csv":  # a spreadsheet's CSV UTF-8, byte-order mark included
        path.write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False).encode())
    else:
        frame.to_parquet(path)
    got = read_table(path, columns=["retenu", "statut", "embauche", "statut"])
    assert sorted(got.columns) == ["embauche", "retenu", "statut"]
    for column in got.columns:
        assert got[column].astype(str).tolist() == frame[column].astype(str).tolist()
    assert list(read_table(path).columns) == list(frame.columns)  # without columns: all


def test_a_missing_column_reads_them_all_so_the_message_lists_what_exists(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    _wide().to_parquet(path)
    assert list(read_table(path, columns=["statut", "absent"]).columns) == list(_wide().columns)
    done = subprocess.run(
        [sys.executable, "-m", "audit.cli", "assess", str(path), "--y-true", "embauche",
         "--y-pred", "retenu", "-g", "statu"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2
    assert "column 'statu'" in done.stderr and "salaire" in done.stderr, done.stderr


def test_assess_on_a_wide_parquet_file_reads_six_columns_and_matches_the_narrow_file(
    tmp_path: Path,
) -> None:
    frame = _wide()
    wide, narrow = tmp_path / "wide.parquet", tmp_path / "narrow.parquet"
    frame.to_parquet(wide)
    frame[["statut", "embauche", "retenu"]].to_parquet(narrow)
    assert pq.read_schema(wide).names != pq.read_schema(narrow).names
    args = ["--y-true", "embauche", "--y-pred", "retenu", "-g", "statut", "--n-boot", "20"]
    outs = []
    for path in (wide, narrow):
        json_out = tmp_path / f"{path.stem}.json"
        done = subprocess.run(
            [sys.executable, "-m", "audit.cli", "assess", str(path), *args, "--json", str(json_out)],
            capture_output=True, text=True, check=False, cwd=ROOT,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outs.append(json_out.read_text())
    assert outs[0] == outs[1]
