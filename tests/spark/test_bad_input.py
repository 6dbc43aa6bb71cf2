"""Bad input on the Spark engine: a clear message, exit 2, the MLflow run marked FAILED (issue 11).

What can be told before Spark starts (no Java, no pyspark, a master that does not answer or
cannot be parsed, a path that does not exist) is told in a second, from the real `audit run`
command. What only the cluster finds (a column Spark cannot group, scores or weights the audit
refuses, an id without a decision on one executor's batch) is tested in this process, on the
test worker's session. Where the NumPy engine refuses the same input, both say the same words.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from audit.data import generate_population
from audit.errors import AuditError, AuditInputError
from audit.pipeline import RunOptions, run_audit
from audit.spark.assess import assess_spark
from audit.spark.session import require_master
from audit.spec import parse_spec
from audit.stats.assess import assess

pytestmark = pytest.mark.xdist_group("spark")

REPO = Path(__file__).resolve().parents[2]
AUDIT = str(Path(sys.executable).parent / "audit")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One MLflow store for the module (creating one takes seconds); each test's audits go to
    an experiment of their own, named after the test."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlruns')}/mlflow.db"


def _document(root: Path, store: str, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": "spark-bad-input",
        "data": {"synthetic": {"scenario": "no_bias", "n": 400, "seed": 1}},
        "model": {"uri": str(REPO / "models" / "profiling_reference.skops"), "name": root.name},
        "outcome": "job_28d_6m",
        "decision": {"threshold": 0.5},
        "attributes": ["mental_health_history", "housing_status"],
        "statistics": {"n_boot": 0},
        "policy": {
            "rules": [{"id": "r", "metric": "selection_rate", "kind": "difference", "max_abs": 0.5}]
        },
        "tracking": {"uri": store},
        "report": {"dir": str(root / "report"), "formats": []},
        "engine": {"spark": {"master": "local[2]"}},
    }
    document.update(changes)
    return document


def _failed_run(document: dict[str, Any]) -> Any:
    """The one run of the test's experiment (fairness-audit/<the model's name>)."""
    client = MlflowClient(document["tracking"]["uri"])
    experiment = client.get_experiment_by_name(f"fairness-audit/{document['model']['name']}")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1
    return runs[0]


def _cli(
    root: Path, document: dict[str, Any], *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    path = root / "spec.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    environment.update(env or {})
    return subprocess.run(
        [AUDIT, "run", str(path), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (
            ["--engine", "spark"],
            {"JAVA_HOME": "/nonexistent"},
            [
                "expected Java 17 or newer",
                "no java command in JAVA_HOME=/nonexistent",
                "openjdk-17",
            ],
        ),
        (
            ["--spark-master", "spark://127.0.0.1:9"],
            {},
            ["a Spark master answering at 127.0.0.1:9", "no answer within"],
        ),
        (
            ["--spark-conf", "spark.driver.memory=1k"],
            {},
            ["expected a Spark session on local[2]", "Spark did not start: [JAVA_GATEWAY_EXITED]"],
        ),
    ],
    ids=["no java", "unreachable master", "a setting the driver cannot start with"],
)
def test_what_stops_spark_from_starting(
    tmp_path: Path, store: str, args: list[str], env: dict[str, str], said: list[str]
) -> None:
    document = _document(tmp_path, store)
    done = _cli(tmp_path, document, *args, env=env)
    assert done.returncode == 2, done.stderr
    for words in said:
        assert words in done.stderr
    assert "Traceback" not in done.stderr
    run = _failed_run(document)
    assert run.info.status == "FAILED"
    assert said[0].split(": expected ")[-1] in run.data.tags["audit.error"]
    assert not (tmp_path / "report" / "verdict.json").exists()


@pytest.mark.parametrize(
    "master", ["mesos://somewhere:5050", "spark:/no-host", "local[two]", "k8s://"]
)
def test_a_master_url_spark_would_not_parse(master: str) -> None:
    with pytest.raises(AuditInputError) as caught:
        require_master(master)
    assert str(caught.value).startswith("engine.spark.master: expected a Spark master URL")
    assert repr(master) in str(caught.value)


@pytest.mark.parametrize("master", ["local", "local[2]", "local[*]", "local[4, 2]", "yarn"])
def test_the_masters_that_need_no_answer_pass(master: str) -> None:
    require_master(master)  # no error: local modes and YARN (found through HADOOP_CONF_DIR)


def test_without_pyspark_the_message_says_what_to_install(tmp_path: Path, store: str) -> None:
    # pyspark made unimportable in that interpreter only, as on a machine without the extra.
    probe = "import sys; sys.modules['pyspark'] = None; sys.argv[0] = 'audit'; from audit.cli import main; main()"
    path = tmp_path / "spec.yaml"
    document = _document(tmp_path, store)
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", probe, "run", str(path)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2, done.stderr
    assert "engine spark: expected the pyspark package; found it is not installed" in done.stderr
    assert "pip install -e '.[spark]'" in done.stderr
    assert _failed_run(document).info.status == "FAILED"


def test_what_the_spark_engine_does_not_do_is_refused_in_the_spec(
    tmp_path: Path, store: str
) -> None:
    document = _document(tmp_path, store, checks=[{"check": "steering", "track": "sheltered"}])
    with pytest.raises(AuditInputError) as caught:
        parse_spec(yaml.safe_dump(document))
    assert "no harm checks with engine spark" in str(caught.value)
    assert "checks" in str(caught.value)
    # The same spec on the NumPy engine is valid: the refusal is the engine's.
    document.pop("engine")
    assert parse_spec(yaml.safe_dump(document)).spark is None


def _in_process(root: Path, store: str, **changes: Any) -> tuple[BaseException, Any]:
    document = _document(root, store, **changes)
    text = yaml.safe_dump(document)
    with pytest.raises(AuditError) as caught:
        run_audit(parse_spec(text), spec_text=text, options=RunOptions())
    return caught.value, _failed_run(document)


def test_a_path_that_does_not_exist(spark: Any, tmp_path: Path, store: str) -> None:
    error, run = _in_process(tmp_path, store, data={"file": str(tmp_path / "nowhere.parquet")})
    assert "nowhere.parquet': expected a file or folder that exists; found no such path" in str(
        error
    )
    assert run.info.status == "FAILED"


def test_a_group_column_spark_cannot_group_on(spark: Any, tmp_path: Path, store: str) -> None:
    people = generate_population(400, scenario="no_bias", seed=1).people
    path = tmp_path / "people.parquet"
    people.assign(housing_status=[["a", str(v)] for v in people["housing_status"]]).to_parquet(path)
    error, run = _in_process(tmp_path, store, data={"file": str(path)})
    assert "group column 'housing_status': expected one plain value per person" in str(error)
    assert "found a column of Spark type array<string>" in str(error)
    assert run.info.status == "FAILED"


def test_an_id_without_a_decision_on_an_executor(spark: Any, tmp_path: Path, store: str) -> None:
    """The driver tries the first people; the one without a decision is further on, so only an
    executor meets it, and its error reaches the analyst as the audit's own message."""
    people = generate_population(1000, scenario="no_bias", seed=1).people
    data = tmp_path / "people.parquet"
    people.to_parquet(data)
    decisions = tmp_path / "decisions.csv"
    pd.DataFrame({"person_id": people["person_id"].iloc[:-1], "d": np.arange(999) % 2}).to_csv(
        decisions, index=False
    )
    error, run = _in_process(
        tmp_path,
        store,
        data={"file": str(data)},
        model={
            "decisions": {"file": str(decisions), "decision_column": "d", "id_column": "person_id"},
            "name": tmp_path.name,
        },
        decision={},
    )
    assert (
        "expected a row for every 'person_id' in the data; found 1 ids without a decision"
        in str(error)
    )
    assert "Traceback" not in str(error) and "org.apache" not in str(error)
    assert run.info.status == "FAILED"


