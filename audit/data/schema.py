"""Schemas of the people and vacancies tables, and loaders for real data files.

One column table (:data:`PEOPLE_COLUMNS`) is the contract between the generator, the loaders, the
reference models and the harm checks. The pandera schemas are built from it, so a column added
here is validated everywhere. The column-group constants say what each column may be used for:
a profiling model may use :data:`OBSERVED_FEATURES`; :data:`LATENT_COLUMNS` exist only in
synthetic data (the ground truth) and must never reach a model.

Categorical columns are pandas ``category`` dtype: a tenth of the memory of strings, and the
statistics core reads their integer codes directly.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

# With pyspark installed (the spark extra), pandera imports pyspark.pandas when it is imported
# (half a second, and warnings about pandas 3) and sets SPARK_LOCAL_IP=127.0.0.1, with which a
# Spark driver started later listens on the loopback only, out of a cluster's reach. pyspark is
# for the Spark engine, imported when an audit asks for it: pandera is kept from it here, and
# its settings undone.
_SPARK_ENV = {k: os.environ.get(k) for k in ("SPARK_LOCAL_IP", "PYARROW_IGNORE_TIMEZONE")}
_HIDE_PYSPARK = "pyspark" not in sys.modules
if _HIDE_PYSPARK:
    sys.modules["pyspark"] = None  # type: ignore[assignment]  # import pyspark: ImportError
try:
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors
finally:
    if _HIDE_PYSPARK:
        del sys.modules["pyspark"]
    for _key, _value in _SPARK_ENV.items():
        if _value is None:
            os.environ.pop(_key, None)

from audit.errors import AuditInputError  # noqa: E402  (after pandera, see above)
from audit.tables import read_table  # noqa: E402

TRACKS: tuple[str, ...] = ("regular", "training", "sheltered", "care")
"""Support tracks, from most to least autonomous. Use these exact codes everywhere."""

REGIONS = ("flanders", "brussels", "wallonia")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64")
GENDERS = ("female", "male", "x")
EDUCATION_LEVELS = ("low", "medium", "high")
ORIGINS = ("belgian", "eu", "non_eu")
LANGUAGES = ("dutch", "french", "german", "other")
HOUSEHOLDS = ("single", "couple", "couple_with_children", "single_parent", "with_parents")
BENEFIT_STATUSES = ("unemployment_benefit", "integration_income", "none")
HOUSING_STATUSES = ("stable", "unstable", "homeless")
DIGITAL_LITERACY_LEVELS = ("low", "medium", "high")
SKILL_LEVELS = EDUCATION_LEVELS
SECTORS = (
    "logistics",
    "cleaning",
    "construction",
    "care",
    "hospitality",
    "retail",
    "manufacturing",
    "administration",
    "ict",
    "education",
)
CONTRACT_TYPES = ("permanent", "fixed_term", "temp_agency", "sheltered_contract")

Kind = Literal["id", "category", "bool", "int", "float"]
Use = Literal["id", "sensitive", "observed", "latent", "outcome", "track", "process"]


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a table: type, allowed values and what it may be used for.

    ``required`` says whether a real data file must have it; synthetic tables always have every
    column. ``ordered`` marks categories whose order means something (education, age band).
    """

    name: str
    kind: Kind
    use: Use
    categories: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    required: bool = True
    ordered: bool = False
    description: str = ""


def _cat(
    name: str,
    cats: tuple[str, ...],
    use: Use,
    desc: str,
    *,
    ordered: bool = False,
    required: bool = True,
) -> ColumnSpec:
    return ColumnSpec(
        name, "category", use, cats, required=required, ordered=ordered, description=desc
    )


