"""What the corpus of bad inputs runs on: shared inputs, a case's folder, and the command itself.

Each case runs in a folder of its own, holding the inputs the case writes (a spec, a table) and,
for `audit run`, a copy of a good earlier report where the failing audit would write. The shared
inputs (a people table, a decisions file, the shipped models, one MLflow store) are made once.
Commands run in this process through `audit.cli.main` with `sys.argv` set, exactly as the console
script calls it, so 150 cases take seconds; a few run as real subprocesses.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

# The pipeline tests' helpers: merging spec changes, a folder's bytes, a clean environment.
from tests.pipeline.conftest import _merge as merge
from tests.pipeline.conftest import cli_env

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"
EXPERIMENT = "bad-inputs"
N_PEOPLE = 1200

# The spec every `audit run` case starts from: a quick audit (1,200 people, 20 replicates) of the
# shipped profiling model on a people file, logged to the shared store. {name} tokens are filled
# in by `Workspace.fill`; YAML flow mappings keep their braces.
BASE_SPEC = """\
name: {name}
data:
  file: {people}
model:
  uri: {model}
outcome: job_28d_6m
decision:
  bands: {high: 0.66, low: 0.25}
  examined: [high]
attributes:
  - {column: housing_status, reference: stable}
  - gender
statistics:
  n_boot: 20
  seed: 1
policy:
  rules:
    - {id: loose, metric: selection_rate, kind: difference, max_abs: 0.99}
tracking:
  uri: {store}
  experiment: bad-inputs
report:
  dir: {case}/reports/x
"""


@dataclass(frozen=True)
class Shared:
    """Inputs every case may read (never write): made once per session."""

    root: Path
    people: pd.DataFrame
    people_csv: Path
    decisions_csv: Path
    store: str
    good_report: Path

    def tokens(self) -> dict[str, str]:
        return {
            "people": str(self.people_csv),
            "decisions": str(self.decisions_csv),
            "model": str(MODELS / "profiling_reference.skops"),
            "onnx": str(MODELS / "profiling_reference.onnx"),
            "track_model": str(MODELS / "track_reference.skops"),
            "store": self.store,
            "good": str(self.good_report / "assessment.json"),
        }


@dataclass
class Workspace:
    """The folder of one case and what the case's builder writes into it."""

    shared: Shared
    folder: Path
    name: str
    extra: dict[str, str] = field(default_factory=dict)

    def tokens(self) -> dict[str, str]:
        return {
            **self.shared.tokens(),
            "case": str(self.folder),
            "name": self.name,
            "spec": str(self.folder / "spec.yaml"),
            **self.extra,
        }

    def fill(self, text: str) -> str:
        for key, value in self.tokens().items():
            text = text.replace("{" + key + "}", value)
        return text

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(self.fill(content), encoding="utf-8")
        return path

    def table(self, name: str, frame: pd.DataFrame) -> Path:
        path = self.folder / name
        if path.suffix == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        return path

    def people(self, name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
        """The shared people table, changed, written under `name`."""
        return self.table(name, change(self.shared.people.copy()))

    def decisions(self, name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
        return self.table(name, change(pd.read_csv(self.shared.decisions_csv)))

    def spec(self, edit: Mapping[str, Any] | Callable[[str], str] | None = None) -> Path:
        """The base spec, with `edit` merged in (a mapping) or applied to its text."""
        text = self.fill(BASE_SPEC)
        if callable(edit):
            text = edit(text)
        elif edit:
            text = yaml.safe_dump(merge(yaml.safe_load(text), edit), sort_keys=False)
            text = self.fill(text)
        return self.write("spec.yaml", text)


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float


def call_in_process(argv: list[str], cwd: Path) -> Outcome:
    """`audit ARGV` in this process, as the console script runs it."""
    from audit.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_argv, saved_cwd = sys.argv, Path.cwd()
    sys.argv = ["audit", *argv]
    os.chdir(cwd)
    code = 0
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
    finally:
        sys.argv = saved_argv
        os.chdir(saved_cwd)
    return Outcome(code, out.getvalue(), err.getvalue(), time.perf_counter() - started)


def call_subprocess(argv: list[str], cwd: Path, timeout: float = 120) -> Outcome:
    """`python -m audit.cli ARGV` as a separate process (this checkout's code, no MLflow env)."""
    env = cli_env()
    env["PYTHONPATH"] = str(REPO)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "audit.cli", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)
