"""The corpus: one table of bad inputs, each with its command, exit code and expected words.

A case is the input it builds (a spec edit and/or files written by `setup`), the command
(`audit ...`, with {tokens} filled in by `harness.Workspace.fill`), and the words its one error
message must contain. Every case must exit 2 with one message (expected / found / fix, or
click's usage message), no traceback, nothing written in its folder, a good earlier report left
byte-identical, and, when the failure comes after the MLflow run was opened (`opens_run`), that
run FAILED with the reason. `test_corpus.py` runs the table.

The issue's items each have cases, tagged in their ids: `degenerate-` (a decision that cannot be
audited), `outputs-` (outputs checked before, written together), `bounds-` (impossible bounds),
`timeout-` (unreachable servers), `words-` (user mistakes that used to give a traceback or the
wrong words); the rest are what users plausibly get wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tests.bad_inputs.harness import Workspace

Edit = Mapping[str, Any] | Callable[[str], str] | None


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    words: tuple[str, ...]
    spec: Edit = None  # the base spec changed (a mapping merged in, or a text edit)
    setup: Callable[[Workspace], object] | None = None  # writes the case's other inputs
    opens_run: bool = False  # fails after the MLflow run was opened: it must be FAILED (the data
    # and an imported model are checked before: refused there, nothing reaches MLflow)
    usage: bool = False  # a usage error reported by click (Usage: ... Error ...)
    subprocess: bool = False  # run as a real process
    max_seconds: float | None = None  # and it must fail this fast
    exit: int = 2

    @property
    def writes_spec(self) -> bool:
        return "{spec}" in self.argv


def sub(old: str, new: str) -> Callable[[str], str]:
    """A text edit of the base spec (the old text must be there)."""

    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


def run(id: str, words: tuple[str, ...] | str, spec: Edit = None, *args: str, **kw: Any) -> Case:
    words = (words,) if isinstance(words, str) else words
    return Case(id, ("run", "{spec}", *args), words, spec=spec, **kw)


def cli(id: str, argv: str | tuple[str, ...], words: tuple[str, ...] | str, **kw: Any) -> Case:
    words = (words,) if isinstance(words, str) else words
    return Case(id, tuple(argv.split()) if isinstance(argv, str) else argv, words, **kw)


def rule(**fields: Any) -> dict[str, Any]:
    """The policy with this one rule (id r) instead of the base spec's."""
    return {"policy": {"rules": [{"id": "r", "metric": "selection_rate", **fields}]}}


def data_file(path: str, **data: Any) -> dict[str, Any]:
    return {"data": {"file": path, **data}}


# --- inputs the cases write -----------------------------------------------------------------

DECISIONS_MODEL = {
    "model": {
        "uri": None,
        "decisions": {
            "file": "{case}/decisions.csv",
            "decision_column": "decision",
            "score_column": "score",
            "id_column": "person_id",
        },
    },
    "decision": None,
}


RANKED = {"data": {"rankings": "{case}/r.csv"}, "checks": [{"check": "mobility"}]}


def rankings_file(columns: Callable[[pd.Series], dict[str, Any]]) -> Callable[[Workspace], object]:
    """A rankings file r.csv, one recommendation per person of the shared people."""
    return lambda w: w.table("r.csv", pd.DataFrame(columns(w.shared.people["person_id"].astype(str))))


def decisions(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Workspace], object]:
    return lambda w: w.decisions("decisions.csv", change)


def people(
    change: Callable[[pd.DataFrame], pd.DataFrame], name: str = "people.csv"
) -> Callable[[Workspace], object]:
    return lambda w: w.people(name, change)


def text_file(name: str, content: str | bytes) -> Callable[[Workspace], object]:
    return lambda w: w.write(name, content)


def folder(name: str) -> Callable[[Workspace], object]:
    return lambda w: (w.folder / name).mkdir(parents=True)


def latin1_people(w: Workspace) -> object:
    text = w.shared.people_csv.read_text(encoding="utf-8")
    return w.write("people.csv", text.replace("stable", "stablé", 5).encode("latin-1"))


def truncated(source: str, name: str, keep: int) -> Callable[[Workspace], object]:
    def build(w: Workspace) -> object:
        return w.write(name, Path(w.fill(source)).read_bytes()[:keep])

    return build


def good_assessment_of_other_groups(w: Workspace) -> object:
    text = Path(w.fill("{good}")).read_text(encoding="utf-8")
    return w.write("other.json", text.replace('"housing_status"', '"region"'))


def older_result(w: Workspace) -> object:
    """A result folder whose assessment.json is of a schema version before this one's."""
    good = Path(w.fill("{good}"))
    document = json.loads(good.read_text(encoding="utf-8"))
    document["schema_version"] = "0.9"
    w.write("old/verdict.json", (good.parent / "verdict.json").read_bytes())
    return w.write("old/assessment.json", json.dumps(document))


def result_alone(w: Workspace) -> object:
    return w.write("alone/assessment.json", Path(w.fill("{good}")).read_bytes())


def run_without_result(w: Workspace) -> object:
    """A run in the shared store that logged nothing (an audit that failed early, say)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=w.shared.store)
    experiment = client.get_experiment_by_name("bad-inputs")
    assert experiment is not None
    run = client.create_run(experiment.experiment_id, run_name="no-result")
    client.set_terminated(run.info.run_id, "FAILED")
    w.extra["run"] = run.info.run_id
    return run


def latin1_spec(w: Workspace) -> object:
    spec = w.spec()
    text = spec.read_text(encoding="utf-8").replace("name:", "description: Démo\nname:", 1)
    return w.write("spec.yaml", text.encode("latin-1"))


def duplicate_parquet_columns(w: Workspace) -> object:
    """A Parquet file with two columns named gender (pandas refuses to write one)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(w.shared.people, preserve_index=False)
    names = ["gender" if n == "origin" else n for n in table.column_names]
    path = w.folder / "people.parquet"
    pq.write_table(table.rename_columns(names), path)
    return path


def constant(column: str, value: Any) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda d: d.assign(**{column: value})


def four_class_outcome(d: pd.DataFrame) -> pd.DataFrame:
    return d.assign(job_28d_6m=np.resize(["none", "short", "long", "sustained"], len(d)))


LOOSE = {"id": "loose", "metric": "selection_rate", "kind": "difference", "max_abs": 0.99}
TRACK = {
    "model": {"uri": "{track_model}"},
    "outcome": "warranted_track",
    "outcome_positive": "sheltered",
    "decision": {"bands": None, "examined": None, "label": "sheltered"},
}
ASSESS = ("assess", "{case}/d.csv", "--y-true", "y", "--y-pred", "d", "--group", "g")
GOOD_D = "y,d,g,s,w\n" + "".join(
    f"{i % 2},{(i // 2) % 2},{'ab'[i % 3 == 0]},{(i % 10) / 10},1\n" for i in range(60)
)


def assess_file(content: str | bytes, name: str = "d.csv") -> Callable[[Workspace], object]:
    return text_file(name, content)


TRAIN = ("model", "train", "--population", "300", "--out", "{case}/m.skops")


# --- the table --------------------------------------------------------------------------------