PEOPLE_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("person_id", "id", "id", description="pseudonymous id, unique"),
    _cat("region", REGIONS, "sensitive", "region of the employment service"),
    _cat("age_band", AGE_BANDS, "sensitive", "age band", ordered=True),
    _cat("gender", GENDERS, "sensitive", "gender as registered"),
    _cat("education", EDUCATION_LEVELS, "sensitive", "highest qualification", ordered=True),
    _cat("origin", ORIGINS, "sensitive", "origin / nationality group"),
    _cat("language", LANGUAGES, "observed", "main language"),
    _cat("household", HOUSEHOLDS, "observed", "household type"),
    _cat("benefit_status", BENEFIT_STATUSES, "observed", "benefit received"),
    ColumnSpec(
        "mental_health_history",
        "bool",
        "sensitive",
        description="past mental-health problems (GDPR Art. 9 special category)",
    ),
    ColumnSpec(
        "physical_limitation",
        "bool",
        "sensitive",
        required=False,
        description="physical limitation or long-term condition",
    ),
    _cat("housing_status", HOUSING_STATUSES, "sensitive", "stable, unstable or homeless"),
    _cat("digital_literacy", DIGITAL_LITERACY_LEVELS, "sensitive", "digital skills", ordered=True),
    ColumnSpec(
        "employment_spells_3y",
        "int",
        "observed",
        min_value=0,
        description="employment spells in the last 3 years",
    ),
    ColumnSpec(
        "months_worked_3y",
        "int",
        "observed",
        min_value=0,
        max_value=36,
        description="months worked in the last 3 years",
    ),
    ColumnSpec(
        "latent_work_capacity",
        "float",
        "latent",
        min_value=0,
        max_value=1,
        required=False,
        description="true work capacity (synthetic ground truth)",
    ),
    ColumnSpec(
        "latent_motivation",
        "float",
        "latent",
        min_value=0,
        max_value=1,
        required=False,
        description="true motivation / talents (synthetic ground truth)",
    ),
    ColumnSpec("online_cv_updated", "bool", "observed", description="CV updated online (90 days)"),
    ColumnSpec("logins_90d", "int", "observed", min_value=0, description="portal logins, 90 days"),
    ColumnSpec(
        "profile_completeness",
        "float",
        "observed",
        min_value=0,
        max_value=1,
        description="share of the online profile filled in",
    ),
    ColumnSpec("registered_online", "bool", "observed", description="registered via the website"),
    ColumnSpec("diploma_on_file", "bool", "observed", description="diploma on file"),
    ColumnSpec("address_on_file", "bool", "observed", description="address (or reference address)"),
    ColumnSpec("id_on_file", "bool", "observed", description="identity document on file"),
    ColumnSpec(
        "location_x_km",
        "float",
        "observed",
        required=False,
        description="home or shelter location, km east of Brussels",
    ),
    ColumnSpec(
        "location_y_km",
        "float",
        "observed",
        required=False,
        description="home or shelter location, km north of Brussels",
    ),
    ColumnSpec(
        "distance_public_transport_km",
        "float",
        "observed",
        min_value=0,
        description="distance to the nearest public-transport stop",
    ),
    ColumnSpec(
        "distance_to_jobs_km",
        "float",
        "observed",
        min_value=0,
        description="distance to the nearest employment hub",
    ),
    ColumnSpec("has_car", "bool", "observed", description="has a car and a driving licence"),
    ColumnSpec(
        "counsellor_assessment",
        "int",
        "observed",
        min_value=1,
        max_value=5,
        description="counsellor's assessment of work capacity, 1 (low) to 5 (high)",
    ),
    ColumnSpec(
        "pes_score",
        "float",
        "process",
        min_value=0,
        max_value=1,
        required=False,
        description="the employment service's current profiling score",
    ),
    _cat(
        "recommended_track",
        TRACKS,
        "track",
        "track the employment service recommends",
        required=False,
    ),
    _cat(
        "recommended_track_fair",
        TRACKS,
        "latent",
        "track the same process would recommend with no injected harm",
        required=False,
    ),
    _cat(
        "warranted_track", TRACKS, "latent", "track the person's capacity warrants", required=False
    ),
    ColumnSpec(
        "job_28d_6m",
        "bool",
        "outcome",
        required=False,
        description="worked >= 28 days within 6 months (the usual label)",
    ),
    ColumnSpec(
        "sustainable_12m",
        "bool",
        "outcome",
        required=False,
        description=">= 12 months in work (sustainable employment)",
    ),
)

VACANCY_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("vacancy_id", "id", "id", description="vacancy id, unique"),
    _cat("region", REGIONS, "observed", "region of the workplace"),
    ColumnSpec("location_x_km", "float", "observed", description="workplace, km east of Brussels"),
    ColumnSpec("location_y_km", "float", "observed", description="workplace, km north of Brussels"),
    ColumnSpec(
        "distance_public_transport_km",
        "float",
        "observed",
        min_value=0,
        description="workplace distance to the nearest public-transport stop",
    ),
    _cat("skill_level", SKILL_LEVELS, "observed", "qualification the job needs", ordered=True),
    _cat("sector", SECTORS, "observed", "sector"),
    ColumnSpec("sheltered", "bool", "observed", description="sheltered / custom work place"),
    _cat("contract_type", CONTRACT_TYPES, "observed", "contract type"),
    ColumnSpec("wage_eur_month", "float", "observed", min_value=0, description="gross wage"),
    ColumnSpec(
        "online_application_required",
        "bool",
        "observed",
        description="applying requires an online procedure",
    ),
)

