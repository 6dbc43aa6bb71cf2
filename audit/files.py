"""Writing output files so that nothing half-written is ever left where a reader looks."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from audit.errors import AuditInputError


def write_atomically(path: str | Path, content: str | bytes) -> Path:
    """Writes to a uniquely named temporary file beside `path`, then renames it into place.

    A rename within one folder is atomic, so a reader (or a later audit) sees either the old file
    or the new one, never a partial one, even if the process dies while writing; two writers
    never share a temporary file.
    """
    target = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; outputs are meant to be shared
        os.replace(tmp, target)
    except OSError as err:
        raise unwritable(target, err) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return target


@contextmanager
def staged_files(paths: Sequence[Path]) -> Iterator[list[Path]]:
    """Temporary files beside `paths` (same suffixes), moved into place together on success.

    For a command that writes several outputs: write each to its temporary path inside the
    block; if anything in the block fails, every temporary file is removed and no target is
    touched, so a command leaves all its files or none. The move itself is all or nothing too:
    each file replaced keeps a hard link to its old content until every move succeeded, and a
    failed move puts the old files back.
    """
    paths = list(paths)  # an iterator would be used up by the staging
    temps: list[Path] = []
    try:
        for path in paths:
            # The name is kept before the file exists: an interruption (SIGTERM raised as an
            # exception) between creating the file and keeping its name would leave it behind.
            temps.append(_temp_name(path))
            _create(temps[-1], path)
        try:
            yield temps
        except OSError as err:  # name the user's file, not our temporary one
            named = dict(zip(map(str, temps), paths, strict=True))
            target = named.get(str(err.filename))
            if target is None:
                raise
            raise unwritable(target, err) from None
        _move_together(temps, paths)
    finally:
        for tmp in temps:
            # A temp that was never made under a parent that is a file raises ENOTDIR, not
            # "missing": the clean-up must not replace the message about the user's path.
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}")


def _create(tmp: Path, path: Path) -> None:
    """Create `tmp` (private, as mkstemp would; it is made readable when moved into place)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as err:
        raise unwritable(path, err) from None


def _move_together(temps: Sequence[Path], paths: Sequence[Path]) -> None:
    kept: list[tuple[Path, Path | None]] = []  # (target, its old content or None if new)
    try:
        for tmp, final in zip(temps, paths, strict=True):
            os.chmod(tmp, 0o644)  # mkstemp makes it private; outputs are meant to be shared
            kept.append((final, _keep_old(final)))
            os.replace(tmp, final)
    except BaseException as err:  # an interruption too: never a report half old, half new
        for final, old in reversed(kept):
            with contextlib.suppress(OSError):
                if old is not None:
                    os.replace(old, final)
                else:
                    final.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise unwritable(kept[-1][0] if kept else paths[0], err) from None
        raise
    finally:
        for _, old in kept:
            if old is not None:
                old.unlink(missing_ok=True)


def _keep_old(path: Path) -> Path | None:
    """A second name for the file about to be replaced (a hard link, else a copy)."""
    if not path.is_file():
        return None
    keep = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.old")
    try:
        os.link(path, keep)
    except OSError:  # a file system without hard links
        shutil.copy2(path, keep)
    return keep


class UnwritableOutput(AuditInputError, OSError):
    """An output that cannot be written: our message, and still the OSError that it is."""


def unwritable(path: Path, err: OSError) -> UnwritableOutput:
    """The message for an output that cannot be written, naming the user's path."""
    return UnwritableOutput(
        f"output '{path}'",
        expected="a place this user can write",
        found=err.strerror or type(err).__name__,
        fix="choose another output path, or fix the folder's permissions and free space",
    )


def require_writable(path: Path, *, subject: str, folder: bool) -> None:
    """Fails now, before any work, when `path` (a file, or a folder) could not be written later.

    The nearest folder that exists must be a folder this user can create a file in: a probe
    file is created there and removed at once (permission bits alone miss read-only mounts and
    access lists). Nothing else is created: a folder still missing is made only when the
    results are written.
    """
    fix = "choose another path, or create the folder and give this user write access"
    if path.is_dir() and not folder:
        raise AuditInputError(
            subject, expected="a file path", found=f"'{path}' is a directory", fix=fix
        )
    if path.exists() and not path.is_dir() and folder:
        raise AuditInputError(subject, expected="a folder", found=f"'{path}' is a file", fix=fix)
    base = path if folder else path.parent
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise AuditInputError(
            subject,
            expected="a path whose folders can be created",
            found=f"'{base}' is a file, so no folder can be made inside it",
            fix=fix,
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".audit-write-probe-", dir=base)
    except OSError as err:
        raise AuditInputError(
            subject,
            expected="a folder this user can write",
            found=f"'{base}': {err.strerror or type(err).__name__}",
            fix=fix,
        ) from None
    os.close(fd)
    os.unlink(probe)
