"""Output files, by hand: require_writable's checks and messages, staging failures and fallbacks.

Tests run as root in CI, and root can write into a read-only folder, so a read-only folder is
simulated by making the probe's mkstemp fail with the error the OS would give (EACCES).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

import pytest

from audit.errors import AuditInputError
from audit.files import UnwritableOutput, require_writable, staged_files, unwritable

FIX = "Hint: choose another path, or create the folder and give this user write access"


def _spy_mkstemp(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Record (dir, created name) of every mkstemp call, creating the files for real."""
    calls: list[tuple[str, str]] = []
    real = tempfile.mkstemp

    def spy(*args: object, **kwargs: object) -> tuple[int, str]:
        fd, name = real(*args, **kwargs)  # type: ignore[call-overload]
        calls.append((str(kwargs.get("dir")), name))
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", spy)
    return calls


def test_a_directory_given_as_a_file_is_refused_with_path_and_fix(tmp_path: Path) -> None:
    """A folder where a file path is expected: subject, 'expected a file path', the path, fix."""
    with pytest.raises(AuditInputError) as info:
        require_writable(tmp_path, subject="--out", folder=False)
    msg = str(info.value)
    assert msg.startswith("--out: expected a file path; found ")
    assert f"'{tmp_path}' is a directory" in msg
    assert FIX in msg


def test_a_file_given_as_a_folder_is_refused_with_path_and_fix(tmp_path: Path) -> None:
    """A file where a folder is expected: subject, 'expected a folder', the path, fix."""
    target = tmp_path / "report.json"
    target.write_text("{}", encoding="utf-8")
    with pytest.raises(AuditInputError) as info:
        require_writable(target, subject="--out-dir", folder=True)
    msg = str(info.value)
    assert msg.startswith("--out-dir: expected a folder; found ")
    assert f"'{target}' is a file" in msg
    assert FIX in msg


def test_valid_destinations_pass_and_leave_nothing_behind(tmp_path: Path) -> None:
    """An existing folder (folder=True), an existing file to overwrite and a new file pass."""
    existing = tmp_path / "old.json"
    existing.write_text("old", encoding="utf-8")
    require_writable(tmp_path, subject="--out-dir", folder=True)
    require_writable(existing, subject="--out", folder=False)
    require_writable(tmp_path / "new.json", subject="--out", folder=False)
    require_writable(tmp_path / "new-dir", subject="--out-dir", folder=True)
    assert [p.name for p in tmp_path.iterdir()] == ["old.json"]  # probe removed, no folder made
    assert existing.read_text(encoding="utf-8") == "old"


def test_the_probe_is_a_hidden_file_in_the_nearest_existing_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Missing folders are walked up to the nearest existing one, which gets the probe."""
    inner = tmp_path / "d"
    inner.mkdir()
    calls = _spy_mkstemp(monkeypatch)
    require_writable(tmp_path / "a" / "b" / "out.json", subject="--out", folder=False)
    require_writable(tmp_path / "x" / "y", subject="--out-dir", folder=True)
    require_writable(inner, subject="--out-dir", folder=True)  # the folder itself, not its parent
    assert [d for d, _ in calls] == [str(tmp_path), str(tmp_path), str(inner)]
    assert all(Path(name).name.startswith(".") for _, name in calls)  # hidden from listings
    assert not any(Path(name).exists() for _, name in calls)
    assert not (tmp_path / "a").exists() and not (tmp_path / "x").exists()


def test_a_file_in_the_way_of_missing_folders_is_named(tmp_path: Path) -> None:
    """reports/ is a file, so reports/2024/out.json can never be made: say which file blocks."""
    blocker = tmp_path / "reports"
    blocker.write_text("not a folder", encoding="utf-8")
    for path, folder in ((blocker / "2024" / "out.json", False), (blocker / "2024", True)):
        with pytest.raises(AuditInputError) as info:
            require_writable(path, subject="--out", folder=folder)
        msg = str(info.value)
        assert msg.startswith("--out: expected a path whose folders can be created; found ")
        assert f"'{blocker}' is a file, so no folder can be made inside it" in msg
        assert FIX in msg


def test_a_read_only_folder_is_reported_with_the_os_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe fails (simulated EACCES, as root ignores modes): folder, reason and fix."""

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(AuditInputError) as info:
        require_writable(tmp_path / "out.json", subject="--out", folder=False)
    msg = str(info.value)
    assert msg.startswith("--out: expected a folder this user can write; found ")
    assert f"'{tmp_path}': Permission denied." in msg
    assert FIX in msg
    assert info.value.__suppress_context__  # `from None`: no OS traceback chained


