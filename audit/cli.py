"""Command line: a thin layer over the package API.

Exit codes are part of the interface that CI pipelines rely on:
0 success, 1 the audit ran and a policy failed, 2 the audit could not run (usage or input error,
an unwritable folder, or a bug), 3 the audit ran and the data cannot tell whether the policy holds
(inconclusive; 0 when the policy lets an inconclusive gate through), 130 interrupted.
"""

from __future__ import annotations

import sys
import traceback
from typing import NoReturn

import typer

from audit.errors import AuditError

EXIT_OK = 0
EXIT_POLICY_FAILED = 1
EXIT_INPUT_ERROR = 2

app = typer.Typer(
    name="audit",
    help="Fairness audits of job-matching and profiling models used by public employment services.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    # Each area of the package owns its commands; importing them here keeps this file a table.
    # Once per process: tests call main() many times in one process.
    if app.registered_commands:
        return
    from audit.data.cli import data_app
    from audit.models.cli import models_app
    from audit.report.command import report
    from audit.run_command import run
    from audit.stats.cli import assess

    app.command("run")(run)
    app.command("assess")(assess)
    app.command("report")(report)
    app.add_typer(models_app, name="model")
    app.add_typer(data_app, name="data")


@app.callback()
def _root() -> None:
    """Fairness audits of job-matching and profiling models used by public employment services."""


def main() -> None:
    """Entry point of the `audit` command.

    Click handles usage errors itself (exit 2); our own input errors escape its standalone mode
    and are printed here as one clear message, also with exit 2, instead of a traceback.
    """
    _register_commands()
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
