"""The schema accepts what the generator makes, round-trips through files, and rejects broken
tables with a message that names every failing column (exact wording: users read it)."""

from __future__ import annotations

import pandas as pd
import pytest

from audit.data import (
    DIGITAL_TRACE_FEATURES,
    DOCUMENT_FEATURES,
    LATENT_COLUMNS,
    OBSERVED_FEATURES,
    OUTCOME_COLUMNS,
    PEOPLE_COLUMNS,
    SENSITIVE_ATTRIBUTES,
    TRACKS,
    generate_population,
    load_people,
    load_vacancies,
    validate_people,
)
from audit.errors import AuditInputError


@pytest.fixture(scope="module")
def small():
    return generate_population(50, scenario="all_harms", seed=4)


def test_generated_tables_validate_and_are_categorical(small):
    people = validate_people(small.people)
    assert list(people.columns) == [c.name for c in PEOPLE_COLUMNS]
    for spec in PEOPLE_COLUMNS:
        if spec.kind == "category":
            assert isinstance(people[spec.name].dtype, pd.CategoricalDtype), spec.name
            assert tuple(people[spec.name].cat.categories) == spec.categories
    assert people["person_id"].is_unique


def test_column_groups_are_consistent():
    names = {c.name for c in PEOPLE_COLUMNS}
    assert TRACKS == ("regular", "training", "sheltered", "care")
    for group in (SENSITIVE_ATTRIBUTES, OBSERVED_FEATURES, DIGITAL_TRACE_FEATURES,
                  DOCUMENT_FEATURES, LATENT_COLUMNS, OUTCOME_COLUMNS):
        assert set(group) <= names
    assert not set(LATENT_COLUMNS) & set(OBSERVED_FEATURES)
    assert not set(OUTCOME_COLUMNS) & set(OBSERVED_FEATURES)
    assert {"latent_work_capacity", "latent_motivation", "warranted_track"} <= set(LATENT_COLUMNS)
    assert {"mental_health_history", "housing_status", "digital_literacy"} <= set(
        SENSITIVE_ATTRIBUTES)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_round_trip_through_files(small, tmp_path, suffix):
    path = tmp_path / f"people{suffix}"
    vpath = tmp_path / f"vacancies{suffix}"
    if suffix == ".csv":
        small.people.to_csv(path, index=False)
        small.vacancies.to_csv(vpath, index=False)
    else:
        small.people.to_parquet(path)
        small.vacancies.to_parquet(vpath)
    pd.testing.assert_frame_equal(load_people(path), small.people, check_exact=False)
    pd.testing.assert_frame_equal(load_vacancies(vpath), small.vacancies, check_exact=False)


def test_real_data_without_ground_truth_columns_loads(small, tmp_path):
    optional = [c.name for c in PEOPLE_COLUMNS if not c.required]
    path = tmp_path / "real.csv"
    small.people.drop(columns=optional).to_csv(path, index=False)
    loaded = load_people(path)
    assert not set(optional) & set(loaded.columns)


def test_broken_file_lists_every_problem(small, tmp_path):
    people = small.people.head(20)
    raw = people.astype({c: "object" for c in people.select_dtypes("category").columns})
    raw["months_worked_3y"] = raw["months_worked_3y"].astype(object)
    raw.loc[0, "region"] = "antwerp"
    raw.loc[1, "logins_90d"] = -3
    raw.loc[3, "person_id"] = raw.loc[2, "person_id"]
    raw.loc[4, "months_worked_3y"] = "many"
    raw = raw.drop(columns=["age_band"])
    path = tmp_path / "bad.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(AuditInputError) as info:
        load_people(path)
    dup = raw.loc[2, "person_id"]
    assert info.value.args[0] == (
        f"people file '{path}': expected a people table as in audit.data.schema; "
        "found 5 problem(s):\n"
        f"  - column 'person_id' has duplicate values: '{dup}'\n"
        "  - column 'region' has values not allowed: 'antwerp' "
        "(allowed: flanders, brussels, wallonia)\n"
        "  - column 'age_band' is missing\n"
        "  - column 'months_worked_3y' has 1 value(s) that are not 'int64': 'many'\n"
        "  - column 'logins_90d' fails greater_than_or_equal_to(0) in 1 row(s): -3.\n"
        "Hint: fix the listed columns; the contract is PEOPLE_COLUMNS in audit/data/schema.py"
    )


def test_in_memory_table_with_wrong_dtype_is_rejected(small):
    people = small.people.copy()
    people["region"] = people["region"].astype(str)
    people["profile_completeness"] = people["profile_completeness"] + 2
    with pytest.raises(AuditInputError) as info:
        validate_people(people)
    message = str(info.value)
    assert "column 'region' has type str, expected" in message
    assert "column 'profile_completeness' fails less_than_or_equal_to(1) in 50 row(s)" in message


@pytest.mark.parametrize(("name", "content", "found"), [
    ("missing.parquet", None, "no such file"),
    ("people.xlsx", b"x", "the extension '.xlsx'"),
    ("people.parquet", b"not parquet", "ArrowInvalid"),
])
def test_unreadable_files(tmp_path, name, content, found):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(AuditInputError, match="found " + found):
        load_people(path)
