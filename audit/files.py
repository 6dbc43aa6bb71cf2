"""Writing output files so that nothing half-written is ever left where a reader looks."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


def write_atomically(path: str | Path, content: str | bytes) -> Path:
    """Writes to a uniquely named temporary file beside `path`, then renames it into place.

    A rename within one folder is atomic, so a reader (or a later audit) sees either the old file
    or the new one, never a partial one, even if the process dies while writing; two writers
    never share a temporary file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; outputs are meant to be shared
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


@contextmanager
def staged_files(paths: Sequence[Path]) -> Iterator[list[Path]]:
    """Temporary files beside `paths` (same suffixes), moved into place together on success.

    For a command that writes several outputs: write each to its temporary path inside the
    block; if anything in the block fails, every temporary file is removed and no target is
    touched, so a command leaves all its files or none.
    """
    temps: list[Path] = []
    try:
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(
                prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent
            )
            os.close(fd)
            temps.append(Path(name))
        yield temps
        for tmp, final in zip(temps, paths, strict=True):
            os.chmod(tmp, 0o644)  # mkstemp makes it private; outputs are meant to be shared
            os.replace(tmp, final)
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
