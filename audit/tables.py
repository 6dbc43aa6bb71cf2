"""Reading the tables an auditor hands us (CSV or Parquet), with clear messages when they are off."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from audit.errors import AuditInputError

CSV_ENCODING = "utf-8-sig"  # UTF-8, with or without a byte-order mark
READERS = {".csv": "csv", ".gz": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_table(
    path: str | Path, *, subject: str | None = None, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Loads a CSV (also .csv.gz) or Parquet file; the format is chosen by the file's extension.

    `subject` names the file in messages ("decisions file 'x.csv'"); every reader of the package
    goes through here so that a bad file gets the same clear message wherever it is read.
    `columns`: read only these (a wide file costs the time of the columns used). When one of
    them is not in the file, every column is read, so that the caller's message about the
    missing column can list the columns that do exist.
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
            fix="export the table as CSV or Parquet",
        )
    if path.is_dir():
        raise AuditInputError(
            subject,
            expected="a file",
            found="a directory",
            fix="give the path of the table inside it",
        )
    if not path.is_file():
        raise AuditInputError(
            subject,
            expected="an existing file",
            found="no such file",
            fix="check the path (relative paths start from the current folder)",
        )
    try:
        names = _require_unique_header(path, kind, subject)
        wanted = None if columns is None or not set(columns) <= set(names) else list(columns)
        if wanted is not None:
            wanted = list(dict.fromkeys(wanted))
        # utf-8-sig: a spreadsheet's "CSV UTF-8" starts with a byte-order mark, which would
        # otherwise become part of the first column's name.
        frame = (
            pd.read_csv(path, encoding=CSV_ENCODING, usecols=wanted)
            if kind == "csv"
            else pd.read_parquet(path, columns=wanted)
        )
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    except AuditInputError:
        raise
    except UnicodeDecodeError as err:
        raise AuditInputError(
            subject,
            expected="a CSV file in UTF-8 text",
            found=f"the byte 0x{err.object[err.start]:02x}, which is not UTF-8 (a Latin-1 or "
            "Windows-1252 export, or not a text file at all)",
            fix="export the table as UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet, or iconv -f "
            "latin1 -t utf-8), or as Parquet",
        ) from None
    except PermissionError as err:
        raise AuditInputError(
            subject,
            expected="a file this user can read",
            found=err.strerror or "permission denied",
            fix="check the file's permissions",
        ) from None
    except pd.errors.ParserError as err:
        detail = str(err).splitlines()[0].split("C error: ")[-1][:200]
        raise AuditInputError(
            subject,
            expected=f"a readable {kind} file, every row with the header's columns",
            found=f"rows that do not match the header ({detail})",
            fix="check the delimiter (a comma), the quoting of values holding commas, and "
            "that the file is not cut off",
        ) from None
    except (ValueError, OSError) as err:
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


def _require_unique_header(path: Path, kind: str, subject: str) -> list[str]:
    """Two columns of one name: pandas would rename the second `a.1` and the spec read the first.

    The header is read as a plain row (no renaming) to see the names as the file spells them;
    they are returned.
    """
    if kind == "parquet":
        import pyarrow.parquet as pq

        names = [str(n) for n in pq.read_schema(path).names]
    else:
        try:
            header = pd.read_csv(
                path,
                header=None,
                nrows=1,
                dtype=str,
                keep_default_na=False,
                encoding=CSV_ENCODING,
            )
        except pd.errors.EmptyDataError:
            return []
        names = [str(n) for n in header.iloc[0].tolist()] if len(header) else []
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise AuditInputError(
            subject,
            expected="each column name once in the header",
            found="the column(s) " + ", ".join(repr(n) for n in repeated) + " more than once",
            fix="rename or drop the repeated columns so that each name means one column",
        )
    return names
