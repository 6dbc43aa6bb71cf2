"""The checks as they leave the process: aggregates only, small groups suppressed.

An evidence record describing fewer than `min_cell_size` people (in the group or its reference)
keeps its status and sizes' absence, not its figures; a count of fewer people in a note reads
"fewer than" the threshold. Flagged cases are counted, never listed:
the list goes to the review file only (`audit.checks.cases`), and a count below the threshold is
published as "fewer than" it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from audit.checks.base import CheckOutcome, Evidence

SCHEMA_VERSION = 1
_FIGURES = ("estimate", "ci_low", "ci_high", "p_value", "p_adjusted", "detectable")


def published_checks(outcomes: Sequence[CheckOutcome], min_cell_size: int) -> list[dict[str, Any]]:
    return [_outcome(o, min_cell_size) for o in outcomes]


def checks_json(outcomes: Sequence[CheckOutcome], min_cell_size: int) -> str:
    document = {
        "schema_version": SCHEMA_VERSION,
        "min_cell_size": min_cell_size,
        "checks": published_checks(outcomes, min_cell_size),
    }
    return json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def _outcome(o: CheckOutcome, k: int) -> dict[str, Any]:
    flagged = len(o.cases)
    return {
        "code": o.code,
        "name": o.name,
        "id": o.check_id,
        "status": o.status,
        "sentence": o.sentence,
        "needs": list(o.needs),
        "margin": o.margin,
        "reason": o.reason,
        "notes": [_note(n, k) for n in o.notes],
        "flagged": flagged if flagged == 0 or flagged >= k else None,
        "flagged_fewer_than": k if 0 < flagged < k else None,
        "evidence": [_evidence(e, k) for e in o.evidence],
    }


# A count of people in a note ("3 people without a value of ...", "1 audited people have ...").
_COUNT = re.compile(r"\b(\d+) ((?:audited )?people)\b")


def _note(note: str, k: int) -> str:
    """The note with any count of fewer than k people (but some) published as "fewer than k"."""

    def shown(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return m.group(0) if n == 0 or n >= k else f"fewer than {k} {m.group(2)}"

    return _COUNT.sub(shown, note)


def _evidence(e: Evidence, k: int) -> dict[str, Any]:
    record = asdict(e)
    record["details"] = dict(e.details)
    small = min(e.n, e.n_reference) < k
    if small:
        for name in _FIGURES:
            record[name] = None
        record["details"] = {}
        record["n"] = None if e.n < k else e.n
        record["n_reference"] = None if e.n_reference < k else e.n_reference
    record["suppressed"] = small
    return record