RANKING_COLUMNS: tuple[str, ...] = (
    "person_id",
    "rank",
    "vacancy_id",
    "score",
    "distance_km",
    "skill_gap",
)
"""Columns of :func:`audit.data.vacancies.rank_vacancies` output (skill_gap = skill - education)."""

_by_name = {c.name: c for c in PEOPLE_COLUMNS}

SENSITIVE_ATTRIBUTES: tuple[str, ...] = (
    "mental_health_history",
    "housing_status",
    "digital_literacy",
    "gender",
    "age_band",
    "origin",
    "region",
    "education",
)
"""Attributes audits break results down by; the first three are the protected situations."""

DIGITAL_TRACE_FEATURES: tuple[str, ...] = (
    "online_cv_updated",
    "logins_90d",
    "profile_completeness",
    "registered_online",
)
"""Online behaviour that follows digital literacy and gets read as motivation (H4)."""

DOCUMENT_FEATURES: tuple[str, ...] = ("diploma_on_file", "address_on_file", "id_on_file")
"""Documents on file; missing more often after homelessness (H3)."""

MOBILITY_FEATURES: tuple[str, ...] = (
    "distance_public_transport_km",
    "distance_to_jobs_km",
    "has_car",
)
"""Transport access (H6)."""

OBSERVED_FEATURES: tuple[str, ...] = (
    "region",
    "age_band",
    "gender",
    "education",
    "origin",
    "language",
    "household",
    "benefit_status",
    "employment_spells_3y",
    "months_worked_3y",
    *DIGITAL_TRACE_FEATURES,
    *DOCUMENT_FEATURES,
    *MOBILITY_FEATURES,
    "counsellor_assessment",
)
"""What a PES model may use (some of them sensitive: feature selection is the model's choice)."""

LATENT_COLUMNS: tuple[str, ...] = tuple(c.name for c in PEOPLE_COLUMNS if c.use == "latent")
"""Synthetic ground truth: never a model input."""

OUTCOME_COLUMNS: tuple[str, ...] = ("job_28d_6m", "sustainable_12m")
"""Labels: the first is what profiling models predict, the second what support should aim at."""

GROUP_COLUMNS: tuple[str, ...] = tuple(
    c.name
    for c in PEOPLE_COLUMNS
    if c.kind in ("category", "bool") and c.use in ("sensitive", "observed")
)
"""Columns that can define a group in a scenario knob (``column=value``)."""


def column_spec(name: str) -> ColumnSpec:
    """The spec of a people column; AuditInputError naming the known columns otherwise."""
    try:
        return _by_name[name]
    except KeyError:
        raise AuditInputError(
            f"column '{name}'",
            expected="a column of the people table",
            found="no such column",
            fix="use one of: " + ", ".join(_by_name),
        ) from None


def _pandera_column(spec: ColumnSpec) -> pa.Column:
    checks: list[pa.Check] = []
    if spec.min_value is not None:
        checks.append(pa.Check.ge(spec.min_value))
    if spec.max_value is not None:
        checks.append(pa.Check.le(spec.max_value))
    if spec.kind == "category":
        dtype: object = pd.CategoricalDtype(list(spec.categories), ordered=spec.ordered)
        return pa.Column(
            dtype, nullable=False, required=spec.required, description=spec.description
        )
    dtype = {"id": str, "bool": bool, "int": "int64", "float": "float64"}[spec.kind]
    return pa.Column(
        dtype,
        checks,
        nullable=False,
        unique=spec.kind == "id",
        required=spec.required,
        coerce=spec.kind in ("int", "float"),
        description=spec.description,
    )


def _schema(columns: Sequence[ColumnSpec], name: str) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {c.name: _pandera_column(c) for c in columns}, name=name, strict=False
    )


PEOPLE_SCHEMA = _schema(PEOPLE_COLUMNS, "people")
VACANCY_SCHEMA = _schema(VACANCY_COLUMNS, "vacancies")


def _examples(values: Sequence[object], limit: int = 3) -> str:
    shown = ", ".join(repr(v) for v in list(dict.fromkeys(values))[:limit])
    return shown + (", ..." if len(set(values)) > limit else "")


