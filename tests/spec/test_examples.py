"""The CI workflow examples call `audit run` with options and files that exist."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / "examples" / "ci").glob("*.yml"))


def audit_commands(node: object) -> list[str]:
    if isinstance(node, dict):
        return [c for v in node.values() for c in audit_commands(v)]
    if isinstance(node, list):
        return [c for v in node for c in audit_commands(v)]
    if isinstance(node, str) and "audit run" in node:
        return [node]
    return []


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_commands_use_real_options_and_specs(workflow: Path) -> None:
    commands = audit_commands(yaml.safe_load(workflow.read_text()))
    assert commands, "the workflow must run the gate"
    help_text = subprocess.run(
        [sys.executable, "-m", "audit.cli", "run", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"COLUMNS": "200", "PATH": ""},
    ).stdout
    known = set(re.findall(r"--[a-z][a-z-]+", help_text))
    for command in commands:
        words = shlex.split(command)
        spec = words[words.index("run") + 1]
        assert (ROOT / spec).is_file(), spec
        assert {w.split("=")[0] for w in words if w.startswith("--")} <= known
