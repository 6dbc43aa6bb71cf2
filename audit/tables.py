"""Reading the tables an auditor hands us (CSV or Parquet), with clear messages when they are off."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from audit.errors import AuditInputError

READERS = {".csv": "csv", ".gz": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_table(path: str | Path, *, subject: str | None = None) -> pd.DataFrame:
    """Loads a CSV (also .csv.gz) or Parquet file; the format is chosen by the file's extension.

    `subject` names the file in messages ("decisions file 'x.csv'"); every reader of the package
    goes through here so that a bad file gets the same clear message wherever it is read.
    """
    path = Path(path)
    subject = subject or f"data file {str(path)!r}"
    suffix = path.suffix.lower()
    kind = READERS.get(suffix) if suffix != ".gz" or path.name.lower().endswith(".csv.gz") else None
    if kind is None:
        raise AuditInputError(
            subject,
            expected="a .csv or .parquet file",
            found=f"the extension {path.suffix or '(none)'!r}",
            fix="export the decisions as CSV or Parquet",
        )
    if not path.is_file():
        raise AuditInputError(
            subject,
            expected="an existing file",
            found="no such file",
            fix="check the path (relative paths start from the current folder)",
        )
    try:
        frame = pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise AuditInputError(
            subject,
            expected=f"a readable {kind} file",
            found=f"{type(err).__name__}: {str(err).splitlines()[0][:200]}",
            fix=f"check that the file really is {kind} and is not truncated",
        ) from None
    if frame.empty:
        raise AuditInputError(
            subject,
            expected="a table with at least one row",
            found="an empty file" if frame.columns.empty else "a header and no rows",
            fix="check the export that produced the file",
        )
    return frame
