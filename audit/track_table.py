"""Track shares laid out for a table: one row per group, one column per track.

Shared by the terminal (`audit assess`, `audit run`) and summary.md; kept apart from the writers
of the result files so that printing a table does not import them (and what they import).
"""

from __future__ import annotations

from collections.abc import Sequence

from audit.numbers import fixed
from audit.stats.result import TrackShare


def track_shares_by_attribute(
    tracks: Sequence[TrackShare],
) -> dict[str, tuple[list[str], dict[str, dict[str, TrackShare]]]]:
    """Single attributes' track records: attribute -> (tracks, group label -> track -> record)."""
    out: dict[str, tuple[list[str], dict[str, dict[str, TrackShare]]]] = {}
    for t in tracks:
        if len(t.attributes) != 1:
            continue
        names, groups = out.setdefault(t.attributes[0], ([], {}))
        if t.track not in names:
            names.append(t.track)
        groups.setdefault(t.levels[0], {})[t.track] = t
    return out


def track_cell(t: TrackShare | None) -> str:
    """A share with its interval, `*` when its gap to the reference is significant."""
    if t is None or t.share is None:
        return "-"
    text = fixed(t.share)
    if t.ci_low is not None and t.ci_high is not None:
        text += f" ({fixed(t.ci_low)}–{fixed(t.ci_high)})"
    return text + (" *" if t.significant else "")