Problem = tuple[str, str]
"""(column, sentence): one thing wrong with a table."""


def _problems_from_pandera(err: SchemaErrors, already: set[str]) -> list[Problem]:
    """One readable sentence per (column, check).

    A column that could not be converted (or had values outside its categories, ``already``)
    gets only that first sentence: its later range or null checks would just repeat it.
    """
    cases = err.failure_cases
    problems: list[Problem] = []
    skip = set(already)
    coerce = cases["check"].astype(str).str.startswith("coerce_dtype(")
    for column, rows in cases[coerce].groupby("column", sort=False):
        check = str(rows["check"].iloc[0])
        problems.append(
            (
                str(column),
                (
                    f"column '{column}' has {len(rows)} value(s) that are not {check[13:-1]}: "
                    f"{_examples(rows['failure_case'].tolist())}"
                ),
            )
        )
        skip.add(str(column))
    for (column, check), rows in cases[~coerce].groupby(
        ["column", "check"], dropna=False, sort=False
    ):
        values = rows["failure_case"].tolist()
        if check == "column_in_dataframe":
            problems.extend((str(v), f"column '{v}' is missing") for v in values)
            continue
        if str(column) in skip:
            continue
        if check == "not_nullable":
            text = f"column '{column}' has {len(rows)} empty value(s)"
        elif check == "field_uniqueness":
            text = f"column '{column}' has duplicate values: {_examples(values)}"
        elif isinstance(check, str) and check.startswith("dtype("):
            text = f"column '{column}' has type {values[0]}, expected {check[6:-1]}"
        else:
            text = f"column '{column}' fails {check} in {len(rows)} row(s): {_examples(values)}"
        problems.append((str(column), text))
    return problems


def _unknown_categories(df: pd.DataFrame, columns: Sequence[ColumnSpec]) -> list[Problem]:
    problems: list[Problem] = []
    for spec in columns:
        if spec.kind != "category" or spec.name not in df.columns:
            continue
        col = df[spec.name]
        values = col.cat.categories if isinstance(col.dtype, pd.CategoricalDtype) else col
        known = set(spec.categories)
        bad = sorted({str(v) for v in pd.unique(values) if not pd.isna(v) and v not in known})
        if bad:
            problems.append(
                (
                    spec.name,
                    (
                        f"column '{spec.name}' has values not allowed: {_examples(bad)} "
                        f"(allowed: {', '.join(spec.categories)})"
                    ),
                )
            )
    return problems


def _to_categorical(df: pd.DataFrame, columns: Sequence[ColumnSpec]) -> pd.DataFrame:
    out = df.copy(deep=False)
    for spec in columns:
        if spec.kind == "category" and spec.name in out.columns:
            dtype = pd.CategoricalDtype(list(spec.categories), ordered=spec.ordered)
            if out[spec.name].dtype != dtype:
                values = out[spec.name].astype("object")
                values = values.where(values.isin(spec.categories), None)  # reported before
                out[spec.name] = pd.Categorical(values, dtype=dtype)
    return out


def _validate(
    df: pd.DataFrame,
    columns: Sequence[ColumnSpec],
    schema: pa.DataFrameSchema,
    subject: str,
    fix: str,
    *,
    convert: bool,
) -> pd.DataFrame:
    problems = _unknown_categories(df, columns)
    if convert:
        df = _to_categorical(df, columns)
    try:
        validated: pd.DataFrame = schema.validate(df, lazy=True)
    except SchemaErrors as err:
        problems.extend(_problems_from_pandera(err, {c for c, _ in problems}))
        validated = df
    if problems:
        position = {c.name: i for i, c in enumerate(columns)}
        problems.sort(key=lambda p: position.get(p[0], len(position)))
        raise AuditInputError(
            subject,
            expected=f"a {schema.name} table as in audit.data.schema",
            found=f"{len(problems)} problem(s):\n" + "\n".join(f"  - {t}" for _, t in problems),
            fix=fix,
        )
    return validated


def validate_people(df: pd.DataFrame, *, subject: str = "people table") -> pd.DataFrame:
    """Validate a people table already in memory (categorical columns must be ``category``).

    Every problem is collected before raising, so one run lists all of them.
    """
    return _validate(
        df,
        PEOPLE_COLUMNS,
        PEOPLE_SCHEMA,
        subject,
        "see PEOPLE_COLUMNS in audit/data/schema.py for names, types and values",
        convert=False,
    )


