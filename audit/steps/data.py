"""Step 1, data: load a file or generate a synthetic population; split off training rows."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit.data import SyntheticPopulation, generate_population, load_people
from audit.data.schema import is_people_file
from audit.errors import AuditInputError
from audit.manifest import file_fingerprint, frame_fingerprint
from audit.spec import AuditSpec, SyntheticData
from audit.stats.encoding import UNKNOWN, check_numeric_groups, encode_binary
from audit.steps.rankings import obtain_rankings
from audit.tables import read_table


@dataclass(frozen=True)
class AuditData:
    audited: pd.DataFrame
    train: pd.DataFrame | None
    fingerprint: dict[str, Any]
    rankings: pd.DataFrame | None = None  # ranked vacancies, for the checks that read them


def load_data(spec: AuditSpec) -> AuditData:
    """The rows audited (and trained on, when the spec trains a model), with their fingerprint."""
    source = spec.data
    population = None
    if source.synthetic is not None:
        population, fingerprint = synthetic_population(source.synthetic)
        people = population.people
    else:
        path = source.local_file
        assert path is not None  # the spec: a file or a synthetic population; a URI needs Spark
        if uses_people_schema(source.schema_name, path):
            people = load_people(path)
        else:
            people = read_table(path, subject=f"data file '{path}'")
        fingerprint = {"source": str(path), "sha256": file_fingerprint(path)}
    check_spec_columns(people, spec)  # before any model is loaded
    train = None
    audited = people
    if spec.model.train is not None:
        # A fixed, seeded split: the model never sees the people it is audited on.
        order = np.random.default_rng(spec.statistics.seed).permutation(len(people))
        cut = round(len(people) * source.train_share)
        train = people.iloc[np.sort(order[:cut])].reset_index(drop=True)
        audited = people.iloc[np.sort(order[cut:])].reset_index(drop=True)
    fingerprint.update(n_rows=len(people), n_audited=len(audited))
    rankings, ranked = obtain_rankings(spec, audited, population)
    if ranked is not None:
        fingerprint["rankings"] = ranked
    return AuditData(audited=audited, train=train, fingerprint=fingerprint, rankings=rankings)


def synthetic_population(syn: SyntheticData) -> tuple[SyntheticPopulation, dict[str, Any]]:
    """The synthetic population a spec asks for, and its fingerprint for the manifest."""
    population = generate_population(syn.n, scenario=syn.scenario, seed=syn.seed)
    fingerprint: dict[str, Any] = {
        "source": f"synthetic:{syn.scenario}",
        "n": syn.n,
        "seed": syn.seed,
        "sha256": frame_fingerprint(population.people),
    }
    return population, fingerprint


def uses_people_schema(schema: str, path: Path) -> bool:
    """The people schema applies when the spec asks for it, or (`auto`) to a file of ours.

    Any other table is taken as it is: only the columns the spec names are checked.
    """
    return schema == "people" or (schema == "auto" and is_people_file(path))


def check_spec_columns(people: pd.DataFrame, spec: AuditSpec) -> None:
    """The columns and values the spec names exist in the data, before any model is loaded.

    Outcome, attributes and legitimate factors must be columns (the message lists those there
    are); a named reference group and `outcome_positive` must be values of their columns, as
    text, the way the statistics compare them. A misspelling is then found in a second, not
    after a model has been loaded and run on every row.
    """
    wanted = {
        "outcome": [spec.outcome] if spec.outcome is not None else [],
        "attributes": spec.groups,
        "legitimate_factors": spec.legitimate_factors,
    }
    for key, columns in wanted.items():
        absent = [c for c in columns if c not in people.columns]
        if absent:
            raise missing_columns(f"spec key '{key}'", absent, people.columns)
    # A numeric column compared value by value is found here, before any model is loaded.
    unbinned = [g for g in spec.groups if g not in spec.group_bins]
    s = spec.statistics
    check_numeric_groups(people, unbinned, s.max_numeric_levels, s.max_levels)
    for i, attribute in enumerate(spec.attributes):
        # A binned attribute's reference is one of its bins, checked once they are cut.
        if attribute.reference is not None and attribute.bins is None:
            require_value(
                people, attribute.column, attribute.reference, f"attributes[{i}].reference"
            )
    if spec.outcome is None:
        return
    if spec.outcome_positive is not None:
        require_value(people, spec.outcome, spec.outcome_positive, "outcome_positive")
    require_binary_outcome(people[spec.outcome], spec.outcome_positive)


def missing_columns(subject: str, absent: list[str], present: pd.Index) -> AuditInputError:
    """The columns a table lacks, with those it has and the closest spelling of each."""
    names = [str(c) for c in present]
    shown = ", ".join(names[:25]) + (f" and {len(names) - 25} more" if len(names) > 25 else "")
    close = {c: difflib.get_close_matches(c, names, n=1, cutoff=0.6) for c in absent}
    hints = [f"'{m[0]}' for '{c}'" for c, m in close.items() if m]
    return AuditInputError(
        subject,
        expected="columns of the data",
        found=f"no column {', '.join(repr(c) for c in absent)} (the data has: {shown})",
        fix="name the columns as they are spelled in the data"
        + (f" (did you mean {', '.join(hints)}?)" if hints else ""),
    )


def require_binary_outcome(
    values: pd.Series, positive: str | None, missing: int | None = None
) -> None:
    """The outcome is two classes, or `outcome_positive` names the one that counts; no gaps.

    Checked here, in the spec's own words, rather than later by the statistics, which only see
    the internal column of the decisions table and cannot name the spec key to change.
    `missing`: the rows without an outcome, when `values` are only the column's distinct values
    (the Spark engine's).
    """
    subject = f"spec key 'outcome' (column '{values.name}')"
    missing = int(values.isna().sum()) if missing is None else missing
    if missing:
        raise AuditInputError(
            subject,
            expected="an outcome in every row",
            found=f"{missing} row(s) without one",
            fix="drop or complete the rows whose outcome is unknown; a missing outcome "
            "cannot be counted as either class",
        )
    if positive is not None:
        return
    try:
        encode_binary(values, "outcome")
    except AuditInputError as err:
        shown = ", ".join(sorted(map(str, pd.unique(values)))[:12])
        raise AuditInputError(
            subject,
            expected="two classes coded 0/1 or True/False, or 'outcome_positive' naming the "
            "value that counts as the outcome",
            found=err.found,
            fix=f"add `outcome_positive: VALUE` to the spec with one of the values {shown}",
        ) from None


def require_value(people: pd.DataFrame, column: str, value: str, key: str) -> None:
    values = people[column]
    present = set(values.dropna().astype(str).unique())
    if values.isna().any():
        present.add(UNKNOWN)  # missing values are the group "unknown" in the statistics
    if value not in present:
        shown = ", ".join(sorted(present)[:12]) + (" ..." if len(present) > 12 else "")
        raise AuditInputError(
            f"spec key '{key}'",
            expected=f"a value of the column '{column}'",
            found=f"{value!r}, which no row has (values: {shown})",
            fix="spell the value as it appears in the data",
        )
