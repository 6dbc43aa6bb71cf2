"""Which people got a given track, from the outputs step's table."""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from audit.checks.base import CannotRun

TRACK, DECISION = "_track", "_decision"  # the outputs step's columns (audit.steps.decisions)


def track_labels(table: pd.DataFrame) -> tuple[str, ...]:
    column = table.get(TRACK)
    if column is None:
        return ()
    return tuple(str(c) for c in column.cat.categories)


def track_indicator(table: pd.DataFrame, track: str) -> np.ndarray:
    """True for the people recommended `track`; CannotRun when the audit has no such track."""
    labels = track_labels(table)
    if not labels:
        raise CannotRun(
            f"track '{track}': expected a model or decisions file with tracks; found decisions "
            "without a track. Fix: audit a track recommender, or name the file's track column "
            "(model.decisions.track_column)"
        )
    if track not in labels:
        close = difflib.get_close_matches(track, labels, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise CannotRun(
            f"track '{track}': expected one of the model's tracks {list(labels)}; found none by "
            f"that name{hint}. Fix: spell the track as the model does"
        )
    return np.asarray(table[TRACK].cat.codes.to_numpy() == labels.index(track), dtype=bool)