def validate_vacancies(df: pd.DataFrame, *, subject: str = "vacancies table") -> pd.DataFrame:
    """Validate a vacancies table already in memory."""
    return _validate(
        df,
        VACANCY_COLUMNS,
        VACANCY_SCHEMA,
        subject,
        "see VACANCY_COLUMNS in audit/data/schema.py for names, types and values",
        convert=False,
    )


def _load(
    path: str | Path, columns: Sequence[ColumnSpec], schema: pa.DataFrameSchema, what: str
) -> pd.DataFrame:
    path = Path(path)
    subject = f"{what} file '{path}'"
    df = read_table(path, subject=subject)
    id_col = columns[0].name
    if id_col in df.columns and df[id_col].dtype != "str":
        df[id_col] = df[id_col].astype("str").where(df[id_col].notna(), None)
    return _validate(
        df,
        columns,
        schema,
        subject,
        f"fix the listed columns; the contract is {what.upper()}_COLUMNS in audit/data/schema.py",
        convert=True,
    )


def load_people(path: str | Path) -> pd.DataFrame:
    """Load a people table from CSV or Parquet, validate it, return categorical dtypes.

    Raises AuditInputError listing every failing column and check, never a half-typed frame.
    Latent and outcome columns are optional: real data has no ground truth.
    """
    return _load(path, PEOPLE_COLUMNS, PEOPLE_SCHEMA, "people")


def load_vacancies(path: str | Path) -> pd.DataFrame:
    """Load a vacancies table from CSV or Parquet and validate it."""
    return _load(path, VACANCY_COLUMNS, VACANCY_SCHEMA, "vacancy")


def categorical(
    codes: np.ndarray, categories: Sequence[str], *, ordered: bool = False
) -> pd.Categorical[str]:
    """Build a categorical from integer codes without copying strings (the generator's path)."""
    return pd.Categorical.from_codes(codes, categories=pd.Index(list(categories)), ordered=ordered)


def categories_of(name: str) -> tuple[str, ...]:
    """Allowed values of a categorical people column."""
    return column_spec(name).categories


def ordered_of(name: str) -> bool:
    """Whether a people column's categories are ordered."""
    return column_spec(name).ordered


SCHEMA_VERSION = "1"


def people_column_table() -> list[Mapping[str, object]]:
    """The column contract as plain rows (for the data card and the CLI)."""
    return [
        {
            "name": c.name,
            "kind": c.kind,
            "use": c.use,
            "categories": list(c.categories),
            "min": c.min_value,
            "max": c.max_value,
            "required": c.required,
            "description": c.description,
        }
        for c in PEOPLE_COLUMNS
    ]


# A file our generator writes carries this key in its Parquet metadata, so that `schema: auto`
# recognises it even when a column was dropped on the way (and reports what is missing).
PEOPLE_MARK_KEY = b"audit.schema"
PEOPLE_MARK = b"people/" + SCHEMA_VERSION.encode()


def write_people_parquet(df: pd.DataFrame, path: str | Path) -> None:
    """Writes a people table as Parquet with the people schema's mark in its metadata."""
    import pyarrow as pa_arrow
    import pyarrow.parquet as pq

    table = pa_arrow.Table.from_pandas(df, preserve_index=False)
    meta = {**(table.schema.metadata or {}), PEOPLE_MARK_KEY: PEOPLE_MARK}
    pq.write_table(table.replace_schema_metadata(meta), path)


def is_people_file(path: str | Path) -> bool:
    """Whether a data file is one of ours: it has the people schema's mark (Parquet), or its
    header has every required column of the schema (Parquet or CSV). Only the header is read;
    a file that cannot be read is not ours (its reader then says why)."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            schema = pq.read_schema(path)
            if (schema.metadata or {}).get(PEOPLE_MARK_KEY, b"").startswith(b"people/"):
                return True
            names = set(schema.names)
        else:
            names = set(_csv_header(path))
    except (OSError, ValueError):
        return False
    return {c.name for c in PEOPLE_COLUMNS if c.required} <= names


def _csv_header(path: Path) -> list[str]:
    """The names in a CSV file's first line (a gzipped one's too), whatever its later bytes."""
    import csv
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as f:
        line = f.readline(1 << 20)
    text = line.decode("utf-8-sig", errors="replace")
    return next(csv.reader([text.rstrip("\r\n")]), [])
