"""Writing output files so that nothing half-written is ever left where a reader looks."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, content: str | bytes) -> None:
    """Writes to a temporary file beside `path`, then renames it into place.

    A rename within one folder is atomic, so a reader (or a later audit) sees either the old file
    or the new one, never a partial one, even if the process dies while writing.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(content, bytes):
            tmp.write_bytes(content)
        else:
            tmp.write_text(content, encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
