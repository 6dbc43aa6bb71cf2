"""The Spark engine keeps the level order pandas reads from a Parquet file (no Spark needed).

pandas reads a dictionary-typed column as a categorical in the dictionary's order, whoever wrote
the file; the NumPy engine lists groups and draws its bootstrap over the cells in that order, so
`pandas_dtypes` must give the Spark engine the same order, or the two engines' intervals differ.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from audit.spark.tables import pandas_dtypes

BANDS = ["<25", "25-49", "50+"]  # not sorted: sorting would put "25-49" first


def test_a_dictionary_column_written_by_pyarrow_keeps_pandas_order(tmp_path: Path) -> None:
    path = tmp_path / "decisions.parquet"
    codes = pa.array(np.array([2, 0, 1, 0, 2], dtype=np.int8), mask=np.array([0, 0, 0, 1, 0], bool))
    pq.write_table(
        pa.table(
            {
                "age_band": pa.DictionaryArray.from_arrays(codes, pa.array(BANDS)),
                "region": pa.array(["west", "east", "east", None, "north"]),
                "hired": pa.array([1, 0, 1, 0, 1], pa.int8()),
            }
        ),
        path,
    )
    read = pd.read_parquet(path)
    assert list(read["age_band"].cat.categories) == BANDS  # what the NumPy engine sees
    dtypes = pandas_dtypes(path, ["age_band", "region", "hired"])
    # Plain strings have no declared order: pandas reads them as text, and both engines sort.
    assert dtypes == {"age_band": pd.CategoricalDtype(BANDS)}
    assert dtypes["age_band"] == read["age_band"].dtype


def test_a_pandas_categorical_keeps_its_declared_order(tmp_path: Path) -> None:
    path = tmp_path / "people.parquet"
    frame = pd.DataFrame({"age_band": pd.Categorical(["50+", "<25"], categories=BANDS)})
    frame.to_parquet(path)
    assert pandas_dtypes(path, ["age_band"]) == {"age_band": pd.CategoricalDtype(BANDS)}
    frame.to_csv(tmp_path / "people.csv", index=False)
    assert pandas_dtypes(tmp_path / "people.csv", ["age_band"]) == {}  # CSV: no order kept
