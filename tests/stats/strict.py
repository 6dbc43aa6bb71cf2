"""Two small helpers of the by-hand core tests: no warning allowed, and the input error raised."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from audit.errors import AuditInputError


@contextmanager
def no_warnings() -> Iterator[None]:
    """Any warning inside is an error: undefined values must come out as NaN, silently."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def input_error(call: Callable[[], object]) -> AuditInputError:
    """The AuditInputError `call` raises (the test fails if it raises none)."""
    with pytest.raises(AuditInputError) as err:
        call()
    return err.value
