"""What the terminal shows besides the audit: nothing from the libraries, unless asked.

The audit's own output (steps, tables, findings, notes) is always printed. The libraries it
drives (scikit-learn, ONNX Runtime, pandas, MLflow...) speak through Python's warnings and
logging: in normal output their warnings are not shown, and `--verbose` shows every warning
(deprecations too) and MLflow's INFO lines. A `-W` option or PYTHONWARNINGS set by the user wins
over both, as Python's warnings documentation asks of applications.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

LIBRARY_LOGGERS = ("mlflow",)


def configure_output(verbose: bool) -> None:
    """Set, for this process, what the libraries may print (call once, as a command starts)."""
    from audit.tracking.quiet import set_verbose  # light: no MLflow import

    # MLflow's usage telemetry would try to reach the internet on every run: an audit of
    # sensitive data sends nothing out (a user's own setting wins).
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    set_verbose(verbose)
    if not sys.warnoptions:
        warnings.simplefilter("default" if verbose else "ignore")
    if verbose:
        # MLflow sets its logger's level from this variable when it is first imported, and the
        # level below covers the case where it already was.
        os.environ["MLFLOW_LOGGING_LEVEL"] = "INFO"
        logging.basicConfig(
            level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
        )
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)