CASES: list[Case] = [
    # -- item 1: a degenerate decision never passes ----------------------------------------------
    run(
        "degenerate-label-misspelled",
        ("decision.label", "care, regular, sheltered, training", "'shelterd'", "did you mean 'sheltered'"),
        {**TRACK, "decision": {**TRACK["decision"], "label": "shelterd"}},
        opens_run=True,
    ),
    run(
        "degenerate-label-wrong-case",
        ("decision.label", "'Sheltered'", "did you mean 'sheltered'"),
        {**TRACK, "decision": {**TRACK["decision"], "label": "Sheltered"}},
        opens_run=True,
    ),
    run(
        "degenerate-label-not-a-class-of-profiling",
        ("decision.label", "classes of model", "0, 1", "'yes'"),
        {"decision": {"bands": None, "examined": None, "label": "yes"}},
        opens_run=True,
    ),
    run(
        "degenerate-label-of-another-model",
        ("decision.label", "'training_track'", "did you mean 'training'"),
        {**TRACK, "decision": {**TRACK["decision"], "label": "training_track"}},
        opens_run=True,
    ),
    run(
        "degenerate-threshold-one",
        ("decision.threshold", "the decision 0 for all", "score >= 1", "scores range"),
        {"decision": {"bands": None, "examined": None, "threshold": 1.0}},
        opens_run=True,
    ),
    run(
        "degenerate-threshold-zero",
        ("decision.threshold", "the decision 1 for all", "score >= 0"),
        {"decision": {"bands": None, "examined": None, "threshold": 0.0}},
        opens_run=True,
    ),
    run(
        "degenerate-band-no-one-reaches",
        ("decision.bands", "the decision 0 for all", "examined"),
        {"decision": {"bands": {"high": 0.999, "low": 0.25}}},
        opens_run=True,
    ),
    run(
        "degenerate-every-band-examined",
        ("decision.bands", "the decision 1 for all"),
        {"decision": {"examined": ["high", "medium", "low"]}},
        opens_run=True,
    ),
    run(
        "degenerate-decisions-file-all-zero",
        ("spec key 'decision'", "the decision 0 for all", "decision column"),
        DECISIONS_MODEL,
        setup=decisions(constant("decision", 0)),
        opens_run=True,
    ),
    run(
        "degenerate-decisions-file-all-one",
        ("the decision 1 for all",),
        DECISIONS_MODEL,
        setup=decisions(constant("decision", 1)),
        opens_run=True,
    ),
    run(
        "degenerate-threshold-above-every-score",
        ("decision.threshold", "the decision 0 for all", "score >= 0.95", "to 0.889"),
        {"decision": {"bands": None, "examined": None, "threshold": 0.95}},
        opens_run=True,
    ),
    # -- item 2: outputs checked before the audit, written together --------------------------
    run(
        "outputs-junit-under-a-file",
        ("--junit", "is a file, so no folder can be made"),
        None,
        "--junit",
        "{case}/blocker/junit.xml",
        setup=text_file("blocker", "not a folder"),
        subprocess=True,
    ),
    run(
        "outputs-junit-in-a-folder-that-refuses",
        ("--junit '/sys/junit.xml'", "a folder this user can write"),
        None,
        "--junit",
        "/sys/junit.xml",
    ),
    run(
        "outputs-junit-is-a-directory",
        ("--junit", "is a directory"),
        None,
        "--junit",
        "{case}/junit-dir",
        setup=folder("junit-dir"),
    ),
    run(
        "outputs-out-is-a-file",
        ("--out", "is a file"),
        None,
        "--out",
        "{case}/a-file",
        setup=text_file("a-file", "x"),
    ),
    run(
        "outputs-out-under-a-file",
        ("--out", "is a file, so no folder can be made"),
        None,
        "--out",
        "{case}/a-file/report",
        setup=text_file("a-file", "x"),
    ),
    run(
        "outputs-out-refused",
        ("--out '/sys/audit-report'", "a folder this user can write"),
        None,
        "--out",
        "/sys/audit-report",
    ),
    run(
        "outputs-report-dir-under-a-file",
        ("report folder (report.dir)", "is a file, so no folder can be made"),
        {"report": {"dir": "{case}/a-file/x"}},
        setup=text_file("a-file", "x"),
    ),
    run(
        "outputs-report-dir-refused",
        ("report folder (report.dir)", "a folder this user can write"),
        {"report": {"dir": "/sys/reports/x"}},
    ),
    cli(
        "outputs-assess-json-under-a-file",
        (*ASSESS, "--json", "{case}/a-file/r.json"),
        ("--json", "is a file, so no folder can be made"),
        setup=lambda w: (w.write("d.csv", GOOD_D), w.write("a-file", "x")),
    ),
    cli(
        "outputs-assess-json-is-a-directory",
        (*ASSESS, "--json", "{case}/out.json"),
        ("--json", "is a directory"),
        setup=lambda w: (w.write("d.csv", GOOD_D), (w.folder / "out.json").mkdir()),
    ),
    cli(
        "outputs-model-out-under-a-file",
        ("model", "train", "--population", "300", "--out", "{case}/a-file/m.skops"),
        ("--out", "is a file, so no folder can be made"),
        setup=text_file("a-file", "x"),
    ),
    cli(
        "outputs-model-onnx-out-refused",
        (*TRAIN, "--onnx-out", "/sys/m.onnx"),
        ("--onnx-out", "a folder this user can write"),
    ),
    cli(
        "outputs-model-out-is-a-directory",
        ("model", "train", "--population", "300", "--out", "{case}/m.skops"),
        ("--out", "is a directory"),
        setup=folder("m.skops"),
    ),
    cli(
        "outputs-data-out-is-a-directory",
        ("data", "generate", "--n", "300", "--out", "{case}/p.csv"),
        ("--out", "is a directory"),
        setup=folder("p.csv"),
    ),
    cli(
        "outputs-data-truth-out-refused",
        ("data", "generate", "--n", "300", "--out", "{case}/p.csv", "--truth-out", "/sys/t.json"),
        ("--truth-out", "a folder this user can write"),
    ),
    # -- item 4: bounds a metric can take ----------------------------------------------------
    run(
        "bounds-max-abs-five",
        ("policy.rules[0].max_abs", "a bound in [0, 1]", "found 5"),
        sub("max_abs: 0.99", "max_abs: 5"),
    ),
    run("bounds-max-abs-above-one", ("max_abs", "[0, 1]", "1.5"), sub("max_abs: 0.99", "max_abs: 1.5")),
    run("bounds-max-abs-negative", ("max_abs", "greater than or equal to 0"), sub("0.99", "-0.1")),
    run("bounds-difference-min-below-minus-one", ("policy.rules[0].min", "[-1, 1]", "-2"), rule(min=-2)),
    run("bounds-difference-max-above-one", ("policy.rules[0].max", "[-1, 1]", "found 3"), rule(max=3)),
    run("bounds-difference-min-above-one", ("policy.rules[0].min", "[-1, 1]"), rule(min=1.2)),
    run("bounds-ratio-negative-min", ("policy.rules[0].min", "at least 0", "-0.5"), rule(kind="ratio", min=-0.5)),
    run("bounds-ratio-negative-max", ("policy.rules[0].max", "never negative"), rule(kind="ratio", max=-1)),
    run("bounds-ratio-with-max-abs", ("max_abs", "for a ratio"), rule(kind="ratio", max_abs=0.2)),
    run("bounds-not-finite", ("policy.rules[0].max", "a finite number"), sub("max_abs: 0.99", "max: .inf")),
    run("bounds-percent-not-share", ("max_abs", "[0, 1]", "found 5"), rule(max_abs=5, kind="difference")),
    run("bounds-line-is-the-rule", ("spec.yaml:18", "max_abs"), sub("max_abs: 0.99", "max_abs: 10")),
    # -- item 7: every network call has a bounded timeout ------------------------------------
    cli(
        "timeout-model-train-unreachable-server",
        (*TRAIN, "--tracking-uri", "http://127.0.0.1:9", "--register", "x"),
        ("MLflow tracking server 'http://127.0.0.1:9'", "no connection", "mlflow server"),
        subprocess=True,
        max_seconds=20,
    ),
    cli(
        "timeout-model-check-unreachable-server",
        ("model", "check", "models:/x@champion", "--tracking-uri", "http://127.0.0.1:9",
         "--data", "{people}"),
        ("MLflow tracking server 'http://127.0.0.1:9'", "no connection"),
        max_seconds=20,
    ),
    run(
        "timeout-run-unreachable-server",
        ("MLflow tracking server 'http://127.0.0.1:9'", "tracking.fallback_local"),
        {"tracking": {"uri": "http://127.0.0.1:9"}},
        subprocess=True,
        max_seconds=20,
    ),
    run(
        "timeout-run-tracking-uri-option-unreachable",
        ("MLflow tracking server 'http://127.0.0.1:9'",),
        None,
        "--tracking-uri",
        "http://127.0.0.1:9",
        max_seconds=20,
    ),
    cli(
        "timeout-model-train-unreachable-without-register",
        (*TRAIN, "--tracking-uri", "http://127.0.0.1:9"),
        ("MLflow tracking server 'http://127.0.0.1:9'", "no connection"),
        max_seconds=20,
    ),
    # -- item 8: words, not tracebacks -------------------------------------------------------
    run("words-spec-not-utf8", ("spec.yaml:1", "UTF-8", "0xe9", "iconv"), setup=latin1_spec, subprocess=True),
    run(
        "words-spec-binary",
        ("UTF-8", "not a text file"),
        setup=text_file("spec.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"),
    ),
    cli("words-spec-is-a-directory", "run {case}/specs", ("audit spec", "a directory"), setup=folder("specs")),
    run(
        "words-data-csv-not-utf8",
        ("people file", "UTF-8", "0xe9", "iconv"),
        data_file("{case}/people.csv"),
        setup=latin1_people,
    ),
    run(
        "words-data-is-a-directory",
        ("data file", "a directory"),
        data_file("{case}/people.csv"),
        setup=folder("people.csv"),
    ),
    run(
        "words-duplicate-top-level-key",
        ("each key once", "'outcome' on line 6 and again on line 7"),
        sub("outcome: job_28d_6m\n", "outcome: job_28d_6m\noutcome: sustainable_12m\n"),
    ),
    run(
        "words-duplicate-nested-key",
        ("each key once", "'n_boot' on line 14 and again on line 16"),
        sub("  seed: 1\n", "  seed: 1\n  n_boot: 2000\n"),
    ),
    run(
        "words-duplicate-key-in-flow-mapping",
        ("each key once", "'max_abs'", "line 18"),
        sub("max_abs: 0.99}", "max_abs: 0.99, max_abs: 5}"),
    ),
    run(
        "words-duplicate-section",
        ("each key once", "'policy'"),
        lambda t: t + "policy:\n  rules: []\n",
    ),
    run(
        "words-duplicate-csv-columns",
        ("data file", "each column name once", "'gender' more than once"),
        data_file("{case}/people.csv", schema="none"),
        setup=lambda w: w.write(
            "people.csv",
            w.shared.people_csv.read_text(encoding="utf-8").replace("origin,", "gender,", 1),
        ),
    ),
    run(
        "words-duplicate-parquet-columns",
        ("each column name once", "'gender' more than once"),
        data_file("{case}/people.parquet", schema="none"),
        setup=duplicate_parquet_columns,
    ),
    run(
        "words-four-class-outcome",
        ("spec key 'outcome'", "outcome_positive", "long, none, short, sustained"),
        {**data_file("{case}/people.csv", schema="none")},
        setup=people(four_class_outcome),
    ),
    run(
        "words-multi-class-track-outcome",
        ("spec key 'outcome'", "outcome_positive", "care, regular, sheltered, training"),
        {**TRACK, "outcome_positive": None},
    ),
    run(
        "words-text-outcome-needs-positive",
        ("spec key 'outcome'", "outcome_positive", "no, yes"),
        data_file("{case}/people.csv", schema="none"),
        setup=people(lambda d: d.assign(job_28d_6m=np.where(d["job_28d_6m"], "yes", "no"))),
    ),
    run(
        "words-outcome-with-gaps",
        ("spec key 'outcome'", "an outcome in every row", "row(s) without one"),
        data_file("{case}/people.csv", schema="none"),
        setup=people(lambda d: d.assign(job_28d_6m=d["job_28d_6m"].where(d.index % 7 > 0))),
    ),
    run(
        "rankings-renamed-column-absent",
        ("spec key 'data.rankings.columns.distance_km'", "no column 'km'", "afstand"),
        RANKED | {"data": {"rankings": {"file": "{case}/r.csv", "columns": {"distance_km": "km"}}}},
        setup=rankings_file(lambda ids: {"person_id": ids, "rank": 1, "afstand": 3.0}),
    ),
    run(
        "rankings-ids-not-in-data",
        ("rankings file", "none of its ids", "data.rankings.id_column"),
        RANKED,
        setup=rankings_file(lambda ids: {"person_id": "x" + ids, "rank": 1, "distance_km": 3.0}),
    ),
    run(
        "rankings-rank-zero",
        ("column 'rank'", "whole numbers from 1"),
        RANKED,
        setup=rankings_file(lambda ids: {"person_id": ids, "rank": 0, "distance_km": 3.0}),
    ),
    # -- spec: files and YAML ------------------------------------------------------------------
    cli("spec-missing", "run {case}/nope.yaml", ("audit spec", "no such file")),
    cli("spec-no-argument", "run", ("give the spec file",), usage=True),
    run("spec-empty", ("a YAML mapping", "an empty file"), lambda t: ""),
    run("spec-only-comments", ("a YAML mapping", "an empty file"), lambda t: "# todo\n"),
    run("spec-a-list", ("a YAML mapping", "found a list"), lambda t: "- name: x\n- data: y\n"),
    run("spec-a-string", ("a YAML mapping", "found a single text"), lambda t: "just some words\n"),
    run("spec-bad-indentation", ("valid YAML",), sub("  seed: 1\n", "   seed: 1\n")),
    run("spec-unclosed-bracket", ("valid YAML",), sub("examined: [high]", "examined: [high")),
    run("spec-tab-indentation", ("valid YAML", "a tab", "indent with spaces"), sub("  seed: 1", "\tseed: 1")),
    run("spec-unknown-anchor", ("valid YAML", "undefined alias 'bands'"), sub("examined: [high]", "examined: *bands")),
    run("spec-unquoted-colon", ("valid YAML", "mapping values"), sub("experiment: bad-inputs", "experiment: bad-inputs: x")),
    run(
        "spec-alias-of-wrong-type",
        ("key 'attributes'",),
        lambda t: t.replace("decision:\n", "decision: &decision\n").replace(
            "attributes:\n  - {column: housing_status, reference: stable}\n  - gender\n",
            "attributes: *decision\n",
        ),
    ),
    # -- spec: keys and types ------------------------------------------------------------------
    run("spec-unknown-top-level-key", ("key 'atributes'", "only known keys"), {"atributes": ["gender"]}),
    run("spec-unknown-statistics-key", ("key 'statistics.nboot'", "only known keys"), {"statistics": {"nboot": 5}}),
    run("spec-unknown-data-key", ("key 'data.path'", "only known keys"), {"data": {"path": "x.csv"}}),
    run("spec-unknown-decision-key", ("key 'decision.treshold'",), {"decision": {"treshold": 0.5}}),
    run("spec-unknown-rule-key", ("key 'policy.rules[0].maxabs'",), sub("max_abs: 0.99", "maxabs: 0.99")),
    run("spec-unknown-tracking-key", ("key 'tracking.url'",), {"tracking": {"url": "x"}}),
    run("spec-unknown-report-key", ("key 'report.folder'",), {"report": {"folder": "x"}}),
    run("spec-unknown-model-key", ("key 'model.path'",), {"model": {"path": "x.skops"}}),
    run("spec-missing-name", ("key 'name'", "which is required"), {"name": None}),
    # -- decision-only audits: without an outcome, a rule on an error rate is refused up front --
    run("spec-no-outcome-rule-on-tpr", ("key 'policy.rules[0].metric'", "expected an outcome column: rule 'r' bounds tpr, which needs an observed outcome", "found the spec names none (no `outcome` key)", "add `outcome: COLUMN` or drop the rule 'r'"), {"outcome": None, **rule(metric="tpr", max_abs=0.1)}),
    run("spec-no-outcome-significance-on-fpr", ("key 'policy.rules[0].no_significant_disparity'", "rule 's' tests fpr, which needs an observed outcome"), {"outcome": None, "policy": {"rules": [{"id": "s", "no_significant_disparity": ["selection_rate", "fpr"]}]}}),
    run("spec-no-outcome-named-disparity", ("rule 'r' bounds average_odds_difference, which needs an observed outcome",), {"outcome": None, **rule(metric="average_odds_difference", max_abs=0.1)}),
    run("spec-no-outcome-outcome-positive", ("key 'outcome_positive'", "an outcome column for 'outcome_positive'", "add `outcome: COLUMN`, or drop outcome_positive"), {"outcome": None, "outcome_positive": "1"}),
    run("spec-missing-attributes", ("key 'attributes'", "which is required"), {"attributes": None}),
    run("spec-missing-data", ("key 'data'", "which is required"), {"data": None}),
    run("spec-missing-model", ("key 'model'", "which is required"), {"model": None}),
    run("spec-empty-attributes", ("key 'attributes'", "at least 1 item"), {"attributes": []}),
    run("spec-attributes-not-a-list", ("key 'attributes'",), {"attributes": "gender"}),
    run("spec-attribute-a-number", ("key 'attributes[0]'", "found 5"), {"attributes": [5]}),
    run("spec-attribute-without-column", ("attributes[0].column", "required"), {"attributes": [{"reference": "x"}]}),
    run("spec-attribute-twice", ("each attribute listed once",), {"attributes": ["gender", "gender"]}),
    run("spec-name-with-spaces", ("key 'name'", "pattern"), {"name": "my audit"}),
    run("spec-name-with-slash", ("key 'name'", "pattern"), {"name": "team/audit"}),
    run("spec-name-too-long", ("key 'name'", "at most 80"), {"name": "a" * 81}),
    run("spec-name-a-number", ("key 'name'", "string"), {"name": 12}),
    run("spec-outcome-a-list", ("key 'outcome'", "string"), {"outcome": ["job_28d_6m"]}),
    run("spec-outcome-positive-a-list", ("key 'outcome_positive'",), {"outcome_positive": ["a"]}),
    run("spec-data-file-and-synthetic", ("key 'data'", "exactly one of 'file' or 'synthetic'"), {"data": {"synthetic": {"n": 500}}}),
    run("spec-data-neither", ("key 'data'", "exactly one of 'file' or 'synthetic'"), {"data": {"file": None}}),
    run("spec-data-schema-unknown", ("key 'data.schema'", "'people' or 'none'"), {"data": {"schema": "loose"}}),
    run("spec-synthetic-too-small", ("data.synthetic.n", "greater than or equal to 200"), {"data": {"file": None, "synthetic": {"n": 50}}}),
    run("spec-synthetic-n-words", ("data.synthetic.n", "integer"), {"data": {"file": None, "synthetic": {"n": "lots"}}}),
    run("spec-train-share-above-one", ("data.train_share", "less than 1"), {"data": {"train_share": 1.5}}),
    run("spec-train-share-zero", ("data.train_share", "greater than 0"), {"data": {"train_share": 0}}),
    run("spec-model-train-and-uri", ("key 'model'", "exactly one of 'train', 'uri' or 'decisions'", "train, uri"), {"model": {"train": {"task": "profiling"}}}),
    run("spec-model-empty", ("key 'model'", "exactly one of"), {"model": {"uri": None}}),
    run("spec-model-train-task-unknown", ("model.train.task", "'profiling' or 'track'"), {"model": {"uri": None, "train": {"task": "ranking"}}}),
    run("spec-decisions-without-file", ("model.decisions.file", "required"), {"model": {"uri": None, "decisions": {"decision_column": "d"}}}),
    run("spec-decision-two-rules", ("key 'decision'", "one of 'bands', 'threshold' or 'label'"), {"decision": {"threshold": 0.5}}),
    run("spec-decision-threshold-above-one", ("decision.threshold", "less than or equal to 1"), {"decision": {"bands": None, "examined": None, "threshold": 1.5}}),
    run("spec-decision-threshold-negative", ("decision.threshold", "greater than or equal to 0"), {"decision": {"bands": None, "examined": None, "threshold": -0.1}}),
    run("spec-decision-threshold-words", ("decision.threshold", "number"), {"decision": {"bands": None, "examined": None, "threshold": "half"}}),
    run("spec-bands-without-examined", ("key 'decision'", "the band(s) examined"), {"decision": {"examined": None}}),
    run("spec-band-examined-unknown", ("decision.examined[0]", "'high', 'medium' or 'low'"), {"decision": {"examined": ["top"]}}),
    run("spec-band-name-unknown", ("decision.bands", "'high' or 'low'"), {"decision": {"bands": {"mid": 0.5}}}),
    run("spec-use-score-words", ("decision.use_score", "boolean"), {"decision": {"use_score": "sometimes"}}),
    run("spec-intersections-zero", ("key 'intersections'", "greater than or equal to 1"), {"intersections": 0}),
    run("spec-intersections-four", ("key 'intersections'", "less than or equal to 3"), {"intersections": 4}),
    run("spec-intersections-beyond-attributes", ("spec.yaml:31: key 'intersections'", "at most the number of attributes (2); found 3"), {"intersections": 3}),
    run("spec-factor-twice", ("each legitimate factor listed once",), {"legitimate_factors": ["education", "education"]}),
    run("spec-labels-unknown-attribute", ("key 'labels.housng'", "labels only for audited attributes"), {"labels": {"housng": {"levels": {"homeless": "homeless people"}}}}),
    run("spec-labels-unknown-language", ("key 'labels.housing_status.name'", "one per language among 'en', 'fr', 'nl' (found language 'de')"), {"labels": {"housing_status": {"name": {"de": "Wohnen"}}}}),
    run("spec-factor-one-bin", ("legitimate_factors[0].bins", "greater than or equal to 2"), {"legitimate_factors": [{"column": "age_band", "bins": 1}]}),
    run("spec-factor-unknown-key", ("legitimate_factors[0].bin", "only known keys"), {"legitimate_factors": [{"column": "age_band", "bin": 3}]}),
    run("spec-n-boot-negative", ("statistics.n_boot", "greater than or equal to 0"), {"statistics": {"n_boot": -1}}),
    run("spec-n-boot-words", ("statistics.n_boot", "integer"), {"statistics": {"n_boot": "many"}}),
    run("spec-n-boot-fraction", ("statistics.n_boot", "integer"), {"statistics": {"n_boot": 10.5}}),
    run("spec-alpha-too-large", ("statistics.alpha", "less than 0.5"), {"statistics": {"alpha": 0.7}}),
    run("spec-alpha-zero", ("statistics.alpha", "greater than 0"), {"statistics": {"alpha": 0}}),
    run("spec-alpha-percent", ("statistics.alpha", "less than 0.5"), {"statistics": {"alpha": 5}}),
    run("spec-correction-unknown", ("statistics.correction", "'holm', 'bh' or 'none'"), {"statistics": {"correction": "bonferroni"}}),
    run("spec-bootstrap-unknown", ("statistics.bootstrap", "'multinomial' or 'stratified'"), {"statistics": {"bootstrap": "poisson"}}),
    run("spec-min-group-size-zero", ("statistics.min_group_size", "greater than or equal to 1"), {"statistics": {"min_group_size": 0}}),
    run("spec-reference-rule-unknown", ("statistics.reference_rule", "'largest' or 'most_advantaged'"), {"statistics": {"reference_rule": "smallest"}}),
    run("spec-seed-words", ("statistics.seed", "integer"), {"statistics": {"seed": "abc"}}),
    run("spec-test-margin-negative", ("statistics.test_margin", "greater than or equal to 0"), {"statistics": {"test_margin": -0.1}}),
    run("spec-evidence-unknown", ("policy.evidence", "'interval' or 'point'"), {"policy": {"evidence": "strong"}}),
    run("spec-on-inconclusive-unknown", ("policy.on_inconclusive", "'fail' or 'pass'"), {"policy": {"on_inconclusive": "maybe"}}),
    run("spec-regression-margin-negative", ("policy.regression_margin", "greater than or equal to 0"), {"policy": {"regression_margin": -1}}),
    run("spec-rules-a-mapping", ("key 'policy.rules'", "list"), {"policy": {"rules": {"id": "r"}}}),
    run("spec-rule-without-id", ("policy.rules[0].id", "required"), {"policy": {"rules": [{"metric": "tpr", "max_abs": 0.1}]}}),
    run("spec-rule-unknown-metric", ("policy.rules[0].metric", "one of the metrics", "selection_rate, tpr"), rule(metric="recall", max_abs=0.1)),
    run("spec-rule-misspelled-metric", ("policy.rules[0].metric", "one of the metrics", "selection-rate"), rule(metric="selection-rate", max_abs=0.1)),
    run("spec-rule-score-metric", ("policy.rules[0].metric", "one of the metrics", "auc"), rule(metric="auc", max_abs=0.1)),
    run("spec-rule-without-bound", ("policy.rules[0]", "a bound: 'min', 'max' or 'max_abs'"), rule()),
    run("spec-rule-max-abs-and-min", ("either 'max_abs' or 'min'/'max'",), rule(max_abs=0.1, min=-0.1)),
    run("spec-rule-min-above-max", ("'min' at most 'max'", "0.2 > 0.1"), rule(min=0.2, max=0.1)),
    run("spec-rule-bound-words", ("policy.rules[0].max_abs", "number", "five percent"), sub("max_abs: 0.99", "max_abs: five percent")),
    run("spec-rule-kind-unknown", ("policy.rules[0].kind", "'difference' or 'ratio'"), rule(kind="percent", max_abs=0.1)),
    run("spec-rule-ids-repeated", ("unique rule ids", "repeated: loose"), {"policy": {"rules": [LOOSE, LOOSE]}}),
    run("spec-rule-attribute-not-audited", ("rule 'r' to name only audited attributes",), rule(max_abs=0.1, attributes=[["region"]])),
    run("spec-rule-attributes-not-nested", ("policy.rules[0].attributes[0]", "list"), rule(max_abs=0.1, attributes=["gender"])),
    run("spec-conditional-without-factors", ("legitimate_factors for the conditional rule 'r'",), rule(max_abs=0.1, conditional=True)),
    run("spec-conditional-ratio", ("kind 'difference' for a conditional rule",), {**rule(kind="ratio", min=0.8, conditional=True), "legitimate_factors": ["education"]}),
    run("spec-conditional-own-factor", ("a legitimate factor other than 'gender'",), {**rule(max_abs=0.1, conditional=True, attributes=[["gender"]]), "legitimate_factors": ["gender"]}),
    run("spec-rule-evidence-unknown", ("policy.rules[0].evidence", "'interval' or 'point'"), rule(max_abs=0.1, evidence="gut")),
    run("spec-significance-unknown-metric", ("policy.rules[0].no_significant_disparity", "one of the metrics", "recall"), {"policy": {"rules": [{"id": "s", "no_significant_disparity": ["recall"]}]}}),
    run("spec-significance-not-a-list", ("no_significant_disparity", "list"), {"policy": {"rules": [{"id": "s", "no_significant_disparity": "tpr"}]}}),
    run("spec-detectable-gap-above-one", ("detectable_gap", "less than or equal to 1"), {"policy": {"rules": [{"id": "s", "no_significant_disparity": ["tpr"], "detectable_gap": 2}]}}),
    run("spec-tracking-scheme-unknown", ("tracking URI 'ftp://store'", "the scheme 'ftp'"), {"tracking": {"uri": "ftp://store"}}),
    run("spec-tracking-fallback-words", ("tracking.fallback_local", "boolean"), {"tracking": {"fallback_local": "sometimes"}}),
    run("spec-tracking-enabled-words", ("tracking.enabled", "boolean"), {"tracking": {"enabled": "perhaps"}}),
    run("spec-report-junit-words", ("report.junit", "boolean"), {"report": {"junit": "yes please"}}),
    # -- data ------------------------------------------------------------------------------------
    run("data-file-missing", ("data file", "no such file"), data_file("{case}/nope.csv")),
    run("data-file-wrong-extension", ("data file", "the extension '.xlsx'"), data_file("{case}/people.xlsx"), setup=text_file("people.xlsx", "x")),
    run("data-file-no-extension", ("data file", "the extension '(none)'"), data_file("{case}/people"), setup=text_file("people", "a,b\n1,2\n")),
    run("data-file-empty", ("data file", "an empty file"), data_file("{case}/people.csv"), setup=text_file("people.csv", "")),
    run("data-file-header-only", ("data file", "a header and no rows"), data_file("{case}/people.csv"), setup=text_file("people.csv", "person_id,gender\n")),
    run("data-file-binary-csv", ("data file", "UTF-8"), data_file("{case}/people.csv"), setup=text_file("people.csv", b"\xff\xd8\xff\xe0JFIF\x00\x01")),
    run("data-file-ragged-rows", ("data file", "readable csv", "Expected 2 fields in line 3, saw 4"), data_file("{case}/people.csv", schema="none"), setup=text_file("people.csv", "a,b\n1,2\n3,4,5,6\n")),
    run("data-parquet-really-csv", ("data file", "readable parquet"), data_file("{case}/people.parquet"), setup=text_file("people.parquet", "a,b\n1,2\n")),
    run("data-parquet-truncated", ("data file", "readable parquet"), data_file("{case}/people.parquet"), setup=lambda w: w.write("people.parquet", w.table("full.parquet", w.shared.people).read_bytes()[:3000])),
    run("data-semicolon-csv", ("spec key 'outcome'", "no column 'job_28d_6m'"), data_file("{case}/people.csv", schema="none"), setup=lambda w: w.write("people.csv", w.shared.people.iloc[:50].to_csv(index=False, sep=";"))),
    run("data-schema-bad-category", ("housing_status", "castle"), data_file("{case}/people.csv"), setup=people(lambda d: d.astype({"housing_status": "str"}).assign(housing_status=lambda x: x["housing_status"].where(x.index != 17, "castle")))),
    run("data-schema-missing-column", ("people file", "gender"), data_file("{case}/people.csv", schema="people"), setup=people(lambda d: d.drop(columns=["gender"]))),
    # -- any table: a file that is not ours is taken as it is; only the spec's columns are checked --
    run("data-auto-missing-attribute", ("spec key 'attributes'", "no column 'gender'", "the data has: person_id, region", "did you mean 'genre' for 'gender'?"), data_file("{case}/people.csv"), setup=people(lambda d: d.rename(columns={"gender": "genre"}))),
    run("data-auto-group-is-a-number", ("group column 'age'", "at most 20 distinct values in a numeric column", "found 47 distinct numbers from 18 to 64", "`attributes: [{column: age, bins: 5}]`", "statistics.max_numeric_levels"), {"attributes": ["gender", "age"], **data_file("{case}/people.csv")}, setup=people(lambda d: d.assign(age=np.resize(np.arange(18, 65), len(d))))),
    run("data-bins-on-text-attribute", ("bins of the attribute 'gender'", "a numeric column to cut at its quantiles", "drop its bins"), {"attributes": [{"column": "gender", "bins": 3}]}, opens_run=True),
    run("data-schema-text-in-numbers", ("people file", "months_worked_3y"), data_file("{case}/people.csv"), setup=people(lambda d: d.astype({"months_worked_3y": "str"}).assign(months_worked_3y=lambda x: x["months_worked_3y"].where(x.index != 3, "ten")))),
    run("data-outcome-column-missing", ("spec key 'outcome'", "no column 'job_found'"), {"outcome": "job_found"}),
    run("data-attribute-column-missing", ("spec key 'attributes'", "no column 'sex'"), {"attributes": ["sex"]}),
    run("data-attribute-column-case", ("spec key 'attributes'", "no column 'Gender'"), {"attributes": ["Gender"]}),
    run("data-factor-column-missing", ("spec key 'legitimate_factors'", "no column 'degree'"), {"legitimate_factors": ["degree"]}),
    run("data-reference-absent", ("attributes[0].reference", "'stabel', which no row has", "stable"), {"attributes": [{"column": "housing_status", "reference": "stabel"}, "gender"]}),
    run("data-reference-boolean-spelling", ("attributes[0].reference", "'false', which no row has", "False"), {"attributes": [{"column": "mental_health_history", "reference": "false"}, "gender"]}),
    run("data-outcome-positive-absent", ("spec key 'outcome_positive'", "'shelter', which no row has"), {**TRACK, "outcome_positive": "shelter"}),
    run("data-attribute-single-value", ("group column 'gender'", "at least two groups"), data_file("{case}/people.csv", schema="none"), setup=people(constant("gender", "female")), opens_run=True),
    # -- model -----------------------------------------------------------------------------------
    run("model-file-missing", ("model source", "no such file"), {"model": {"uri": "{case}/nope.skops"}}),
    run("model-file-is-a-directory", ("model source", "a directory", "no MLmodel"), {"model": {"uri": "{case}/m.skops"}}, setup=folder("m.skops")),
    run("model-pickle-refused", ("model source", "the extension '.pkl'"), {"model": {"uri": "{case}/m.pkl"}}, setup=text_file("m.pkl", b"\x80\x04K\x01.")),
    run("model-text-renamed-skops", ("a skops file (a zip archive)", "not a zip archive"), {"model": {"uri": "{case}/m.skops"}}, setup=text_file("m.skops", "not a model")),
    run("model-truncated-skops", ("skops file",), {"model": {"uri": "{case}/m.skops"}}, setup=truncated("{model}", "m.skops", 2000)),
    run("model-garbage-onnx", ("expected an ONNX model",), {"model": {"uri": "{case}/m.onnx"}}, setup=text_file("m.onnx", "score = 0.3 * age\n")),
    run("model-skops-renamed-onnx", ("expected an ONNX model",), {"model": {"uri": "{case}/m.onnx"}}, setup=lambda w: w.write("m.onnx", Path(w.fill("{model}")).read_bytes())),
    run("model-registry-name-unknown", ("MLflow model 'models:/no-such-model@champion'", "exists in the tracking store"), {"model": {"uri": "models:/no-such-model@champion"}}),
    run("model-registry-version-words", ("models:/NAME/VERSION or models:/NAME@ALIAS",), {"model": {"uri": "models:/m/latest-ish"}}),
    run("model-run-unknown", ("MLflow model 'runs:/0123456789abcdef0123456789abcdef/model'",), {"model": {"uri": "runs:/0123456789abcdef0123456789abcdef/model"}}),
    run("model-inputs-missing-from-data", ("missing columns 'has_car'",), data_file("{case}/people.csv", schema="none"), setup=people(lambda d: d.drop(columns=["has_car"])), opens_run=True),
    run("model-input-wrong-type", ("months_worked_3y",), data_file("{case}/people.csv", schema="none"), setup=people(lambda d: d.assign(months_worked_3y=d["months_worked_3y"].map(lambda m: f"{m} months"))), opens_run=True),
    # A track model without decision.label is audited for every track: only track_share rules can be read.
    run("model-track-without-label", ("spec key 'policy.rules[0]'", "rules on track_share for a track audit", "decision: {label: NAME}"), {**TRACK, "decision": None}, opens_run=True),
    run("model-track-rule-unknown-track", ("spec key 'policy.rules[0]' (rule 'r')", "found track 'shelterd'", "did you mean 'sheltered'?"), {**TRACK, **rule(metric="track_share", track="shelterd", max_abs=0.1)}, opens_run=True),
    run("model-track-rule-on-binary-model", ("spec key 'policy.rules[0]' (rule 'r')", "has a binary decision and no tracks"), rule(metric="track_share", track="care", max_abs=0.1), opens_run=True),
    run("spec-rule-track-on-binary-metric", ("policy.rules[0]", "metric 'track_share' with 'track'"), rule(metric="fpr", track="care", max_abs=0.1)),
    run("model-train-unknown-features", ("feature", "everything"), {"model": {"uri": None, "train": {"features": "everything"}}}, opens_run=True),
    run("model-spec-train-target-missing", ("nope",), {"model": {"uri": None, "train": {"target": "nope"}}}, opens_run=True),
    run("model-decisions-column-missing", ("decisions file", "no column 'decision'"), DECISIONS_MODEL, setup=decisions(lambda d: d.rename(columns={"decision": "dec"}))),
    run("model-decisions-not-binary", ("column 'decision'", "decisions coded 0/1", "2"), DECISIONS_MODEL, setup=decisions(lambda d: d.assign(decision=d.index % 3))),
    run("model-decisions-scores-out-of-range", ("column 'score'", "between 0 and 1"), DECISIONS_MODEL, setup=decisions(lambda d: d.assign(score=d["score"] * 100))),
    run("model-decisions-scores-words", ("column 'score'", "non-numeric"), DECISIONS_MODEL, setup=decisions(lambda d: d.astype({"score": "str"}).assign(score=lambda x: x["score"].where(x.index != 2, "high")))),
    run("model-decisions-duplicate-ids", ("column 'person_id'", "one row per person", "repeated ids"), DECISIONS_MODEL, setup=decisions(lambda d: d.assign(person_id=d["person_id"].where(d.index != 1, d["person_id"][0])))),
    run("model-decisions-ids-unmatched", ("ids without a decision",), DECISIONS_MODEL, setup=decisions(lambda d: d.iloc[10:]), opens_run=True),
    run("model-decisions-rows-by-position", ("one row per audited row", "rows"), {**DECISIONS_MODEL, "model": {"uri": None, "decisions": {"file": "{case}/decisions.csv", "decision_column": "decision", "score_column": None, "id_column": None}}}, setup=decisions(lambda d: d.iloc[5:]), opens_run=True),
    run("model-decisions-no-column-named", ("decisions file", "at least one of its decision, score or track columns"), {**DECISIONS_MODEL, "model": {"uri": None, "decisions": {"file": "{case}/decisions.csv"}}}, setup=decisions(lambda d: d)),
    run("model-decisions-threshold-and-decision-column", ("key 'decision.threshold'", "expected one source of the decision: decision.threshold (applied to model.decisions.score_column) or model.decisions.decision_column (the file's own decisions), not both", "found decision.threshold and model.decisions.decision_column 'decision'", "drop decision.threshold to audit the file's decisions, or drop model.decisions.decision_column to decide on the score column"), {**DECISIONS_MODEL, "model": {"uri": None, "decisions": {"file": "{case}/decisions.csv", "decision_column": "decision", "id_column": "person_id"}}, "decision": {"bands": None, "examined": None, "threshold": 0.5}}, setup=decisions(lambda d: d)),
    run("model-decisions-bands-and-decision-column", ("key 'decision.bands'", "found decision.bands and model.decisions.decision_column 'decision'"), {**DECISIONS_MODEL, "decision": {"bands": {"high": 0.66, "low": 0.25}, "examined": ["high"]}}, setup=decisions(lambda d: d)),
    run("model-decisions-score-as-decision", ("column 'score' of decisions file", "expected decisions coded 0/1 or True/False", "found scores:", "model.decisions: {score_column: score} (instead of decision_column) and decision: {threshold: 0.5}"), {**DECISIONS_MODEL, "model": {"uri": None, "decisions": {"file": "{case}/decisions.csv", "decision_column": "score", "id_column": "person_id"}}}, setup=decisions(lambda d: d)),
    run("model-decisions-not-utf8", ("decisions file", "UTF-8"), DECISIONS_MODEL, setup=lambda w: w.write("decisions.csv", "person_id,decision,score\np\xe9,1,0.5\n".encode("latin-1"))),
    run("model-decisions-duplicate-columns", ("decisions file", "'decision' more than once"), DECISIONS_MODEL, setup=lambda w: w.write("decisions.csv", "person_id,decision,decision,score\np1,1,0,0.5\n")),
    run("model-decisions-is-a-directory", ("model source", "a directory"), DECISIONS_MODEL, setup=folder("decisions.csv")),
    # -- run options -------------------------------------------------------------------------------
    run("run-baseline-missing", ("baseline", "no such file"), None, "--baseline", "{case}/old.json", opens_run=True),
    run("run-baseline-a-directory", ("baseline", "a directory"), None, "--baseline", "{case}/old.json", setup=folder("old.json"), opens_run=True),
    run("run-baseline-not-json", ("baseline", "schema version 1.0"), None, "--baseline", "{case}/old.json", setup=text_file("old.json", "not json at all"), opens_run=True),
    run("run-baseline-old-schema", ("baseline", "schema version 1.0"), None, "--baseline", "{case}/old.json", setup=text_file("old.json", '{"schema_version": "0.1", "groups": []}'), opens_run=True),
    run("run-baseline-binary", ("baseline", "UTF-8"), None, "--baseline", "{case}/old.json", setup=text_file("old.json", b"\xff\xfe\x00"), opens_run=True),
    run("run-baseline-other-attributes", ("baseline", "same attributes"), None, "--baseline", "{case}/other.json", setup=good_assessment_of_other_groups, opens_run=True),
    run("run-baseline-run-unknown", ("baseline runs:/0123456789abcdef0123456789abcdef", "assessment.json artifact"), None, "--baseline", "runs:/0123456789abcdef0123456789abcdef", opens_run=True),
    run("run-baseline-model-unknown", ("MLflow model 'models:/no-such@champion'",), None, "--baseline", "models:/no-such@champion", opens_run=True),
    run("run-promote-without-registry", ("promote",), None, "--promote", "champion"),
    run("run-tracking-uri-option-scheme", ("tracking URI 'ftp://x'",), None, "--tracking-uri", "ftp://x"),
    run("run-unknown-option", ("No such option", "--outdir"), None, "--outdir", "x", usage=True),
    run("run-option-missing-value", ("--junit", "requires an argument"), None, "--junit", usage=True),
    # -- audit assess ------------------------------------------------------------------------------
    cli("assess-file-missing", ASSESS, ("no such file",)),
    cli("assess-file-is-a-directory", ASSESS, ("a directory",), setup=folder("d.csv")),
    cli("assess-wrong-extension", ("assess", "{case}/d.xlsx", "--y-true", "y", "--y-pred", "d", "-g", "g"), ("the extension '.xlsx'",), setup=text_file("d.xlsx", "x")),
    cli("assess-not-utf8", ASSESS, ("UTF-8", "0xe9"), setup=assess_file("y,d,g\n1,0,caf\xe9\n".encode("latin-1"))),
    cli("assess-empty-file", ASSESS, ("an empty file",), setup=assess_file("")),
    cli("assess-header-only", ASSESS, ("a header and no rows",), setup=assess_file("y,d,g\n")),
    cli("assess-duplicate-columns", ASSESS, ("each column name once", "'g' more than once"), setup=assess_file("y,d,g,g\n1,0,a,b\n0,1,b,a\n")),
    cli("assess-y-true-missing", (*ASSESS[:3], "outcome", *ASSESS[4:]), ("column 'outcome'", "no such column"), setup=assess_file(GOOD_D)),
    cli("assess-y-pred-missing", (*ASSESS[:5], "decision", *ASSESS[6:]), ("column 'decision'", "no such column"), setup=assess_file(GOOD_D)),
    cli("assess-group-missing", (*ASSESS[:7], "gender"), ("column 'gender'", "no such column"), setup=assess_file(GOOD_D)),
    cli("assess-score-missing", (*ASSESS, "--score", "prob"), ("column 'prob'",), setup=assess_file(GOOD_D)),
    cli("assess-weight-missing", (*ASSESS, "--weight", "wt"), ("column 'wt'",), setup=assess_file(GOOD_D)),
    cli("assess-y-pred-is-a-score", (*ASSESS[:5], "s", *ASSESS[6:]), ("decision column 's'", "expected decisions coded 0/1 or True/False", "found scores: 10 distinct values between 0 and 0.9", "`audit assess --score s --threshold 0.5`", "decision.threshold"), setup=assess_file(GOOD_D)),
    cli("assess-threshold-without-score", (*ASSESS[:4], "--threshold", "0.5", *ASSESS[6:]), ("--threshold 0.5", "a --score column to decide on, and no --y-pred", "found no --score"), setup=assess_file(GOOD_D)),
    cli("assess-threshold-and-y-pred", (*ASSESS, "--score", "s", "--threshold", "0.5"), ("--threshold 0.5", "found --y-pred as well"), setup=assess_file(GOOD_D)),
    cli("assess-no-decision", ASSESS[:4] + ASSESS[6:], ("expected --y-pred COLUMN (decisions coded 0/1), --score COLUMN with --threshold T, or --track COLUMN", "found neither"), setup=assess_file(GOOD_D)),
    cli("assess-score-without-outcome", ("assess", "{case}/d.csv", "--y-pred", "d", "-g", "g", "--score", "s"), ("score column 's'", "an outcome column to assess the score against", "--y-true"), setup=assess_file(GOOD_D)),
    cli("assess-numeric-group", ("assess", "{case}/d.csv", "--y-pred", "d", "-g", "n"), ("group column 'n'", "at most 20 distinct values in a numeric column", "found 30 distinct numbers from 0 to 29", "--group-bins n=5"), setup=assess_file("d,n\n" + "".join(f"{i % 2},{i % 30}\n" for i in range(60)))),
    cli("assess-group-bins-not-a-group", (*ASSESS, "--group-bins", "s=3"), ("group bins for 's'", "not a group column"), setup=assess_file(GOOD_D)),
    cli("assess-y-true-three-classes", ASSESS, ("outcome column 'y'", "3 distinct value(s)"), setup=assess_file(GOOD_D.replace("\n1,", "\n2,", 1))),
    cli("assess-y-true-text", ASSESS, ("outcome column 'y'", "--pos-label"), setup=assess_file(GOOD_D.replace("\n1,", "\njob,").replace("\n0,", "\nnone,"))),
    cli("assess-pos-label-absent", (*ASSESS, "--pos-label", "hired"), ("the positive label 'hired'",), setup=assess_file(GOOD_D.replace("\n1,", "\njob,").replace("\n0,", "\nnone,"))),
    cli("assess-y-pred-not-binary", ASSESS, ("decision column 'd'",), setup=assess_file(GOOD_D.replace(",1,a", ",7,a"))),
    cli("assess-y-true-gaps", ASSESS, ("outcome column 'y'", "missing value"), setup=assess_file(GOOD_D.replace("\n1,", "\n,", 2))),
    cli("assess-scores-out-of-range", (*ASSESS, "--score", "s"), ("score column 's'", "[0, 1]"), setup=assess_file(GOOD_D.replace(",0.5,", ",5,"))),
    cli("assess-negative-weights", (*ASSESS, "--weight", "w"), ("weight column 'w'", "non-negative"), setup=assess_file(GOOD_D.replace(",1\n", ",-1\n", 3))),
    cli("assess-group-single-value", ASSESS, ("group column 'g'", "at least two groups"), setup=assess_file(GOOD_D.replace(",b,", ",a,"))),
    cli("assess-reference-format", (*ASSESS, "--reference", "g:a"), ("--reference 'g:a'", "COLUMN=LEVEL"), setup=assess_file(GOOD_D)),
    cli("assess-reference-absent", (*ASSESS, "--reference", "g=z"), ("reference group 'z'", "no such group"), setup=assess_file(GOOD_D)),
    cli("assess-alpha-out-of-range", (*ASSESS, "--alpha", "0.9"), ("option alpha", "between 0 and 0.5"), setup=assess_file(GOOD_D)),
    cli("assess-correction-unknown", (*ASSESS, "--correction", "bonferroni"), ("option correction",), setup=assess_file(GOOD_D)),
    cli("assess-bootstrap-unknown", (*ASSESS, "--bootstrap", "poisson"), ("bootstrap",), setup=assess_file(GOOD_D)),
    cli("assess-reference-rule-unknown", (*ASSESS, "--reference-rule", "smallest"), ("reference",), setup=assess_file(GOOD_D)),
    cli("assess-intersections-beyond-groups", (*ASSESS, "--intersections", "3"), ("option intersections",), setup=assess_file(GOOD_D)),
    cli("assess-factor-bins-format", (*ASSESS, "--factor", "s", "--factor-bins", "s:4"), ("--factor-bins 's:4'", "COLUMN=K"), setup=assess_file(GOOD_D)),
    cli("assess-factor-missing", (*ASSESS, "--factor", "region"), ("region",), setup=assess_file(GOOD_D)),
    cli("assess-n-boot-words", (*ASSESS, "--n-boot", "many"), ("Invalid value for '--n-boot'", "valid integer"), usage=True, setup=assess_file(GOOD_D)),
    cli("assess-group-option-missing", ASSESS[:6], ("Missing option", "--group"), usage=True, setup=assess_file(GOOD_D)),
    cli("assess-min-group-size-zero", (*ASSESS, "--min-group-size", "0"), ("min_group_size",), setup=assess_file(GOOD_D)),
    # -- audit data --------------------------------------------------------------------------------
    cli("data-generate-wrong-extension", "data generate --n 300 --out {case}/p.xlsx", ("option --out", "a file ending in .parquet or .csv")),
    cli("data-generate-folder-missing", "data generate --n 300 --out {case}/no/such/p.csv", ("option --out", "no folder")),
    cli("data-generate-unknown-scenario", "data generate --n 300 --out {case}/p.csv --scenario nope", ("scenario", "one of no_bias")),
    cli("data-generate-knob-format", "data generate --n 300 --out {case}/p.csv --knob oops", ("option --knob", "name=value")),
    cli("data-generate-knob-unknown", "data generate --n 300 --out {case}/p.csv --scenario h1_steering --knob speed=3", ("speed",)),
    cli("data-generate-knob-out-of-range", "data generate --n 300 --out {case}/p.csv --scenario h1_steering --knob sheltered_odds_ratio=0", ("[1, 50]",)),
    cli("data-generate-knob-words", "data generate --n 300 --out {case}/p.csv --scenario h1_steering --knob sheltered_odds_ratio=lots", ("sheltered_odds_ratio",)),
    cli("data-generate-n-zero", "data generate --n 0 --out {case}/p.csv", ("n: expected a whole number",)),
    cli("data-generate-n-words", "data generate --n many --out {case}/p.csv", ("Invalid value for '--n'", "valid integer"), usage=True),
    cli("data-generate-truth-extension", "data generate --n 300 --out {case}/p.csv --truth-out {case}/t.txt", ("option --truth-out", ".json")),
    cli("data-generate-vacancies-extension", "data generate --n 300 --out {case}/p.csv --vacancies-out {case}/v.txt", ("option --vacancies-out",)),
    cli("data-generate-no-out", "data generate --n 300", ("Missing option", "--out"), usage=True),
    cli("data-unknown-command", "data make", ("No such command", "make"), usage=True),
    # -- audit model -------------------------------------------------------------------------------
    cli("model-train-wrong-suffix", "model train --population 300 --out {case}/m.pkl", ("--out", "ending in .skops")),
    cli("model-train-onnx-wrong-suffix", (*TRAIN, "--onnx-out", "{case}/m.skops"), ("--onnx-out", "ending in .onnx")),
    cli("model-train-kind-unknown", (*TRAIN, "--kind", "ranking"), ("--kind", "profiling, track", "'ranking'")),
    cli("model-train-features-unknown", (*TRAIN, "--features", "all"), ("--features", "full")),
    cli("model-train-algorithm-unknown", (*TRAIN, "--algorithm", "xgboost"), ("--algorithm", "logistic")),
    cli("model-train-register-without-store", (*TRAIN, "--register", "x"), ("--register/--alias", "no --tracking-uri")),
    cli("model-train-alias-without-register", (*TRAIN, "--tracking-uri", "{store}", "--alias", "champion"), ("--alias", "without --register")),
    cli("model-train-people-missing", (*TRAIN, "--people", "{case}/nope.csv"), ("people file", "no such file")),
    cli("model-train-people-and-dataset", (*TRAIN, "--people", "{people}", "--dataset", "nsw_lalonde"), ("not both",)),
    cli("model-train-dataset-unknown", (*TRAIN, "--dataset", "adult"), ("--dataset", "nsw_lalonde")),
    cli("model-train-people-not-utf8", (*TRAIN, "--people", "{case}/people.csv"), ("UTF-8",), setup=latin1_people),
    cli("model-train-target-missing", (*TRAIN, "--target", "hired"), ("hired",)),
    cli("model-train-too-few-rows", (*TRAIN[:2], "--people", "{case}/people.csv", *TRAIN[4:]), ("rows",), setup=people(lambda d: d.iloc[:20])),
    cli("model-train-population-words", "model train --population lots --out {case}/m.skops", ("Invalid value for '--population'", "valid integer"), usage=True),
    cli("model-check-source-missing", "model check {case}/nope.skops --data {people}", ("model source", "no such file")),
    cli("model-check-both-data", "model check {model} --data {people} --dataset nsw_lalonde", ("exactly one of --data FILE or --dataset NAME", "both")),
    cli("model-check-no-data", "model check {model}", ("exactly one of --data FILE or --dataset NAME", "neither")),
    cli("model-check-data-missing-columns", "model check {model} --data {case}/p.csv", ("missing columns", "has_car"), setup=people(lambda d: d.drop(columns=["has_car"]), "p.csv")),
    cli("model-check-data-is-a-directory", "model check {model} --data {case}/p.csv", ("a directory",), setup=folder("p.csv")),
    cli("model-check-decisions-no-columns", "model check {case}/d.csv --data {people}", ("decisions file", "--decision-column"), setup=text_file("d.csv", "decision\n1\n0\n")),
    cli("model-check-registry-unknown", "model check models:/nope@champion --tracking-uri {store} --data {people}", ("MLflow model 'models:/nope@champion'",)),
    cli("model-unknown-command", "model fit", ("No such command", "fit"), usage=True),
    # -- harm checks (issue 10) --------------------------------------------------------------------
    run("checks-unknown-check", ("checks[0].check", '"H9"', "'steering'"), {"checks": [{"check": "H9", "track": "x"}]}),
    run("checks-cases-without-section", ("a cases section", "cases: true"), {"checks": [{"check": "steering", "track": "x", "cases": True}]}),
    run("checks-harm-rule-names-no-check", ("harm_check", "'nope'", "checks:"), {"checks": [{"check": "steering", "track": "x"}], "policy": {"rules": [{"id": "h", "harm_check": "nope"}]}}),
    run("checks-case-salt-missing", ("AUDIT_CASE_SALT", "not set", "secrets.token_hex"), {"checks": [{"check": "steering", "track": "x", "cases": True}], "cases": {"dir": "{case}/reviews"}}),
    run("checks-cases-in-the-published-folder", ("cases.dir", "outside the published report folder"), {"checks": [{"check": "steering", "track": "x", "cases": True}], "cases": {"dir": "{case}/reports/x/cases"}}),
    # -- `audit report`: a past audit's report from its stored result ------------------------------
    run("report-spec-language-unknown", ("report.languages[1]", "'fr', 'nl' or 'en'", 'found "de"'), {"report": {"languages": ["fr", "de"]}}),
    run("report-run-lang-unknown", ("--lang", "one or more of fr, nl, en", "'de'"), None, "--lang", "de"),
    cli("report-unknown-language", "report {good} --lang de --out {case}/out", ("--lang", "one or more of fr, nl, en", "'de'")),
    cli("report-language-list-with-unknown", "report {good} --lang fr,xx --out {case}/out", ("--lang", "'xx'")),
    cli("report-no-such-run", "report 0123456789abcdef0123456789abcdef --tracking-uri {store} --out {case}/out", ("run '0123456789abcdef0123456789abcdef'", "no run with this id")),
    cli("report-run-without-result", "report {run} --tracking-uri {store} --out {case}/out", ("a finished audit run", "no stored result"), setup=run_without_result),
    cli("report-neither-run-nor-file", "report {case}/nope.json --out {case}/out", ("neither a run id nor an existing file",)),
    cli("report-older-schema", "report {case}/old/assessment.json --out {case}/out", ("schema version 0.9", "a result of schema version 1.0", "run the audit again"), setup=older_result),
    cli("report-no-verdict-beside", "report {case}/alone/assessment.json --out {case}/out", ("verdict.json beside it",), setup=result_alone),
]