def _table(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "logement": rng.choice(["stable", "rue"], n),
            "emploi": rng.integers(0, 2, n),
            "retenu": rng.integers(0, 2, n),
            "note": rng.random(n),
            "poids": rng.random(n) + 0.5,
        }
    )


@pytest.mark.parametrize(
    ("change", "options", "said"),
    [
        (
            {"note": [1.5, np.nan]},
            {"score": "note"},
            "score column 'note': expected probabilities in [0, 1] in every row; found 2 value(s)",
        ),
        (
            {"poids": [-1.0]},
            {"weight": "poids"},
            "weight column 'poids': expected finite, non-negative sample weights; found 1 negative",
        ),
        ({}, {"groups": ["logment"]}, "group column 'logment': expected a column of the data"),
        ({}, {"y_true": None, "score": "note"}, "score column 'note': expected an outcome column"),
    ],
    ids=["scores", "weights", "misspelled group", "score without outcome"],
)
def test_both_engines_refuse_alike(
    spark: Any, tmp_path: Path, change: dict[str, list[float]], options: dict[str, Any], said: str
) -> None:
    table = _table()
    for column, values in change.items():
        table.loc[: len(values) - 1, column] = values
    path = tmp_path / "t.parquet"
    table.to_parquet(path)
    kwargs: dict[str, Any] = {
        "y_true": "emploi",
        "y_pred": "retenu",
        "groups": ["logement"],
        "n_boot": 0,
        **options,
    }
    with pytest.raises(AuditInputError) as in_memory:
        assess(pd.read_parquet(path), **kwargs)
    with pytest.raises(AuditInputError) as on_spark:
        assess_spark(spark.read.parquet(str(path)), **kwargs)
    assert said in str(in_memory.value)
    assert str(on_spark.value).split("e.g.")[0] == str(in_memory.value).split("e.g.")[0]


