"""Load benchmark: many `audit run` processes at once on one MLflow store, checked for losses.

    .venv/bin/python benchmarks/bench_load.py [--runs-server 20] [--runs-sqlite 5]
        [--n 20000] [--n-boot 200] [--intersections 2] [--timeout 1800] [--out FILE]

Two settings, one after the other, each on a store nobody else uses:

1. `--runs-server` audits at once against one real `mlflow server` started by this script on a
   free port of 127.0.0.1 only (SQLite backend, artifacts proxied into a local folder, one
   worker), stopped at the end, also on error or Ctrl-C.
2. `--runs-sqlite` audits at once on one local SQLite store (`sqlite:///.../mlflow.db`) that does
   not exist yet, so they also race to create it and its experiment.

Every audit is the command a CI job runs (`audit run SPEC` as a subprocess, output to files) on
the shipped ONNX model (`models/profiling_reference.onnx`) and a synthetic `no_bias` population
of `--n` people, 4 attributes and their pairs, `--n-boot` bootstrap replicates and two rules.
Audits differ only in the population's seed, so their figures differ. Before each batch one audit
runs alone on its own store, for the time one audit takes without company.

Then, read back through `MlflowClient` (and the store's SQLite file, read-only, for row counts):
each run's status (FINISHED expected) and verdict tag against the exit code; the metrics the audit
meant to log against those found. The contract (`audit.pipeline._log`) is that a run logs
`tracked_metrics` of the published assessment and verdict, the ones written as `assessment.json`
and `verdict.json` (in the run's `tracking.metrics` mode), and lists every key it logged in the
artifact `metric_keys.json`: expected = the keys of `metric_keys.json` (checked equal to
`tracked_metrics(assessment.json, verdict.json)`), found = those keys among the run's
metrics with the same value; lost = expected - found, summed over runs (must be 0). Also every
result artifact present, and one row per metric in the store (no duplicated writes).

The machine running this has 2 cores: 20 audits at once queue for the CPU, which is what is
measured (wall time of the batch against the time of one audit alone). Run it under `nice -n 10`
so that other work on the machine keeps priority; children inherit the niceness.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from bench_stats import fmt_seconds, markdown_table  # noqa: E402

from audit.gate import Verdict  # noqa: E402
from audit.stats.result import Assessment  # noqa: E402
from audit.tracking.naming import KEY_FILE  # noqa: E402
from audit.tracking.record import tracked_metrics  # noqa: E402

MODEL = ROOT / "models" / "profiling_reference.onnx"
EXPERIMENT = "bench-load"
SERVER_START_TIMEOUT_S = 90
SERVER_STOP_TIMEOUT_S = 20
POLL_S = 0.2
# What every successful audit logs as artifacts: the report files and the key document.
ARTIFACTS = {
    "assessment.json",
    "verdict.json",
    "manifest.json",
    "junit.xml",
    "spec.yaml",
    "summary.md",
    KEY_FILE,
}
VERDICT_OF_EXIT = {0: "pass", 1: "fail", 3: "inconclusive"}
# The audit prints each step as it ends: "✓ logging to MLflow (39.2 s)".
STEP_LINE = re.compile(
    r"^✓ (data|model|decisions|statistics|logging to MLflow)\b.*\((\d+\.\d) s\)$"
)


# -- the audits --------------------------------------------------------------------------------
def audit_executable() -> str:
    beside = Path(sys.executable).parent / "audit"
    found = str(beside) if beside.exists() else shutil.which("audit")
    if found is None:
        raise SystemExit("the `audit` command is not installed next to this Python")
    return found


AUDIT = audit_executable()
MLFLOW = str(Path(AUDIT).parent / "mlflow")


def child_env() -> dict[str, str]:
    """The audits' environment: no tracking settings leaking in from the shell."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_TRACKING", "MLFLOW_REGISTRY", "MLFLOW_EXPERIMENT"))
    }
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", PYTHONUNBUFFERED="1")
    return env


@dataclass(frozen=True)
class AuditSpecFile:
    name: str
    path: Path
    report_dir: Path


