"""Ranked vacancies for the checks that read them (H6, H7): a file of the spec's, or generated.

They are loaded or generated only when the spec asks for such a check: ranking every audited
person against every vacancy is the costliest step of a synthetic audit. Each row gets `_row`,
the position of its person among the audited people, joined by id (the spec's id column, else
person_id); rows of people not audited (a model's training rows) are left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from audit.checks.registry import find_check
from audit.data import SyntheticPopulation
from audit.data.schema import RANKING_COLUMNS
from audit.errors import AuditInputError
from audit.manifest import file_fingerprint
from audit.spec import AuditSpec, RankingsSpec
from audit.tables import read_table

DEFAULT_DEPTH = 10
NUMERIC = ("rank", "score", "distance_km", "skill_gap")


def wanted(spec: AuditSpec) -> bool:
    """Whether a check of the spec reads rankings."""
    return any(find_check(c.check).needs_rankings for c in spec.checks)


def depth(spec: AuditSpec) -> int:
    """How many vacancies to rank per person: the deepest top_k the checks read."""
    ks = [
        int(getattr(c, "top_k", DEFAULT_DEPTH))
        for c in spec.checks
        if find_check(c.check).needs_rankings
    ]
    return max(ks, default=DEFAULT_DEPTH)


def obtain_rankings(
    spec: AuditSpec, audited: pd.DataFrame, population: SyntheticPopulation | None
) -> tuple[pd.DataFrame | None, dict[str, Any] | None]:
    """The rankings with `_row`, and their fingerprint; (None, None) when no check needs them
    or there are none (the checks then say so)."""
    if not wanted(spec):
        return None, None
    source = spec.data.rankings
    if source is not None:
        rankings = load_rankings(source)
        id_column = source.id_column or _decisions_id(spec) or "person_id"
        fingerprint: dict[str, Any] = {
            "source": str(source.file),
            "sha256": file_fingerprint(source.file),
        }
    elif population is not None:
        rankings = population.rank_vacancies(k=depth(spec), people=audited)
        id_column = "person_id"
        fingerprint = {"source": "synthetic:rank_vacancies", "k": depth(spec)}
    else:
        return None, None
    joined = join_people(rankings, audited, id_column, source)
    return joined, {**fingerprint, "rows": len(joined)}


def _decisions_id(spec: AuditSpec) -> str | None:
    return spec.model.decisions.id_column if spec.model.decisions is not None else None


def load_rankings(source: RankingsSpec) -> pd.DataFrame:
    """A rankings file, its columns renamed to ours; person_id and rank are required, the
    others are checked by the checks that read them (H7 can run without distances)."""
    subject = f"rankings file '{source.file}'"
    table = read_table(source.file, subject=subject)
    absent = {ours: theirs for ours, theirs in source.columns.items() if theirs not in table}
    if absent:
        ours, theirs = next(iter(absent.items()))
        raise AuditInputError(
            f"spec key 'data.rankings.columns.{ours}'",
            expected=f"a column of the {subject}",
            found=f"no column {theirs!r} (the file has: {', '.join(map(str, table.columns))})",
            fix="spell the column as it is in the file",
        )
    table = table.rename(columns={theirs: ours for ours, theirs in source.columns.items()})
    required = [c for c in ("person_id", "rank") if c not in table.columns]
    if required:
        raise AuditInputError(
            subject,
            expected="the columns person_id and rank (and vacancy_id, score, distance_km, "
            "skill_gap for the checks that read them)",
            found=f"no column {', '.join(map(repr, required))} (the file has: "
            f"{', '.join(map(str, table.columns))})",
            fix="rename them under data.rankings.columns, e.g. {person_id: dossier, rank: "
            "position}",
        )
    for column in (c for c in NUMERIC if c in table.columns):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() & table[column].notna()
        if bad.any():
            raise AuditInputError(
                f"{subject}, column '{column}'",
                expected="numbers",
                found=f"{int(bad.sum())} value(s) that are not, e.g. {table[column][bad].iloc[0]!r}",
                fix="export the column as numbers",
            )
        table[column] = values
    rank = table["rank"]
    if rank.isna().any() or (rank < 1).any() or (rank != np.floor(rank)).any():
        raise AuditInputError(
            f"{subject}, column 'rank'",
            expected="whole numbers from 1 (the best) in every row",
            found="empty, zero, negative or fractional ranks",
            fix="number each person's recommendations 1, 2, 3, ... best first",
        )
    return table[[c for c in RANKING_COLUMNS if c in table.columns]]


def join_people(
    rankings: pd.DataFrame, audited: pd.DataFrame, id_column: str, source: RankingsSpec | None
) -> pd.DataFrame:
    """`_row` for each recommendation of an audited person; the others are left out."""
    if id_column not in audited.columns:
        raise AuditInputError(
            "spec key 'data.rankings.id_column'",
            expected="a column of the data holding the ids the rankings' person_id refers to",
            found=f"no column {id_column!r} in the data",
            fix="name the id column: data.rankings.id_column",
        )
    ids = pd.Index(audited[id_column].astype(str))
    if ids.has_duplicates:
        raise AuditInputError(
            f"the data's id column '{id_column}'",
            expected="one row per id, to join the rankings",
            found=f"{int(ids.duplicated().sum())} repeated id(s)",
            fix="give each person one row, or name another id column",
        )
    rows = ids.get_indexer(pd.Index(rankings["person_id"].astype(str)))
    if source is not None and not (rows >= 0).any():
        example = rankings["person_id"].iloc[0] if len(rankings) else None
        raise AuditInputError(
            f"rankings file '{source.file}'",
            expected=f"person ids of the data's column '{id_column}'",
            found=f"none of its ids is there (e.g. {example!r}; the data has e.g. "
            f"{audited[id_column].iloc[0]!r})",
            fix="name the data's id column (data.rankings.id_column) or the file's "
            "(data.rankings.columns.person_id)",
        )
    out = rankings.loc[rows >= 0].reset_index(drop=True)
    out["_row"] = rows[rows >= 0]
    return out
