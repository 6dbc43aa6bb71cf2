"""MLflow's own messages stay out of an audit's normal output; `set_verbose(True)` lets them in.

MLflow writes three kinds of lines an audit's user did not ask for: INFO log records ("Creating
initial MLflow database tables", alembic's migrations), lines printed for notebooks
("Successfully registered model", "Created version", which no log level controls), and the emoji
"View run ... at" links it prints to stdout when a fluent run on a server ends. The audit prints
what matters itself (the run id, the store, the page of the model's audits).

Normal output: MLflow's loggers at WARNING, the printed lines suppressed. Verbose (a command's
`--verbose` flag calls `set_verbose(True)` before any work): MLflow as it comes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

_state = {"verbose": False}
_QUIET_ENV = {
    "MLFLOW_LOGGING_LEVEL": "WARNING",  # read when mlflow is imported
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",  # the "View run" lines, read per run
}


def set_verbose(verbose: bool) -> None:
    """Show MLflow's messages (True) or keep them out (False, the default)."""
    _state["verbose"] = verbose
    if verbose:
        for key, value in _QUIET_ENV.items():
            if os.environ.get(key) == value:
                del os.environ[key]
        _set_levels(logging.INFO)
    else:
        quiet_mlflow()


def is_verbose() -> bool:
    return _state["verbose"]


def quiet_mlflow() -> None:
    """Keeps MLflow's INFO lines and printed links out of this process's output (not verbose).

    Cheap and safe to call often: before mlflow is imported it only sets environment variables
    (a value the user set wins); after, it lowers MLflow's loggers too.
    """
    if _state["verbose"]:
        return
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    if "mlflow" in sys.modules:
        _set_levels(logging.WARNING)


def _set_levels(level: int) -> None:
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(
            max(level, logging.WARNING) if name == "alembic" else level
        )


@contextlib.contextmanager
def mlflow_prints_hidden() -> Iterator[None]:
    """Around MLflow calls that print for notebooks (model registration): nothing, unless verbose."""
    if _state["verbose"]:
        yield
        return
    # MLflow's own counted switch: its inner uses (signature inference, autologging guards)
    # would turn a plain `MLFLOW_LOGGING_STREAM.enabled = False` back on halfway through.
    from mlflow.utils.autologging_utils import MlflowEventsAndWarningsBehaviorGlobally

    quiet_mlflow()
    with MlflowEventsAndWarningsBehaviorGlobally(
        disable_event_logs=True, disable_warnings=False, reroute_warnings=False
    ):
        yield
