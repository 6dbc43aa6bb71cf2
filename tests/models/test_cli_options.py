"""The options of `audit model train|check` not passed elsewhere, on the real command line.

`--people`, `--population`, `--scenario`, `--seed`, `--features` and `--algorithm` of `train`;
`--strict`, `--decision-column`, `--score-column` and `--id-column` of `check`. The expected
columns, rows and shares are written out or worked out here with pandas (issue 14).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.cli import EXIT_INPUT_ERROR, EXIT_OK, main
from audit.models.importing import load_model

# The schema's sensitive attributes and digital traces, written out (audit/data/schema.py).
SENSITIVE = {"mental_health_history", "housing_status", "digital_literacy", "gender",
             "age_band", "origin", "region", "education"}  # fmt: skip
TRACES = {"online_cv_updated", "logins_90d", "profile_completeness", "registered_online"}


def run(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> tuple[int, str, str]:  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["audit", *args])
    code = EXIT_OK
    try:
        main()
    except SystemExit as stop:
        code = int(stop.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_train_on_a_people_file_without_sensitive_columns_with_a_forest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    people = tmp_path / "people.csv"
    code, _, err = run(["data", "generate", "--out", str(people), "--n", "300", "--seed", "4"],
                       monkeypatch, capsys)  # fmt: skip
    assert code == EXIT_OK, err
    out = tmp_path / "m.skops"
    code, stdout, err = run(
        ["model", "train", "--people", str(people), "--features", "no_sensitive",
         "--algorithm", "random_forest", "--seed", "1", "--out", str(out)],
        monkeypatch, capsys,
    )  # fmt: skip
    assert code == EXIT_OK, err
    assert "(random_forest, features 'no_sensitive'" in stdout
    model = load_model(out)
    columns = {c.name for c in model.expected_columns}
    assert columns and not columns & SENSITIVE
    assert columns >= TRACES  # only the sensitive attributes are dropped
    assert type(model.pipeline[-1]).__name__ == "RandomForestClassifier"  # type: ignore[attr-defined]
    # Trained on the file given, not on a generated population: its 300 rows are all there is.
    rows = int(stdout.split(" on ")[1].split(" rows")[0])
    assert 0 < rows < 300


def test_train_on_a_generated_population_without_digital_traces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.skops"
    args = ["model", "train", "--population", "400", "--scenario", "h1_steering",
            "--features", "no_digital_traces", "--algorithm", "logistic", "--seed", "3",
            "--out", str(out)]  # fmt: skip
    code, stdout, err = run(args, monkeypatch, capsys)
    assert code == EXIT_OK, err
    assert "(logistic, features 'no_digital_traces'" in stdout
    rows = int(stdout.split(" on ")[1].split(" rows")[0])
    assert 200 < rows < 400  # a held-out share of the 400 generated people is kept aside
    model = load_model(out)
    columns = {c.name for c in model.expected_columns}
    assert not columns & TRACES and {"gender", "region"} <= columns
    assert type(model.pipeline[-1]).__name__ == "LogisticRegression"  # type: ignore[attr-defined]
    from audit.data import generate_population

    probe = generate_population(50, seed=9).people
    first = model.predict_proba(probe)
    # --seed and --scenario reach the generator: the same command gives the same model...
    again, other = tmp_path / "again.skops", tmp_path / "other.skops"
    assert run([*args[:-1], str(again)], monkeypatch, capsys)[0] == EXIT_OK
    np.testing.assert_array_equal(load_model(again).predict_proba(probe), first)
    # ...and another seed, or another scenario, another one.
    for option, value in (("--seed", "5"), ("--scenario", "no_bias")):
        changed = list(args[:-1])
        changed[changed.index(option) + 1] = value
        assert run([*changed, str(other)], monkeypatch, capsys)[0] == EXIT_OK
        assert not np.allclose(load_model(other).predict_proba(probe), first)


@pytest.fixture()
def decisions(tmp_path: Path) -> tuple[Path, Path, pd.DataFrame]:
    """A decisions file keyed by id, and audited rows in another order, some ids absent."""
    rng = np.random.default_rng(5)
    n = 200
    table = pd.DataFrame({"person": rng.permutation(np.arange(1000, 1000 + n)),
                          "hired": (rng.random(n) < 0.3).astype(int),
                          "p": rng.random(n).round(4)})  # fmt: skip
    path = tmp_path / "decisions.csv"
    table.to_csv(path, index=False)
    audited = table.sample(120, random_state=2)[["person"]].assign(extra=1)
    data = tmp_path / "people.csv"
    audited.to_csv(data, index=False)
    return path, data, table.set_index("person").loc[audited["person"]]


def test_check_a_decisions_file_by_id(
    decisions: tuple[Path, Path, pd.DataFrame],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, data, matched = decisions
    code, stdout, err = run(["model", "check", str(path), "--data", str(data),
                             "--decision-column", "hired", "--id-column", "person"],
                            monkeypatch, capsys)  # fmt: skip
    assert code == EXIT_OK, err
    share = matched["hired"].mean()
    assert f"1: {share:.1%}" in stdout and f"0: {1 - share:.1%}" in stdout
    assert "rows: 120" in stdout and "ignored 1 other columns" in stdout

    code, stdout, err = run(["model", "check", str(path), "--data", str(data),
                             "--score-column", "p", "--id-column", "person"],
                            monkeypatch, capsys)  # fmt: skip
    assert code == EXIT_OK, err
    # A decisions file is described in its own terms: the probability of its class 1.
    assert f"mean predicted probability of class 1: {matched['p'].mean():.3f}" in stdout


def test_strict_check_refuses_a_column_the_model_does_not_read(
    decisions: tuple[Path, Path, pd.DataFrame],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, data, _ = decisions
    args = ["model", "check", str(path), "--data", str(data), "--decision-column", "hired",
            "--id-column", "person"]  # fmt: skip
    code, _, err = run([*args, "--strict"], monkeypatch, capsys)
    assert code == EXIT_INPUT_ERROR and "extra" in err
    assert run(args, monkeypatch, capsys)[0] == EXIT_OK
