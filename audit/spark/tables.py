"""Reading the audited table into Spark, and checking the columns the audit will group on."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from audit.errors import AuditInputError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".orc": "orc", ".json": "json"}
# Types whose values cannot be one group of people: Spark cannot group maps, and a list or a
# record in a group column is a data error, not a category.
_COMPOUND = ("ArrayType", "MapType", "StructType", "BinaryType", "VariantType")


def _format_of(path: str) -> str:
    """Parquet for a folder (a Parquet dataset, as a data lake keeps it), else by suffix."""
    suffix = Path(path.rstrip("/")).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    if suffix == "" and (not _is_local(path) or Path(path).is_dir()):
        return "parquet"
    raise AuditInputError(
        f"data file '{path}'",
        expected=f"a Parquet folder or a file ending in {', '.join(FORMATS)}",
        found=f"the suffix {suffix!r}",
        fix="convert the table to Parquet, or give its folder",
    )


def _is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def require_table_path(path: str | os.PathLike[str]) -> str:
    """The kind of table at `path`, refused before Spark starts if it is a local path that does
    not exist or has a suffix no reader takes (a remote one is for the cluster to find)."""
    text = os.fspath(path)
    if _is_local(text) and not Path(text.removeprefix("file://")).exists():
        raise AuditInputError(
            f"data file '{text}'",
            expected="a file or folder that exists",
            found="no such path",
            fix="check the path; a path on the cluster's storage needs its scheme (s3a://, hdfs://)",
        )
    return _format_of(text)


def read_table(spark: SparkSession, path: str | os.PathLike[str]) -> DataFrame:
    """The table at `path` (a local path or a URI the cluster reads: s3a://, abfss://, hdfs://)."""
    text = os.fspath(path)
    kind = require_table_path(text)
    reader = spark.read.format(kind)
    if kind == "csv":
        reader = reader.option("header", "true").option("inferSchema", "true")
    try:
        return reader.load(text)
    except Exception as err:  # an AnalysisException: path not found, not Parquet, no access
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise AuditInputError(
            f"data file '{text}'",
            expected=f"a table Spark can read as {kind}",
            found=first[:300],
            fix="check the path, its format and the cluster's access to it",
        ) from None


def pandas_dtypes(path: str | os.PathLike[str], columns: Sequence[str]) -> dict[str, Any]:
    """How pandas types `columns` of a Parquet file: categories, nullable integers.

    pandas reads such a column back as it was (age bands in their declared order, "stable"
    before "unstable"; integers with missing values as integers), and the NumPy engine sees
    it so; Spark reads plain values (and integers with missing values come back as floats).
    The pandas metadata of the file's first row group tells, so that both engines list and
    name groups alike. A remote path, CSV, or a column pandas would read as plain values: nothing.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    text = os.fspath(path)
    if not _is_local(text):
        return {}
    root = Path(text.removeprefix("file://"))
    files = [root] if root.is_file() else sorted(root.rglob("*.parquet"))
    if not files or files[0].suffix.lower() not in (".parquet", ".pq"):
        return {}
    reader = pq.ParquetFile(files[0])
    meta = {
        c["field_name"]: c for c in (reader.schema_arrow.pandas_metadata or {}).get("columns", [])
    }
    out: dict[str, Any] = {}
    # A dictionary column another writer stored (pyarrow, Arrow tools) has no pandas metadata,
    # but pandas reads it as a categorical too, in the dictionary's order.
    arrow = {f.name: f.type for f in reader.schema_arrow}
    categorical = [
        c
        for c in columns
        if meta.get(c, {}).get("pandas_type") == "categorical"
        or (c in arrow and pa.types.is_dictionary(arrow[c]))
    ]
    if categorical and reader.num_row_groups:
        table = reader.read_row_group(0, columns=categorical)
        for c in categorical:
            ordered = bool((meta.get(c, {}).get("metadata") or {}).get("ordered"))
            ordered = ordered or bool(getattr(arrow[c], "ordered", False))
            levels = table.column(c).chunk(0).dictionary.to_pylist()
            out[c] = pd.CategoricalDtype(levels, ordered=ordered)
    for c in columns:
        kind = meta.get(c, {}).get("numpy_type")
        if kind in _NULLABLE_INTEGERS:
            out[c] = kind
    return out


_NULLABLE_INTEGERS = {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"}


def require_columns(frame: DataFrame, roles: Mapping[str, str]) -> None:
    """Every column in `roles` (name -> what the audit reads it as) is there and groupable."""
    types = {field.name: field.dataType for field in frame.schema.fields}
    for name, role in roles.items():
        if name not in types:
            available = ", ".join(list(types)[:20])
            raise AuditInputError(
                f"{role} column {name!r}",
                expected="a column of the data",
                found=f"no such column (columns are: {available})",
                fix=f"pass the name of the column that holds the {role}",
            )
        kind = type(types[name]).__name__
        if kind in _COMPOUND:
            raise AuditInputError(
                f"{role} column {name!r}",
                expected="one plain value per person (text, number, boolean or date)",
                found=f"a column of Spark type {types[name].simpleString()}",
                fix="flatten it into a plain column before the audit (one value per person)",
            )
