"""Errors the audit raises for broken input.

Findings (a disparity, a failed gate rule) are records, never exceptions. Exceptions are for input
the audit cannot work with, and each one says what was expected, what was found and how to fix it,
so that an analyst or a CI log reader can act on it without reading our code.
"""

from __future__ import annotations


class AuditError(ValueError):
    """Base class of every error the package raises on purpose."""


class AuditInputError(AuditError):
    """Input the audit cannot use: the message names what was expected, found, and the fix.

    >>> err = AuditInputError("column 'y_true'", expected="two classes {0, 1}",
    ...                       found="3 classes: 0, 1, 2", fix="binarise the outcome first")
    >>> print(err)
    column 'y_true': expected two classes {0, 1}; found 3 classes: 0, 1, 2.
    Hint: binarise the outcome first
    """

    def __init__(self, subject: str, *, expected: str, found: str, fix: str) -> None:
        self.subject = subject
        self.expected = expected
        self.found = found
        self.fix = fix
        super().__init__(f"{subject}: expected {expected}; found {found}.\nHint: {fix}")
