"""Two audits started together on one local store that does not exist yet.

Both find no database and no experiment; without the store lock one of them would fail in
MLflow's schema migration or in creating the shared experiment.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FOUR_FIFTHS = {"id": "four-fifths", "metric": "selection_rate", "kind": "ratio", "min": 0.8}


@pytest.mark.slow
def test_two_audits_on_a_fresh_store_both_succeed(
    make_spec: Callable[..., Any],
    start_cli: Callable[..., Any],
    mlflow_runs: Callable[[str], list[Any]],
    tmp_path: Path,
    result_files: set[str],
) -> None:
    assert not (tmp_path / "mlruns").exists()
    shared = {"experiment": "fairness-audit/shared"}
    passing = make_spec(
        "a.yaml",
        tracking=shared,
        report={"dir": str(tmp_path / "reports" / "a")},
    )
    failing = make_spec(
        "b.yaml",
        tracking=shared,
        policy={"rules": [FOUR_FIFTHS]},
        statistics={"seed": 8},
        report={"dir": str(tmp_path / "reports" / "b")},
    )
    assert passing.tracking_uri == failing.tracking_uri

    processes = [start_cli(passing), start_cli(failing)]
    outputs = [p.communicate(timeout=300) for p in processes]
    codes = [p.returncode for p in processes]
    assert codes == [0, 1], "\n\n".join(err for _, err in outputs)

    runs = mlflow_runs(passing.tracking_uri)
    assert len(runs) == 2
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert {r.data.tags["audit.verdict"] for r in runs} == {"pass", "fail"}
    assert len({r.info.experiment_id for r in runs}) == 1
    for spec in (passing, failing):
        assert {p.name for p in spec.report_dir.iterdir()} == result_files
        manifest = json.loads((spec.report_dir / "manifest.json").read_text())
        assert manifest["tracking"]["run_id"] in {r.info.run_id for r in runs}
    run_ids = {
        json.loads((s.report_dir / "manifest.json").read_text())["tracking"]["run_id"]
        for s in (passing, failing)
    }
    assert len(run_ids) == 2


# Two processes that each create the same experiments at the same instant, as two audits that
# train a model do when they reach `log_trained_model` together.
_CREATE_EXPERIMENTS = """
import sys, time
from pathlib import Path
import mlflow
from audit.models.mlflow_io import ensure_experiment
uri, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
mlflow.MlflowClient(tracking_uri=uri).search_experiments()  # connected before the start
ready.touch()
while not go.exists():
    time.sleep(0.001)
start = float(go.read_text())
failures = 0
for i in range(10):
    while time.time() < start + 0.2 * i:  # both processes leave this loop together
        pass
    try:
        ensure_experiment(f"reference-models-{i}", tracking_uri=uri)
    except Exception as err:
        failures += 1
        print(type(err).__name__, str(err).splitlines()[0], file=sys.stderr)
sys.exit(1 if failures else 0)
"""


def test_trained_model_experiment_is_created_safely_by_concurrent_audits(
    tmp_path: Path, every_run: Callable[[str], list[Any]]
) -> None:
    import subprocess
    import sys
    import time

    uri = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    every_run(uri)  # the store exists; only the experiments are new
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _CREATE_EXPERIMENTS, uri, str(tmp_path / f"ready{i}"), str(go)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready{i}").exists() for i in range(2)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in processes)
        time.sleep(0.01)
    (tmp_path / "go.tmp").write_text(str(time.time() + 0.5))
    (tmp_path / "go.tmp").rename(go)  # complete when it appears
    errors = [p.communicate(timeout=120)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], "\n".join(errors)
