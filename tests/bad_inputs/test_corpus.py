"""Every bad input of the corpus (`cases.py`): exit 2, one clear message, nothing lost or written.

For each case: the exit code is 2; the message is one `error: ...` with what was expected, what
was found and a hint (or click's usage message), and carries the case's words; no traceback;
the case's folder, a good earlier report included, is byte-identical afterwards; the MLflow run
is FAILED with the reason when the failure came after it was opened, and there is no run when it
came before.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.bad_inputs.cases import CASES, Case
from tests.bad_inputs.harness import (
    EXPERIMENT,
    MODELS,
    N_PEOPLE,
    Outcome,
    Shared,
    Workspace,
    call_in_process,
    call_subprocess,
)
from tests.pipeline.conftest import report_snapshot as snapshot


@pytest.fixture(scope="session")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Shared:
    """The shared inputs, and one good audit whose report every `audit run` case starts from."""
    from audit.data import generate_population
    from audit.models.importing import load_model

    root = tmp_path_factory.mktemp("bad-inputs-shared")
    people = generate_population(N_PEOPLE, scenario="all_harms", seed=7).people
    people_csv = root / "people.csv"
    people.to_csv(people_csv, index=False)
    score = load_model(MODELS / "profiling_reference.skops").predict_proba(people)[:, 1]
    decisions_csv = root / "decisions.csv"
    pd.DataFrame(
        {"person_id": people["person_id"], "decision": (score >= 0.5).astype(int), "score": score}
    ).to_csv(decisions_csv, index=False)
    env = Shared(
        root=root,
        people=pd.read_csv(people_csv),
        people_csv=people_csv,
        decisions_csv=decisions_csv,
        store=f"sqlite:///{root}/mlruns/mlflow.db",
        good_report=root / "good" / "reports" / "x",
    )
    good = Workspace(env, root / "good", "good")
    good.folder.mkdir()
    done = call_in_process(["run", str(good.spec())], good.folder)
    assert done.code == 0, done.stderr
    assert (env.good_report / "assessment.json").is_file()
    return env


@pytest.fixture(scope="session")
def runs_of(shared: Shared) -> Any:
    """runs_of(spec name) -> the audit runs of that spec in the shared store."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=shared.store)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None

    def runs(name: str) -> list[Any]:
        return list(
            client.search_runs(
                [experiment.experiment_id], filter_string=f"tags.`audit.spec` = '{name}'"
            )
        )

    return runs


def _prepare(case: Case, shared: Shared, tmp_path: Path) -> tuple[Workspace, list[str]]:
    work = Workspace(shared, tmp_path / "case", "case-" + case.id)
    work.folder.mkdir()
    if case.writes_spec:
        work.spec(case.spec)
        # A good earlier report where this audit would write: it must survive the failure.
        shutil.copytree(shared.good_report, work.folder / "reports" / "x")
    if case.setup is not None:
        case.setup(work)
    return work, [work.fill(a) for a in case.argv]


def _call(case: Case, argv: list[str], cwd: Path) -> Outcome:
    return call_subprocess(argv, cwd) if case.subprocess else call_in_process(argv, cwd)


def _words(text: str) -> str:
    """Whitespace collapsed, the frame of rich's usage box removed."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def _one_message(case: Case, done: Outcome) -> str:
    err = done.stderr
    assert "Traceback" not in err + done.stdout, err
    if case.usage:  # click's own message: an Error box, mostly with usage and where help is
        assert "Error" in err, err
        return _words(err)
    assert err.count("error: ") == 1, err
    message = _words(err[err.index("error: ") :])
    assert " expected " in message and "; found " in message, message
    assert "Hint: " in err, err
    return message


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, shared: Shared, runs_of: Any, tmp_path: Path) -> None:
    work, argv = _prepare(case, shared, tmp_path)
    before = snapshot(work.folder)

    done = _call(case, argv, work.folder)

    assert done.code == case.exit, f"exit {done.code}\n{done.stdout}\n{done.stderr}"
    message = _one_message(case, done)
    for word in case.words:
        assert _words(work.fill(word)) in message, f"{word!r} not in:\n{message}"
    assert snapshot(work.folder) == before, "the failed command wrote or changed files"
    if case.max_seconds is not None:
        assert done.seconds < case.max_seconds, f"took {done.seconds:.1f} s"
    if case.writes_spec:
        _check_run(case, work, runs_of(work.name), message)


def _check_run(case: Case, work: Workspace, runs: list[Any], message: str) -> None:
    if not case.opens_run:
        assert runs == [], "a run was opened for an input that could be refused before"
        return
    assert len(runs) == 1, [r.info.status for r in runs]
    (run,) = runs
    assert run.info.status == "FAILED"
    assert run.data.tags["audit.status"] == "failed"
    assert "audit.verdict" not in run.data.tags
    reason = _words(run.data.tags["audit.error"])
    for word in case.words:
        assert _words(work.fill(word)) in reason, f"{word!r} not in the run's reason {reason!r}"


# --- the table itself ---------------------------------------------------------------------------


def test_the_corpus_is_large_and_covers_every_item() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(CASES) >= 150
    for item in ("degenerate-", "outputs-", "bounds-", "timeout-", "words-"):
        assert sum(i.startswith(item) for i in ids) >= 5, item
    commands = {c.argv[0] for c in CASES}
    assert {"run", "assess", "data", "model"} <= commands
    assert sum(c.subprocess for c in CASES) >= 3
    # Failures after the run opened (model outputs, training, the statistics); bad data and
    # models that cannot be opened are refused before, and leave no run at all.
    assert sum(c.opens_run for c in CASES) >= 25


def test_the_base_spec_of_the_corpus_is_a_good_audit(shared: Shared) -> None:
    """The cases fail because of their change, not because the base is broken."""
    report = yaml.safe_load((shared.good_report / "spec.yaml").read_text(encoding="utf-8"))
    assert report["decision"]["examined"] == ["high"]
    decided = pd.read_csv(shared.decisions_csv)["decision"]
    assert 0 < np.mean(decided) < 1