def write_spec(
    folder: Path, name: str, seed: int, uri: str, args: argparse.Namespace
) -> AuditSpecFile:
    """A small audit of the shipped ONNX model, logging to `uri` in experiment `bench-load`."""
    report_dir = folder / "reports" / name
    document = {
        "name": name,  # also the MLflow run name: one per audit, to find its run
        "data": {"synthetic": {"scenario": "no_bias", "n": args.n, "seed": seed}},
        "model": {"uri": str(MODEL)},
        "outcome": "job_28d_6m",
        "decision": {"threshold": 0.5},
        "attributes": [
            {"column": "mental_health_history", "reference": "False"},
            {"column": "housing_status", "reference": "stable"},
            {"column": "digital_literacy", "reference": "high"},
            "gender",
        ],
        "intersections": args.intersections,
        "statistics": {"n_boot": args.n_boot, "seed": seed},
        "policy": {
            "evidence": "interval",
            "rules": [
                {"id": "equal-opportunity", "metric": "tpr", "kind": "difference", "max_abs": 0.1},
                {"id": "four-fifths", "metric": "selection_rate", "kind": "ratio", "min": 0.8},
            ],
        },
        "tracking": {"uri": uri, "experiment": EXPERIMENT},
        "report": {"dir": str(report_dir), "junit": True},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return AuditSpecFile(name, path, report_dir)


@dataclass
class Launched:
    spec: AuditSpecFile
    process: subprocess.Popen[bytes]
    log: Path
    started: float
    ended: float | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.ended is None else self.ended - self.started


@dataclass
class Batch:
    """A set of audits started together: exit codes, times and the CPU their processes used."""

    audits: list[Launched]
    wall: float
    cpu: float
    peak_rss_mb: float
    timed_out: int

    @property
    def codes(self) -> list[int | None]:
        return [a.process.returncode for a in self.audits]

    def step_seconds(self) -> dict[str, list[float]]:
        """Each step's seconds in every audit, as the audits printed them."""
        steps: dict[str, list[float]] = {}
        for a in self.audits:
            for line in a.log.read_text(encoding="utf-8", errors="replace").splitlines():
                match = STEP_LINE.match(line.strip())
                if match:
                    steps.setdefault(match[1], []).append(float(match[2]))
        return steps


def run_batch(specs: list[AuditSpecFile], logs: Path, timeout: float) -> Batch:
    """Starts every audit at once and waits for all of them, `timeout` seconds at most.

    Output goes to files, not pipes, so no audit blocks on a full pipe while another is read.
    An audit still running at the deadline is killed (its own process only) and counted.
    """
    logs.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    audits = []
    for spec in specs:
        log = logs / f"{spec.name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [AUDIT, "run", str(spec.path)],
                cwd=spec.path.parent,
                env=child_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        audits.append(Launched(spec, process, log, time.monotonic()))
    deadline = start + timeout
    timed_out = 0
    try:
        while any(a.ended is None for a in audits):
            for a in audits:
                if a.ended is None and a.process.poll() is not None:
                    a.ended = time.monotonic()
            if time.monotonic() > deadline:
                timed_out = kill_running(audits)
                break
            time.sleep(POLL_S)
    finally:  # Ctrl-C or an error here: no audit outlives the benchmark
        kill_running(audits)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Batch(audits, wall, cpu, after.ru_maxrss / 1024, timed_out)


def kill_running(audits: list[Launched]) -> int:
    killed = 0
    for a in audits:
        if a.process.poll() is None:
            a.process.kill()
            a.process.wait(timeout=30)
            killed += 1
        if a.ended is None:
            a.ended = time.monotonic()
    return killed


# -- a real MLflow server on loopback ----------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Server:
    url: str
    db: Path
    log: Path
    pid: int = 0

    def cpu_seconds(self) -> float:
        """CPU time used so far by every process of the server's group (Linux /proc)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended meanwhile
                continue
            if int(fields[2]) == self.pid:  # fields[2] is the process group
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / tick


@contextlib.contextmanager
def mlflow_server(root: Path, workers: int) -> Iterator[Server]:
    """`mlflow server` on 127.0.0.1, SQLite backend, proxied artifacts; stopped on leaving."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = Server(f"http://127.0.0.1:{port}", root / "srv.db", root / "server.log")
    env = child_env()
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no background job workers needed
    with server.log.open("wb") as log:
        process = subprocess.Popen(
            [
                MLFLOW,
                "server",
                "--backend-store-uri",
                f"sqlite:///{server.db}",
                "--artifacts-destination",
                str(root / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so its workers stop with it
        )
    server.pid = process.pid
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not healthy(server.url):
            if process.poll() is not None:
                raise RuntimeError(f"mlflow server exited ({process.returncode}):\n{tail(server)}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"mlflow server not healthy in {SERVER_START_TIMEOUT_S} s:\n{tail(server)}"
                )
            time.sleep(POLL_S)
        yield server
    finally:
        stop(process)


def tail(server: Server) -> str:
    return "\n".join(server.log.read_text(errors="replace").splitlines()[-30:])


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, then SIGKILL if it has not gone in time."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:  # the whole group is gone
            return
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:
            time.sleep(0.5)  # a moment for its workers to follow; then make sure


# -- reading the store back --------------------------------------------------------------------
@dataclass
class RunCheck:
    """What one audit left in the store."""

    name: str
    run_id: str | None = None
    status: str = "absent"
    verdict: str | None = None
    expected: int = 0
    found: int = 0
    wrong_value: int = 0
    unexpected: int = 0
    rows: int | None = None
    missing_artifacts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.expected - self.found


def check_store(uri: str, db: Path, batch: Batch) -> list[RunCheck]:
    """Every audit's run, read through MlflowClient (and row counts from the SQLite file)."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    runs: list[Any] = []
    if experiment is not None:
        runs = client.search_runs(
            [experiment.experiment_id], run_view_type=ViewType.ALL, max_results=1000
        )
    by_name: dict[str, list[Any]] = {}
    for run in runs:
        by_name.setdefault(run.info.run_name, []).append(run)
    rows = metric_rows(db)
    checks = []
    for audit in batch.audits:
        check = RunCheck(audit.spec.name)
        found = by_name.pop(audit.spec.name, [])
        if len(found) != 1:
            check.problems.append(f"{len(found)} runs named {audit.spec.name}")
        if found:
            check_run(client, found[0], check, audit.process.returncode)
            check.rows = rows.get(found[0].info.run_id, 0)
        checks.append(check)
    for name, extra in by_name.items():
        extra_check = RunCheck(name, status="unexpected run")
        extra_check.problems.append(f"{len(extra)} runs no audit of this batch opened")
        checks.append(extra_check)
    return checks


def check_run(client: Any, run: Any, check: RunCheck, exit_code: int | None) -> None:
    check.run_id = run.info.run_id
    check.status = run.info.status
    check.verdict = run.data.tags.get("audit.verdict")
    if exit_code in VERDICT_OF_EXIT and check.verdict != VERDICT_OF_EXIT[exit_code]:
        check.problems.append(f"exit {exit_code} but verdict tag {check.verdict!r}")
    present = {a.path for a in client.list_artifacts(check.run_id)}
    check.missing_artifacts = sorted(ARTIFACTS - present)
    if KEY_FILE not in present or "assessment.json" not in present:
        check.problems.append("no metric_keys.json or assessment.json: expected count unknown")
        return
    with tempfile.TemporaryDirectory() as tmp:
        keys_file = client.download_artifacts(check.run_id, KEY_FILE, tmp)
        assessment_file = client.download_artifacts(check.run_id, "assessment.json", tmp)
        verdict_file = client.download_artifacts(check.run_id, "verdict.json", tmp)
        listed = set(json.loads(Path(keys_file).read_text(encoding="utf-8"))["keys"])
        published = Assessment.from_json(Path(assessment_file).read_text(encoding="utf-8"))
        verdict = Verdict.from_json(Path(verdict_file).read_text(encoding="utf-8"))
    mode = "all" if run.data.params.get("tracking.metrics") == "all" else "lean"
    meant = tracked_metrics(published, verdict, mode)
    if set(meant) != listed:
        check.problems.append(
            f"metric_keys.json lists {len(listed)} keys, tracked_metrics(assessment.json, "
            f"verdict.json) gives {len(meant)}"
        )
    logged = run.data.metrics
    check.expected = len(listed)
    check.found = sum(1 for k in listed if k in logged and same(logged[k], meant.get(k)))
    check.wrong_value = sum(1 for k in listed if k in logged and not same(logged[k], meant.get(k)))
    check.unexpected = sum(1 for k in logged if k not in listed)


def same(logged: float, meant: float | None) -> bool:
    """Equal to the last bit: float64 in, float64 out (SQLite REAL, protobuf double, JSON repr)."""
    return meant is not None and (logged == meant or (math.isnan(logged) and math.isnan(meant)))


def metric_rows(db: Path) -> dict[str, int]:
    """Rows of the store's `metrics` table per run (read-only): one per logged key expected."""
    if not db.exists():
        return {}
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as con:
        return dict(con.execute("SELECT run_uuid, COUNT(*) FROM metrics GROUP BY run_uuid"))


# -- one setting -------------------------------------------------------------------------------
@dataclass
class Setting:
    label: str
    runs: int
    alone: Batch
    alone_checks: list[RunCheck]
    batch: Batch
    checks: list[RunCheck]
    server_cpu: float | None = None


def measure(
    label: str,
    runs: int,
    folder: Path,
    uri: str,
    db: Path,
    alone_uri: str,
    alone_db: Path,
    args: argparse.Namespace,
    server: Server | None = None,
) -> Setting:
    """One audit alone (its own store), then `runs` at once on the store at `uri`."""
    slug = "server" if server is not None else "sqlite"
    folder.mkdir(parents=True, exist_ok=True)
    alone_spec = write_spec(folder, f"{slug}-alone", 999, alone_uri, args)
    print(f"{label}: one audit alone…", flush=True)
    alone = run_batch([alone_spec], folder / "logs", args.timeout)
    alone_checks = check_store(alone_uri, alone_db, alone)
    print(f"  {fmt_seconds(alone.wall)}, exit {alone.codes}", flush=True)
    specs = [write_spec(folder, f"{slug}-{i:02d}", 100 + i, uri, args) for i in range(runs)]
    print(f"{label}: {runs} audits at once…", flush=True)
    server_before = server.cpu_seconds() if server else 0.0
    batch = run_batch(specs, folder / "logs", args.timeout)
    server_cpu = server.cpu_seconds() - server_before if server else None
    print(f"  {fmt_seconds(batch.wall)}, exit codes {batch.codes}", flush=True)
    checks = check_store(uri, db, batch)
    for a, c in zip(batch.audits, checks, strict=False):
        if a.process.returncode not in VERDICT_OF_EXIT or c.problems or c.status != "FINISHED":
            print(f"  {c.name}: exit {a.process.returncode}, {c.status}, {c.problems}")
            print("    " + "\n    ".join(a.log.read_text(errors="replace").splitlines()[-15:]))
    return Setting(label, runs, alone, alone_checks, batch, checks, server_cpu)


def server_setting(folder: Path, args: argparse.Namespace) -> Setting:
    with (
        mlflow_server(folder / "server", args.server_workers) as server,
        mlflow_server(folder / "server-alone", args.server_workers) as alone,
    ):
        return measure(
            f"mlflow server ({args.server_workers} worker)",
            args.runs_server,
            folder,
            server.url,
            server.db,
            alone.url,
            alone.db,
            args,
            server,
        )


def sqlite_setting(folder: Path, args: argparse.Namespace) -> Setting:
    db, alone_db = folder / "store" / "mlflow.db", folder / "store-alone" / "mlflow.db"
    return measure(
        "sqlite (one new local file)",
        args.runs_sqlite,
        folder,
        f"sqlite:///{db}",
        db,
        f"sqlite:///{alone_db}",
        alone_db,
        args,
    )


# -- the report --------------------------------------------------------------------------------
def row(setting: Setting) -> dict[str, str]:
    batch, checks = setting.batch, setting.checks
    codes = batch.codes
    ended = [a.seconds for a in batch.audits if a.seconds is not None]
    counts = {c: codes.count(c) for c in sorted(set(codes), key=str)}
    finished = sum(1 for c in checks if c.status == "FINISHED")
    expected = sum(c.expected for c in checks)
    found = sum(c.found for c in checks)
    rows = sum(c.rows or 0 for c in checks)
    return {
        "setting": setting.label,
        "audits": str(setting.runs),
        "exit codes": ", ".join(f"{c}: {n}" for c, n in counts.items()),
        "FINISHED": f"{finished}/{setting.runs}",
        "metrics expected": f"{expected:,}",
        "found": f"{found:,}",
        "lost": f"{expected - found:,}",
        "store rows": f"{rows:,}",
        "artifacts missing": str(sum(len(c.missing_artifacts) for c in checks)),
        "wall time": secs(batch.wall),
        "per audit (min/median/max)": "/".join(
            secs(s) for s in (min(ended), statistics.median(ended), max(ended))
        ),
        "one alone": secs(setting.alone.wall),
        "CPU: audits / server": secs(batch.cpu)
        + (f" / {secs(setting.server_cpu)}" if setting.server_cpu is not None else ""),
    }


def secs(seconds: float) -> str:
    return f"{seconds:.1f} s"


def figures(setting: Setting) -> list[str]:
    checks, batch = setting.checks, setting.batch
    per_run = [c.expected for c in checks if c.expected]
    problems = [f"{c.name}: {p}" for c in checks for p in c.problems]
    wrong = sum(c.wrong_value for c in checks)
    unexpected = sum(c.unexpected for c in checks)
    duplicates = sum((c.rows or 0) - c.found for c in checks if c.rows is not None)
    verdicts = sorted({str(c.verdict) for c in checks})
    alone = setting.alone_checks[0] if setting.alone_checks else None
    sequential = setting.alone.wall * setting.runs
    lines = [
        f"- {setting.label}: {setting.runs} audits in {batch.wall:.1f} s "
        f"({fmt_seconds(batch.wall / setting.runs)} per audit of throughput); one alone "
        f"{fmt_seconds(setting.alone.wall)}, so {setting.runs} one after another ≈ "
        f"{fmt_seconds(sequential)} ({batch.wall / sequential:.2f}× of that)",
        f"  - metrics per run: {min(per_run, default=0):,} to {max(per_run, default=0):,}; "
        f"logged with a wrong value: "
        f"{wrong}; logged but not listed: {unexpected}; store rows beyond one per key: "
        f"{duplicates}",
        f"  - verdict tags: {', '.join(verdicts)}; timed out: {batch.timed_out}; "
        f"peak RSS of one audit {batch.peak_rss_mb:,.0f} MB",
        f"  - the audit alone: {alone.status if alone else '?'}, "
        f"{alone.found if alone else 0:,}/{alone.expected if alone else 0:,} metrics",
    ]
    lines.append(
        "  - steps, median (max) over the audits at once [alone]: "
        + "; ".join(
            f"{step} {secs(statistics.median(s))} ({secs(max(s))}) "
            f"[{secs(setting.alone.step_seconds().get(step, [math.nan])[0])}]"
            for step, s in batch.step_seconds().items()
        )
    )
    lines += [f"  - problem: {p}" for p in problems] or ["  - problems: none"]
    return lines


def installed(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "absent"


def environment() -> str:
    found = ", ".join(f"{p} {installed(p)}" for p in ("mlflow", "numpy", "pandas", "onnxruntime"))
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"{found}; niceness {os.nice(0)}; load average {os.getloadavg()[0]:.2f} at the start"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-server", type=int, default=20, help="audits at once on a server")
    parser.add_argument("--runs-sqlite", type=int, default=5, help="audits at once on SQLite")
    parser.add_argument("--n", type=int, default=20000, help="people in each synthetic population")
    parser.add_argument("--n-boot", type=int, default=200, help="bootstrap replicates")
    parser.add_argument("--intersections", type=int, default=2, help="attributes per grouping")
    parser.add_argument("--server-workers", type=int, default=1, help="mlflow server --workers")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds a batch may take")
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep the files")
    parser.add_argument("--out", type=Path, default=None, help="also write the report here")
    args = parser.parse_args(argv)

    print(f"bench_load: {environment()}", flush=True)
    settings = []
    with contextlib.ExitStack() as stack:
        if args.keep is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-load-")))
        else:
            folder = args.keep.resolve()
            folder.mkdir(parents=True, exist_ok=True)
        if args.runs_server > 0:
            settings.append(server_setting(folder / "server-setting", args))
        if args.runs_sqlite > 0:
            settings.append(sqlite_setting(folder / "sqlite-setting", args))

    text = "\n".join(
        [
            f"Each audit: {args.n:,} synthetic people, n_boot {args.n_boot}, 4 attributes, "
            f"intersections {args.intersections}, two rules, shipped ONNX model.",
            f"Load average at the end: {os.getloadavg()[0]:.2f}.",
            "",
            markdown_table([row(s) for s in settings]),
            "",
            *[line for s in settings for line in figures(s)],
        ]
    )
    print("\n" + text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    bad = any(
        c.lost or c.status != "FINISHED" or c.problems or c.missing_artifacts
        for s in settings
        for c in s.checks
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
