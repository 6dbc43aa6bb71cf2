"""Step 1, data: load a file or generate a synthetic population; split off training rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from audit.data import generate_population, load_people
from audit.errors import AuditInputError
from audit.manifest import file_fingerprint, frame_fingerprint
from audit.spec import AuditSpec
from audit.stats.encoding import UNKNOWN, encode_binary
from audit.tables import read_table


@dataclass(frozen=True)
class AuditData:
    audited: pd.DataFrame
    train: pd.DataFrame | None
    fingerprint: dict[str, Any]


def load_data(spec: AuditSpec) -> AuditData:
    """The rows audited (and trained on, when the spec trains a model), with their fingerprint."""
    source = spec.data
    if source.synthetic is not None:
        syn = source.synthetic
        people = generate_population(syn.n, scenario=syn.scenario, seed=syn.seed).people
        fingerprint: dict[str, Any] = {
            "source": f"synthetic:{syn.scenario}",
            "n": syn.n,
            "seed": syn.seed,
            "sha256": frame_fingerprint(people),
        }
    else:
        assert source.file is not None  # the spec guarantees one of the two
        if source.schema_name == "people":
            people = load_people(source.file)
        else:
            people = read_table(source.file, subject=f"data file '{source.file}'")
        fingerprint = {"source": str(source.file), "sha256": file_fingerprint(source.file)}
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
    return AuditData(audited=audited, train=train, fingerprint=fingerprint)


def check_spec_columns(people: pd.DataFrame, spec: AuditSpec) -> None:
    """The columns and values the spec names exist in the data, before any model is loaded.

    Outcome, attributes and legitimate factors must be columns (the message lists those there
    are); a named reference group and `outcome_positive` must be values of their columns, as
    text, the way the statistics compare them. A misspelling is then found in a second, not
    after a model has been loaded and run on every row.
    """
    wanted = {
        "outcome": [spec.outcome],
        "attributes": spec.groups,
        "legitimate_factors": spec.legitimate_factors,
    }
    for key, columns in wanted.items():
        absent = [c for c in columns if c not in people.columns]
        if absent:
            shown = ", ".join(map(str, people.columns[:25]))
            more = f" and {len(people.columns) - 25} more" if len(people.columns) > 25 else ""
            raise AuditInputError(
                f"spec key '{key}'",
                expected="columns of the data",
                found=f"no column {', '.join(repr(c) for c in absent)} (the data has: "
                f"{shown}{more})",
                fix="name the columns as they are spelled in the data",
            )
    for i, attribute in enumerate(spec.attributes):
        if attribute.reference is not None:
            _require_value(
                people, attribute.column, attribute.reference, f"attributes[{i}].reference"
            )
    if spec.outcome_positive is not None:
        _require_value(people, spec.outcome, spec.outcome_positive, "outcome_positive")
    _require_binary_outcome(people[spec.outcome], spec.outcome_positive)


def _require_binary_outcome(values: pd.Series, positive: str | None) -> None:
    """The outcome is two classes, or `outcome_positive` names the one that counts; no gaps.

    Checked here, in the spec's own words, rather than later by the statistics, which only see
    the internal column of the decisions table and cannot name the spec key to change.
    """
    subject = f"spec key 'outcome' (column '{values.name}')"
    missing = int(values.isna().sum())
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


def _require_value(people: pd.DataFrame, column: str, value: str, key: str) -> None:
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