def test_a_probe_error_without_a_reason_names_its_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OSError with no strerror still says something: its class name."""

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError()

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(AuditInputError, match=rf"found '{tmp_path}': OSError\."):
        require_writable(tmp_path, subject="--out-dir", folder=True)


def test_unwritable_message_names_the_path_the_reason_and_the_fix() -> None:
    """unwritable(): output path, 'a place this user can write', strerror (else type), fix."""
    err = unwritable(Path("out/v.json"), PermissionError(errno.EACCES, "Permission denied"))
    assert isinstance(err, UnwritableOutput) and isinstance(err, OSError)
    assert str(err) == (
        "output 'out/v.json': expected a place this user can write; found Permission denied.\n"
        "Hint: choose another output path, or fix the folder's permissions and free space"
    )
    assert unwritable(Path("v.json"), OSError()).found == "OSError"


def test_a_temporary_that_cannot_be_created_names_the_users_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """_create fails (simulated EACCES): UnwritableOutput names the target, not the temporary."""
    real_open = os.open

    def refuse(path: object, *args: object, **kwargs: object) -> int:
        if ".tmp" in str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refuse)
    target = tmp_path / "reports" / "b.json"
    with pytest.raises(UnwritableOutput) as info, staged_files([target]):
        pytest.fail("the block must not run")
    assert info.value.subject == f"output '{target}'"
    assert info.value.found == "Permission denied"
    assert info.value.__suppress_context__


def test_staging_under_a_file_names_the_users_path_and_the_reason(tmp_path: Path) -> None:
    """_create fails (parent is a file): UnwritableOutput names the target, with the OS reason."""
    blocker = tmp_path / "reports"
    blocker.write_text("x", encoding="utf-8")
    target = blocker / "b.json"
    with pytest.raises(UnwritableOutput) as info, staged_files([target]):
        pytest.fail("the block must not run")
    assert info.value.subject == f"output '{target}'"
    # The OS's own words: making the folder finds the file there (EEXIST), or a call under it
    # finds no folder (ENOTDIR); before the fix, the clean-up's ENOTDIR replaced the message.
    assert info.value.found in (os.strerror(errno.EEXIST), os.strerror(errno.ENOTDIR))


def test_staging_creates_missing_nested_folders_and_private_temporaries(tmp_path: Path) -> None:
    """Targets in folders not yet made get them (all levels); temporaries are 0600 until moved."""
    target = tmp_path / "a" / "b" / "out.json"
    with staged_files([target]) as temps:
        assert stat.S_IMODE(temps[0].stat().st_mode) == 0o600
        temps[0].write_text("new", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_without_hard_links_old_files_are_copied_and_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a file system without hard links the old content is kept by copy: a good move works,
    and a move failing half way still puts the old file back, leaving no copy behind."""

    def no_link(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    first = tmp_path / "a.json"
    first.write_text("old", encoding="utf-8")
    with staged_files([first]) as temps:
        temps[0].write_text("new", encoding="utf-8")
    assert first.read_text(encoding="utf-8") == "new"
    folder = tmp_path / "c.json"
    folder.mkdir()
    with pytest.raises(UnwritableOutput), staged_files([first, folder]) as temps:
        for tmp in temps:
            tmp.write_text("newer", encoding="utf-8")
    assert first.read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "c.json"]


def test_a_first_move_failing_names_the_first_target(tmp_path: Path) -> None:
    """If the very first file cannot be moved (its temporary vanished), the error names it."""
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    with pytest.raises(UnwritableOutput) as info, staged_files([first, second]) as temps:
        temps[1].write_text("new", encoding="utf-8")
        temps[0].unlink()
    assert info.value.subject == f"output '{first}'"
    assert list(tmp_path.iterdir()) == []
