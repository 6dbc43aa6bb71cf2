"""`audit --help` answers at once: the root imports no command's libraries until one runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from audit.cli import COMMANDS, load_command

# The libraries that made `audit --help` take seconds; none is needed to list the commands.
HEAVY = (
    "mlflow", "sklearn", "pandas", "scipy", "onnxruntime", "onnx", "pandera", "skops",
    "pyarrow", "numpy", "pydantic", "yaml", "audit.pipeline", "audit.stats", "audit.models",
    "audit.data", "pyspark",
)  # fmt: skip

# The root's help in a fresh interpreter, then the heavy modules that interpreter imported.
PROBE = """
import json, sys
from audit.cli import main
sys.argv = ["audit", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in %r))
print(json.dumps(heavy), file=sys.stderr)
"""


def _imported(*args: str) -> tuple[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *args],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return done.stdout, json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], []])
def test_the_root_help_lists_every_command_without_importing_a_heavy_library(
    args: list[str],
) -> None:
    out, heavy = _imported(*args)
    assert heavy == []
    for name in COMMANDS:
        assert f" {name} " in out


def test_a_command_still_brings_its_libraries_when_it_is_asked_for() -> None:
    # The probe can see an import: `assess --help` loads the statistics and pandas.
    out, heavy = _imported("assess", "--help")
    assert "--y-true" in out
    assert "pandas" in heavy and "audit.stats" in heavy


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_listed_line_is_the_command_s_own_first_line_of_help(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    assert (command.help or "").strip().splitlines()[0] == COMMANDS[name][2]


def test_an_audit_in_memory_imports_no_pyspark() -> None:
    """pyspark is the Spark engine's, imported when an audit asks for it. pandera would import
    it (and set SPARK_LOCAL_IP) whenever it is installed: `audit.data.schema` keeps it away."""
    probe = (
        "import json, os, sys; import audit.pipeline, audit.data, audit.stats.cli;"
        "print(json.dumps(['pyspark' in sys.modules, os.environ.get('SPARK_LOCAL_IP')]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "SPARK_LOCAL_IP"}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120, env=env
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [False, None]