def test_too_many_combinations_name_the_widest_column(spark: Any, tmp_path: Path) -> None:
    table = _table().assign(dossier=[f"id-{i}" for i in range(400)])
    frame = spark.createDataFrame(table)
    with pytest.raises(AuditInputError) as caught:
        assess_spark(
            frame,
            y_true="emploi",
            y_pred="retenu",
            groups=["logement", "dossier"],
            n_boot=0,
            max_combinations=100,
        )
    message = str(caught.value)
    assert "expected at most 100 combinations" in message
    assert "'dossier' (about" in message.split("found")[1].split(",")[0]


@pytest.mark.parametrize(
    ("engine", "key"),
    [
        (
            {"spark": {"master": "sc://workspace.example:443/;token=dapi123;x-cluster-id=1"}},
            "engine.spark",
        ),
        ({"spark": {"master": "spark://admin:hunter2@host:7077"}}, "engine.spark"),
        ({"spark": {"conf": {"spark.hadoop.fs.s3a.secret.key": "abc"}}}, "engine.spark"),
    ],
    ids=["token in a Connect URL", "password in a URL", "secret setting"],
)
def test_a_credential_in_the_spec_is_refused(
    tmp_path: Path, store: str, engine: dict[str, Any], key: str
) -> None:
    """The spec is copied into the report and logged to MLflow: a secret must not be in it."""
    with pytest.raises(AuditInputError) as caught:
        parse_spec(yaml.safe_dump(_document(tmp_path, store, engine=engine)))
    message = str(caught.value)
    assert key in message and "${" in message
    assert "dapi123" not in message and "hunter2" not in message and "'abc'" not in message


def test_a_master_read_from_the_environment(tmp_path: Path, store: str) -> None:
    """master: ${NAME} is read when Spark starts: unset, it is said; set, it is used (here a
    master that does not answer, so no JVM starts), and its token is never printed."""
    document = _document(tmp_path, store, engine={"spark": {"master": "${AUDIT_TEST_MASTER}"}})
    done = _cli(tmp_path, document)
    assert done.returncode == 2, done.stderr
    assert "engine.spark.master: expected the environment variable AUDIT_TEST_MASTER" in done.stderr
    done = _cli(tmp_path, document, env={"AUDIT_TEST_MASTER": "spark://admin:hunter2@127.0.0.1:9"})
    assert done.returncode == 2, done.stderr
    assert "a Spark master answering at 127.0.0.1:9" in done.stderr
    assert "hunter2" not in done.stderr


def test_a_lake_uri_reaches_spark_whole(spark: Any, tmp_path: Path, store: str) -> None:
    """s3a://... stays a URI (a path would fold its '//'), and Spark is the one to read it:
    here it has no S3 connector, which it says, and the run is marked FAILED."""
    error, run = _in_process(tmp_path, store, data={"file": "s3a://no-such-bucket/decisions/2026"})
    assert "data file 's3a://no-such-bucket/decisions/2026'" in str(error)
    assert "expected a table Spark can read as parquet" in str(error)
    assert run.info.status == "FAILED"
    numpy = _document(tmp_path, store, data={"file": "s3a://no-such-bucket/decisions/2026"})
    numpy.pop("engine")
    with pytest.raises(AuditInputError, match="a URI is read by the Spark engine only"):
        parse_spec(yaml.safe_dump(numpy))
