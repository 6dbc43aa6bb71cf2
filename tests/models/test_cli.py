"""`audit model train|check` through the real entry point: exit codes and files written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.cli import EXIT_INPUT_ERROR, EXIT_OK, main
from audit.models.importing import load_model


def run(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> tuple[int, str, str]:
    """Run `audit ARGS` in this process the way the console script does."""
    monkeypatch.setattr(sys, "argv", ["audit", *args])
    code = EXIT_OK
    try:
        main()
    except SystemExit as stop:
        code = int(stop.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def nsw_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from audit.models.public_data import load_nsw

    path = tmp_path_factory.mktemp("data") / "nsw.csv"
    load_nsw().to_csv(path, index=False)
    return path


def test_train_on_public_data_then_check_each_artefact(
    tmp_path: Path, nsw_csv: Path, tracking_uri: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    out, onnx_out = tmp_path / "nsw.skops", tmp_path / "nsw.onnx"
    code, stdout, stderr = run(
        ["model", "train", "--dataset", "nsw_lalonde", "--kind", "profiling",
         "--out", str(out), "--onnx-out", str(onnx_out), "--tracking-uri", tracking_uri,
         "--register", "nsw-profiling", "--alias", "champion"], monkeypatch, capsys)
    assert code == EXIT_OK, stderr
    assert "registered: models:/nsw-profiling@champion (version 1)" in stdout
    data = pd.read_csv(nsw_csv)
    reference = load_model(out).predict_proba(data)
    np.testing.assert_allclose(load_model(onnx_out).predict_proba(data), reference, atol=1e-5)
    for source in (str(out), str(onnx_out), "models:/nsw-profiling@champion"):
        code, stdout, stderr = run(["model", "check", source, "--data", str(nsw_csv),
                                    "--tracking-uri", tracking_uri], monkeypatch, capsys)
        assert code == EXIT_OK, stderr
        assert "reads 7 columns: age (numeric), education_years (numeric)" in stdout
        assert f"mean predicted probability of class 1: {reference[:, 1].mean():.3f}" in stdout
        # Our profiling model speaks of work and bands where it says what it is (ONNX metadata,
        # the MLflow run); the skops file does not record its task, so it gets the plain terms.
        ours = source != str(out)
        assert (f"mean predicted chance of work: {reference[:, 1].mean():.3f}" in stdout) == ours
        assert ("band high:" in stdout) == ours
    assert "registry: nsw-profiling version 1" in stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model", "train", "--kind", "ranking", "--out", "{tmp}/m.skops"],
         "error: --kind: expected one of profiling, track; found 'ranking'."),
        (["model", "train", "--dataset", "nsw_lalonde", "--out", "{tmp}/m.pkl"],
         "error: --out: expected a file name ending in .skops; found '{tmp}/m.pkl'."),
        (["model", "train", "--dataset", "nsw_lalonde", "--out", "{tmp}/m.skops",
          "--register", "x"],
         "error: --register/--alias: expected an MLflow store to register in; found no "
         "--tracking-uri."),
        (["model", "train", "--dataset", "nsw_lalonde", "--out", "{tmp}/m.skops",
          "--target", "earnings_1978"],
         "error: target column 'earnings_1978': expected both outcomes 0 and 1"),
        (["model", "check", "{tmp}/m.txt", "--dataset", "nsw_lalonde"],
         "error: model source '{tmp}/m.txt': expected an MLflow URI"),
        (["model", "check", "models:/absent@champion", "--dataset", "nsw_lalonde",
          "--tracking-uri", "sqlite:///{tmp}/empty.db"],
         "error: MLflow model 'models:/absent@champion': expected a model that exists"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    args: list[str], message: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    before = set(tmp_path.iterdir())
    code, _, stderr = run([a.format(tmp=tmp_path) for a in args], monkeypatch, capsys)
    assert code == EXIT_INPUT_ERROR
    assert message.format(tmp=tmp_path) in stderr
    written = {p.name for p in set(tmp_path.iterdir()) - before}
    assert written <= {"empty.db", "mlartifacts"}  # MLflow creates its store on first contact


def test_a_model_from_elsewhere_is_described_by_its_own_classes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    # A hiring screen of another maker: other columns, classes named in words, 400 people.
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"years_experience": rng.uniform(0, 30, 400),
                          "test_score": rng.normal(60, 10, 400)})
    verdict = np.where(frame["test_score"] + rng.normal(0, 5, 400) > 62, "invite", "decline")
    clf = LogisticRegression().fit(frame, verdict)
    sio.dump(clf, tmp_path / "screen.skops")
    frame.to_csv(tmp_path / "applicants.csv", index=False)
    code, stdout, stderr = run(["model", "check", str(tmp_path / "screen.skops"), "--data",
                                str(tmp_path / "applicants.csv")], monkeypatch, capsys)
    assert code == EXIT_OK, stderr
    invited = np.mean(clf.predict(frame) == "invite")
    assert "(skops, a classifier of 2 classes)" in stdout
    assert "classes: decline, invite" in stdout
    assert f"predicted invite: {invited:.1%}" in stdout
    proba = clf.predict_proba(frame)[:, 1].mean()
    assert f"mean predicted probability of class invite: {proba:.3f}" in stdout
    for our_term in ("chance of work", "band", "profiling"):
        assert our_term not in stdout


def test_check_reports_missing_columns(
    tmp_path: Path, nsw_csv: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "m.skops"
    assert run(["model", "train", "--dataset", "nsw_lalonde", "--out", str(out)],
               monkeypatch, capsys)[0] == EXIT_OK
    partial = tmp_path / "partial.csv"
    pd.read_csv(nsw_csv).drop(columns=["earnings_1975"]).to_csv(partial, index=False)
    code, _, stderr = run(["model", "check", str(out), "--data", str(partial)],
                          monkeypatch, capsys)
    assert code == EXIT_INPUT_ERROR
    assert "found missing columns 'earnings_1975'." in stderr


def test_failed_onnx_output_leaves_no_skops_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, _ = run(["model", "train", "--dataset", "nsw_lalonde", "--out",
                      str(tmp_path / "m.skops"), "--onnx-out", str(tmp_path / "m.onx")],
                     monkeypatch, capsys)
    assert code == EXIT_INPUT_ERROR
    assert list(tmp_path.iterdir()) == []


def test_console_script_exits_2(tmp_path: Path) -> None:
    bogus = tmp_path / "model.onnx"
    bogus.write_text("hello")
    done = subprocess.run(
        [sys.executable, "-m", "audit.cli", "model", "check", str(bogus), "--dataset",
         "nsw_lalonde"], capture_output=True, text=True, check=False,
    )
    assert done.returncode == 2
    assert f"error: model file '{bogus}': expected an ONNX model" in done.stderr
