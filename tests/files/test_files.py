"""Output files: shared permissions, and a command leaves all its files or none."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from audit.files import UnwritableOutput, staged_files, write_atomically


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_atomically_written_file_is_readable_by_others(tmp_path: Path) -> None:
    # mkstemp creates 0600 files; an output that only its writer can read breaks the CI job
    # that publishes it. The mode is set explicitly, so the umask does not matter.
    target = write_atomically(tmp_path / "verdict.json", '{"status": "pass"}')
    assert target.read_text(encoding="utf-8") == '{"status": "pass"}'
    assert _mode(target) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["verdict.json"]  # no temporary left


def test_staged_files_land_together_with_shared_permissions(tmp_path: Path) -> None:
    targets = [tmp_path / "assessment.json", tmp_path / "verdict.json", tmp_path / "summary.md"]
    with staged_files(targets) as temps:
        assert len(temps) == 3 and all(t.parent == tmp_path for t in temps)
        assert [t.suffix for t in temps] == [".json", ".json", ".md"]
        for i, tmp in enumerate(temps):
            tmp.write_text(f"file {i}", encoding="utf-8")
        assert not any(t.exists() for t in targets)  # nothing in place before the block ends
    assert [t.read_text(encoding="utf-8") for t in targets] == ["file 0", "file 1", "file 2"]
    assert all(_mode(t) == 0o644 for t in targets)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(t.name for t in targets)


def test_a_failure_inside_the_block_leaves_the_old_files_untouched(tmp_path: Path) -> None:
    targets = [tmp_path / "a.json", tmp_path / "b.json"]
    for t in targets:
        t.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), staged_files(targets) as temps:
        temps[0].write_text("new", encoding="utf-8")
        raise RuntimeError("the second file could not be made")
    assert [t.read_text(encoding="utf-8") for t in targets] == ["old", "old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]


def test_a_target_that_cannot_be_staged_touches_nothing(tmp_path: Path) -> None:
    # The second target's folder is a file: staging fails before anything is written.
    blocker = tmp_path / "reports"
    blocker.write_text("not a folder", encoding="utf-8")
    first = tmp_path / "a.json"
    first.write_text("old", encoding="utf-8")
    with pytest.raises(OSError), staged_files([first, blocker / "b.json"]):
        pytest.fail("the block must not run when a target cannot be staged")
    assert first.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "reports"]


def test_paths_given_once_are_all_written_or_the_call_fails(tmp_path: Path) -> None:
    # Targets passed as a one-shot iterator: an implementation must either place every file or
    # fail loudly; silently placing none (temporaries matched to an exhausted iterator) would
    # leave the caller believing its report was written.
    names = ["assessment.json", "verdict.json"]
    targets = (tmp_path / n for n in names)
    try:
        with staged_files(targets) as temps:  # type: ignore[arg-type]
            for tmp in temps:
                tmp.write_text("new", encoding="utf-8")
    except (ValueError, TypeError):
        assert list(tmp_path.iterdir()) == []
        return
    assert sorted(p.name for p in tmp_path.iterdir()) == names


def test_a_move_that_fails_half_way_puts_every_old_file_back(tmp_path: Path) -> None:
    # The point where it could go wrong: two files are already moved into place when the third
    # move fails (its target is a folder, which no file may replace). The first keeps its old
    # content, the second, new, is gone again, and nothing is left beside them (issue 14).
    old, new, folder = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    old.write_text("old", encoding="utf-8")
    folder.mkdir()
    with (
        pytest.raises(UnwritableOutput, match=r"c\.json"),
        staged_files([old, new, folder]) as temps,
    ):
        for tmp in temps:
            tmp.write_text("new", encoding="utf-8")
    assert old.read_text(encoding="utf-8") == "old"
    assert not new.exists() and folder.is_dir() and list(folder.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "c.json"]
