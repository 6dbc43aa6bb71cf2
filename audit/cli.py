"""Command line: a thin layer over the package API.

Exit codes are part of the interface that CI pipelines rely on:
0 success, 1 the audit ran and a policy failed, 2 the audit could not run (usage or input error,
an unwritable folder, or a bug), 3 the audit ran and the data cannot tell whether the policy holds
(inconclusive; 0 when the policy lets an inconclusive gate through), 130 interrupted.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from typing import TYPE_CHECKING, Any, NoReturn

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from audit.errors import AuditError
from audit.verbosity import configure_output

if TYPE_CHECKING:  # typer 0.29 vendors click; only the types are used here
    from typer import _click as click

EXIT_OK = 0
EXIT_POLICY_FAILED = 1
EXIT_INPUT_ERROR = 2

# Each area of the package owns its commands: name -> (module, attribute, one-line help). A
# command's module, and the libraries it needs (pandas, scikit-learn, MLflow...), is imported only
# when that command runs or shows its own help, so `audit --help` starts in a fraction of a second.
# tests/cli check that these lines are the commands' own first lines of help.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("audit.run_command", "run", "Run the audit a spec describes."),
    "assess": (
        "audit.stats.cli",
        "assess",
        "Assess group metrics and disparities in a file of decisions (no model needed).",
    ),
    "report": (
        "audit.report.command",
        "report",
        "Render the published report of a past audit from its stored result, without recomputing.",
    ),
    "model": (
        "audit.models.cli",
        "models_app",
        "Train reference models, or check a model from elsewhere against data.",
    ),
    "data": (
        "audit.data.cli",
        "data_app",
        "Synthetic job-seeker populations with known, injected harms.",
    ),
}


class Placeholder(TyperCommand):
    """A command not imported yet: its name and line of help, for the root's help and suggestions."""


class LazyGroup(TyperGroup):
    """The root group: knows the commands from COMMANDS, imports one only to run or show it."""

    _listing = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, (_, _, line) in COMMANDS.items():
            self.commands.setdefault(name, Placeholder(name, help=line))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if isinstance(command, Placeholder) and not self._listing:
            command = self.commands[cmd_name] = load_command(cmd_name)
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The root's help needs each command's name and line, not the command itself.
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def load_command(name: str) -> click.Command:
    """The click command behind `audit NAME`, built by typer from the function or sub-app."""
    module, attribute, _ = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if not isinstance(target, typer.Typer):
        target_app = typer.Typer(pretty_exceptions_enable=False)
        target_app.command(name)(target)
        target = target_app
    command = typer.main.get_command(target)
    command.name = name
    return command


app = typer.Typer(
    name="audit",
    help="Fairness audits of job-matching and profiling models used by public employment services.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)


@app.callback()
def _root() -> None:
    """Fairness audits of job-matching and profiling models used by public employment services."""


def main() -> None:
    """Entry point of the `audit` command.

    Click handles usage errors itself (exit 2); our own input errors escape its standalone mode
    and are printed here as one clear message, also with exit 2, instead of a traceback.
    """
    # Before any command's module is imported, so that its libraries' import-time warnings
    # follow --verbose too (the option itself is read again by `audit run` and `audit assess`).
    configure_output(verbose=bool({"--verbose", "-v"} & set(sys.argv[1:])))
    try:
        app()
    except AuditError as err:
        _fail(str(err))
    except OSError as err:
        # A folder that cannot be written or a file that vanished: the environment, not the
        # model, so never the gate's exit code 1.
        where = f" ({err.filename})" if err.filename else ""
        _fail(
            f"{err.strerror or err}{where}\nHint: check the paths in the spec and their permissions"
        )
    except Exception as err:  # a bug: keep the traceback for the report, still not exit 1
        traceback.print_exc()
        _fail(
            f"unexpected {type(err).__name__}: {err}\nHint: this is a bug; please report it with the traceback above"
        )


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    sys.exit(EXIT_INPUT_ERROR)


if __name__ == "__main__":
    main()
