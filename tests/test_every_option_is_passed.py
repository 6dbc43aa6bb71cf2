"""Every option of every command is passed on a command line somewhere in the tests (issue 14).

The options are read from the command-line apps themselves, so a new option without a test
fails here. A test passes an option as a list item, `"--name"`; the bad-input table
(tests/bad_inputs/cases.py) passes many with wrong values only, so it does not count here.
A name shared by several commands (`--seed`, `--out`) is found once for all of them: this is a
guard against an option nobody tests, not the test of each option; those are with their
commands (tests/stats/test_cli_options.py, tests/models/test_cli_options.py,
tests/data/test_data_cli.py, tests/spec/test_example_specs_run.py, tests/pipeline).
"""

from __future__ import annotations

from pathlib import Path

from audit.cli import COMMANDS, load_command

TESTS = Path(__file__).resolve().parent
# Typer's own options, not ours.
TYPER = {"--install-completion", "--show-completion", "--help"}


def _options() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}

    def walk(command: object, path: str) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, f"{path} {name}".strip())
            return
        names = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}  # type: ignore[attr-defined]
        found[path] = {o for o in names if o.startswith("--")} - TYPER

    for name in COMMANDS:  # the root lists its commands lazily: build each real one
        walk(load_command(name), name)
    return found


def test_the_commands_are_the_documented_ones() -> None:
    assert set(_options()) == {"run", "assess", "report", "model train", "model check",
                               "data generate", "data scenarios"}  # fmt: skip


def test_every_option_appears_on_a_tested_command_line() -> None:
    sources = "\n".join(
        p.read_text("utf-8")
        for p in TESTS.rglob("*.py")
        if p.name != Path(__file__).name and p.parent.name != "bad_inputs"
    )
    missing = {
        command: sorted(o for o in options if f'"{o}"' not in sources)
        for command, options in _options().items()
    }
    assert {c: m for c, m in missing.items() if m} == {}
