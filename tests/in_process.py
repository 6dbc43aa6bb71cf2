"""Running the `audit` command in the test's own process (so coverage and mutation testing see
the code it runs)."""

from __future__ import annotations

import sys

import pytest

from audit.cli import EXIT_OK, main


def run_command(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """`audit ARGS` in this process, the way the console script runs it: its exit code."""
    monkeypatch.setattr(sys, "argv", ["audit", *args])
    try:
        main()
    except SystemExit as stop:
        return int(stop.code or 0)
    return EXIT_OK
