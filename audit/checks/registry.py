"""Every harm check, by its stable code and name, and the spec entry that asks for it.

To add a check: write its module (parameters with a `check: Literal[code, name]` field, `needs`,
`run`, and a `CHECK = Check(...)` at the bottom) and list it in `CHECKS`.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field

from audit.checks import (
    flips,
    label_choice,
    matching,
    missing_papers,
    mobility,
    proxies,
    steering,
    thresholds,
    training,
)
from audit.checks.base import Check

CHECKS: tuple[Check, ...] = (
    steering.CHECK,
    flips.CHECK,
    training.CHECK,
    missing_papers.CHECK,
    proxies.CHECK,
    label_choice.CHECK,
    thresholds.CHECK,
    mobility.CHECK,
    matching.CHECK,
)

_BY_KEY = {key: c for c in CHECKS for key in (c.code, c.name)}


def find_check(key: str) -> Check:
    return _BY_KEY[key]


def _spec_type() -> Any:
    members = tuple(c.params for c in CHECKS)
    if len(members) == 1:
        return members[0]
    return Annotated[Union[members], Field(discriminator="check")]  # noqa: UP007


CheckSpec = _spec_type()  # the type of one entry of the spec's `checks:` list
