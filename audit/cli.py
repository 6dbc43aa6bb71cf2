"""Command line: a thin layer over the package API.

Exit codes are part of the interface that CI pipelines rely on:
0 success, 1 the audit ran and a policy failed, 2 usage or input error.
"""

from __future__ import annotations

import sys

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
    from audit.stats.cli import assess

    app.command("assess")(assess)


def main() -> None:
    """Entry point of the `audit` command."""
    _register_commands()
    try:
        app(standalone_mode=False)
    except AuditError as err:
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
        sys.exit(EXIT_INPUT_ERROR)
    except typer.Abort:
        sys.exit(EXIT_INPUT_ERROR)
    except Exception as err:  # click usage errors carry their own exit code
        import click

        if isinstance(err, click.ClickException):
            err.show()
            sys.exit(EXIT_INPUT_ERROR)
        raise


if __name__ == "__main__":
    main()
