"""A real `audit run` on data with groups of 1, 4, 5 and 8 people: nothing it writes or logs
describes fewer than the minimum of people (10), and one person's exact score appears nowhere.

Every published figure is checked against sizes counted here from the rows with pandas (not by
the code under test): a group, a metric's denominator, a within-stratum cell, a calibration bin,
the positives and negatives behind a cross-AUC cell. The MLflow store is read back with
MlflowClient (metrics, params, tags and every artifact), and every report file is read.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient
from mlflow.entities import ViewType

from audit.disclosure import SUMMARY_METRICS
from audit.gate import Verdict
from audit.metrics.disparities import NAMED_DISPARITIES
from audit.stats.result import Assessment

ROOT = Path(__file__).resolve().parents[2]
MINIMUM = 10
# Two people whose exact scores must never be published: the only member of a group, and the
# only person of a big group in the top calibration bin.
SOLO_SCORE, TOP_SCORE = 0.31415926, 0.98765432
HOSTILE = "[red]x[/]|<b>*_`"
LONG = "z" * 5000
ATTRIBUTES = ("housing", "age", "region")
FACTOR = "edu"

# Which outcome/decision cells each metric's denominator is made of.
DENOMINATOR = {
    **dict.fromkeys(("selection_rate", "base_rate", "accuracy", "ece"), "all"),
    **dict.fromkeys(("tpr", "fnr"), "y1"),
    **dict.fromkeys(("fpr", "tnr"), "y0"),
    **dict.fromkeys(("ppv", "fdr"), "d1"),
    **dict.fromkeys(("npv", "for"), "d0"),
    **dict.fromkeys(("balanced_accuracy", "auc"), "both"),
}
COMPONENTS = {d.name: d.components for d in NAMED_DISPARITIES}


def people(seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    housing = ["stable"] * 2000 + ["homeless"] * 977 + ["solo1"] + ["quad4"] * 4 + ["octo8"] * 8
    n = len(housing)
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "housing": housing,
            # exactly one age group is under the minimum: its size must not be recoverable
            "age": rng.permutation(["<25"] * 1500 + [">25"] * (n - 1505) + ["a/b"] * 5),
            "region": rng.permutation(
                ["north"] * 1400 + ["south"] * (n - 1480) + [HOSTILE] * 40 + [LONG] * 40
            ),
            FACTOR: rng.permutation(["primary"] * 1500 + ["tertiary"] * (n - 1506) + ["rare"] * 6),
            "y": rng.integers(0, 2, n),
            "d": rng.integers(0, 2, n),
            "s": rng.uniform(0.05, 0.85, n).round(6),
        }
    )
    frame.loc[frame["housing"] == "solo1", "s"] = SOLO_SCORE
    frame.loc[frame.index[0], "s"] = TOP_SCORE  # a stable person, alone above 0.85
    return frame


@dataclass(frozen=True)
class Audit:
    frame: pd.DataFrame
    report: Path
    uri: str
    stdout: str


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Audit:
    root = tmp_path_factory.mktemp("sinks")
    frame = people()
    frame.drop(columns=["d", "s"]).to_csv(root / "people.csv", index=False)
    frame[["id", "d", "s"]].to_csv(root / "decisions.csv", index=False)
    uri = f"sqlite:///{root}/mlruns/mlflow.db"
    spec = {
        "name": "tiny-groups",
        "data": {"file": str(root / "people.csv"), "schema": "none"},
        "model": {
            "decisions": {
                "file": str(root / "decisions.csv"),
                "decision_column": "d",
                "score_column": "s",
                "id_column": "id",
            }
        },
        "outcome": "y",
        # The age reference has 5 people: its comparisons must go too, and the notes that say
        # why it is not used for the intersections must not give its size.
        "attributes": [
            {"column": "housing", "reference": "stable"},
            {"column": "age", "reference": "a/b"},
            "region",
        ],
        "intersections": 2,
        "legitimate_factors": [FACTOR],
        "statistics": {"n_boot": 60, "seed": 2, "min_group_size": 6},
        "policy": {
            "rules": [
                {"id": "parity", "metric": "selection_rate", "kind": "difference", "max_abs": 0.3},
                {"id": "odds", "metric": "tpr", "kind": "difference", "max_abs": 0.05},
            ]
        },
        # Every figure, not only the lean default, so that each is checked below.
        "tracking": {"uri": uri, "metrics": "all"},
        "report": {"dir": str(root / "report")},
    }
    (root / "spec.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_DISABLE_TELEMETRY": "true"}
    done = subprocess.run(
        [sys.executable, "-m", "audit.cli", "run", str(root / "spec.yaml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode in (0, 1, 3), done.stderr  # the audit ran; the verdict may be anything
    return Audit(frame, root / "report", uri, done.stdout + done.stderr)


# --- sizes counted from the rows --------------------------------------------------------------


class Truth:
    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def rows(self, attributes: Iterable[str], levels: Iterable[str]) -> pd.DataFrame:
        mask = np.ones(len(self.frame), dtype=bool)
        for a, v in zip(attributes, levels, strict=True):
            mask &= self.frame[a].astype(str).to_numpy() == v
        return self.frame[mask]

    @staticmethod
    def denominator(rows: pd.DataFrame, metric: str) -> int:
        cells = DENOMINATOR[metric]
        if cells == "all":
            return len(rows)
        if cells == "both":
            return int(min((rows["y"] == 1).sum(), (rows["y"] == 0).sum()))
        column, value = {"y1": ("y", 1), "y0": ("y", 0), "d1": ("d", 1), "d0": ("d", 0)}[cells]
        return int((rows[column] == value).sum())

    def metric_people(
        self, metric: str, attributes: tuple[str, ...], levels: tuple[str, ...]
    ) -> int:
        """The fewest people behind the metric (or a named disparity's components) of a group."""
        rows = self.rows(attributes, levels)
        names = COMPONENTS.get(metric, (metric,))
        return min([len(rows), *(self.denominator(rows, m) for m in names)])

    def in_bin(self, attributes, levels, low: float, high: float) -> int:
        rows = self.rows(attributes, levels)
        # As the score tables bin: the score on the 1/1000 grid, ten bins, 1.0 in the last one.
        grid = np.rint(rows["s"].to_numpy() * 1000).astype(int)
        index = np.minimum(grid * 10 // 1000, 9)
        return int(((index >= round(low * 10)) & (index < round(high * 10))).sum())


def described(truth: Truth, a: Assessment) -> Iterable[tuple[str, int]]:
    """(what, how many people) for every figure the published assessment carries."""
    reference = {g.attributes: g.levels for g in a.groups if g.is_reference}
    for g in a.groups:
        if g.n_rows is not None or g.weight is not None:
            yield f"group {g.levels}", len(truth.rows(g.attributes, g.levels))
    for m in a.metrics:
        if any(x is not None for x in (m.value, m.ci_low, m.ci_high, m.denominator_rows)):
            yield f"{m.metric} {m.levels}", truth.metric_people(m.metric, m.attributes, m.levels)
    for m in a.overall:
        if m.value is not None:
            yield f"overall {m.metric}", truth.metric_people(m.metric, (), ())
    for d in a.disparities:
        if any(x is not None for x in (d.value, d.ci_low, d.p_value, d.detectable)):
            yield (
                f"{d.metric} {d.kind} {d.levels}",
                truth.metric_people(d.metric, d.attributes, d.levels),
            )
            yield f"{d.metric} ref", truth.metric_people(d.metric, d.attributes, d.reference_levels)
    for c in a.conditional:
        if any(x is not None for x in (c.value, c.unconditional, c.coverage)):
            yield f"conditional {c.levels}", truth.metric_people(c.metric, c.attributes, c.levels)
            yield "conditional ref", truth.metric_people(c.metric, c.attributes, c.reference_levels)
    for w in a.within_strata:
        cell = truth.rows((*w.attributes, w.factor), (*w.levels, w.factor_level))
        ref = truth.rows((*w.attributes, w.factor), (*w.reference_levels, w.factor_level))
        if w.n_rows is not None:
            yield f"stratum {w.levels} {w.factor_level}", len(cell)
        if w.reference_n_rows is not None:
            yield f"stratum ref {w.factor_level}", len(ref)
        if w.value is not None or w.denominator_rows is not None:
            yield (
                f"stratum {w.metric} {w.levels}",
                min(len(cell), truth.denominator(cell, w.metric)),
            )
        if w.difference is not None:
            yield f"stratum ref {w.metric}", min(len(ref), truth.denominator(ref, w.metric))
    for s in a.summaries:
        if s.value is not None or (s.detail is not None and "suppressed" not in s.detail):
            for g in (g for g in a.groups if g.attributes == s.attributes):
                for metric in SUMMARY_METRICS[s.measure]:
                    yield (
                        f"summary {s.measure}",
                        truth.metric_people(metric, g.attributes, g.levels),
                    )
    for w in a.worst_groups:
        if w.difference is not None:
            yield f"worst {w.levels}", truth.metric_people(w.metric, w.attributes, w.levels)
            ref = reference[w.attributes]
            yield "worst ref", truth.metric_people(w.metric, w.attributes, ref)
    for x in a.cross_auc:
        if x.value is not None:
            yield (
                f"xauc {x.positive_levels}",
                truth.metric_people("tpr", x.attributes, x.positive_levels),
            )
            yield (
                f"xauc {x.negative_levels}",
                truth.metric_people("fpr", x.attributes, x.negative_levels),
            )
    for b in a.reliability:
        if any(v is not None for v in (b.weight, b.mean_score, b.observed_rate, b.n_rows)):
            count = truth.in_bin(b.attributes, b.levels, b.bin_low, b.bin_high)
            yield f"bin {b.levels} {b.bin_low}-{b.bin_high}", count
    for r in a.references:
        if r.n_rows is not None:
            yield f"reference {r.levels}", len(truth.rows(r.attributes, r.levels))


# --- what left the process --------------------------------------------------------------------


def mlflow_texts(uri: str, folder: Path) -> tuple[dict[str, float], dict[str, str], dict[str, str]]:
    client = MlflowClient(tracking_uri=uri)
    experiments = client.search_experiments(view_type=ViewType.ALL)
    (run,) = client.search_runs([e.experiment_id for e in experiments])
    texts = {f"param {k}": v for k, v in run.data.params.items()}
    texts |= {f"tag {k}": v for k, v in run.data.tags.items()}
    local = Path(client.download_artifacts(run.info.run_id, "", str(folder)))
    artifacts = {p.name: readable(p) for p in local.rglob("*") if p.is_file()}
    return run.data.metrics, texts, artifacts


def readable(path: Path) -> str:
    """A result file as text; the PDF report as the text a reader (or a scraper) gets from it."""
    if path.suffix == ".pdf":
        return subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
    return path.read_text(encoding="utf-8")


def test_no_published_figure_describes_fewer_than_the_minimum(audit: Audit) -> None:
    published = Assessment.from_json((audit.report / "assessment.json").read_text("utf-8"))
    assert published.disclosure_controlled and published.settings.min_cell_size == MINIMUM
    truth = Truth(audit.frame)
    small = [(what, n) for what, n in described(truth, published) if n < MINIMUM]
    assert small == []
    # The tiny groups are there, marked, with nothing of them published.
    marked = {g.levels for g in published.groups if g.suppressed}
    assert {("solo1",), ("quad4",), ("octo8",), ("a/b",)} <= marked
    assert any(m.suppressed for m in published.metrics)
    assert any(b.suppressed for b in published.reliability)
    texts = [*published.notes, *(r.reason or "" for r in published.references)]
    counts = [int(n) for t in texts for n in re.findall(r"has (\d+) people", t)]
    assert all(n >= MINIMUM for n in counts), texts
    assert any("fewer than 10 people" in t for t in texts)


def test_no_size_can_be_recovered_by_subtraction(audit: Audit) -> None:
    published = Assessment.from_json((audit.report / "assessment.json").read_text("utf-8"))
    by_attribute: dict[tuple[str, ...], list[int | None]] = {}
    for g in published.groups:
        by_attribute.setdefault(g.attributes, []).append(g.n_rows)
    for attributes, sizes in by_attribute.items():
        assert sizes.count(None) != 1, attributes  # a total minus the others would give it
    age = {g.levels[0]: g.n_rows for g in published.groups if g.attributes == ("age",)}
    assert age["a/b"] is None and None in (age["<25"], age[">25"])
    # Each intersection cell's sizes add up to its parents': no sum has one unknown term.
    sizes = {(g.attributes, g.levels): g.n_rows for g in published.groups}
    for (attributes, levels), _ in sizes.items():
        if len(attributes) != 2:
            continue
        for keep in (0, 1):
            parent = sizes[((attributes[keep],), (levels[keep],))]
            row = [
                n for (a, lv), n in sizes.items() if a == attributes and lv[keep] == levels[keep]
            ]
            assert [*row, parent].count(None) != 1, (attributes, levels, keep)


def test_every_mlflow_metric_decodes_to_a_record_of_enough_people(
    audit: Audit, tmp_path: Path
) -> None:
    metrics, _, artifacts = mlflow_texts(audit.uri, tmp_path)
    published = Assessment.from_json(artifacts["assessment.json"])
    keys = json.loads(artifacts["metric_keys.json"])["keys"]
    assert set(metrics) == set(keys)
    truth = Truth(audit.frame)
    for key in metrics:
        entry = keys[key]
        if entry["table"] in ("gate_groups", "verdict"):  # counts of groups and rules, of no one
            continue
        attributes = tuple(entry.get("attributes", ()))
        if entry["table"] == "overall":
            fewest = truth.metric_people(entry["metric"], (), ())
        elif entry["table"] == "worst_groups":  # a group and its reference
            levels = tuple(entry["levels"])
            reference = next(
                g.levels for g in published.groups if g.attributes == attributes and g.is_reference
            )
            fewest = min(
                truth.metric_people(entry["metric"], attributes, lv) for lv in (levels, reference)
            )
        elif entry["levels"] is None:  # a summary: every group of the attribute
            groups = [g.levels for g in published.groups if g.attributes == attributes]
            names = SUMMARY_METRICS[entry["metric"]]
            fewest = min(truth.metric_people(m, attributes, lv) for m in names for lv in groups)
        else:
            fewest = truth.metric_people(entry["metric"], attributes, tuple(entry["levels"]))
        assert fewest >= MINIMUM, (key, fewest)
    assert all(len(k) <= 250 for k in metrics)


def test_no_exact_score_of_one_person_appears_anywhere(audit: Audit, tmp_path: Path) -> None:
    metrics, texts, artifacts = mlflow_texts(audit.uri, tmp_path)
    files = {p.name: readable(p) for p in audit.report.iterdir()}
    everything = {**texts, **{f"artifact {k}": v for k, v in artifacts.items()}, **files}
    everything["terminal"] = audit.stdout
    for score in (SOLO_SCORE, TOP_SCORE):
        digits = f"{score:.6f}"[:7]  # 0.31415, 0.98765: any rounding of the exact score
        assert [name for name, text in everything.items() if digits in text] == []
        assert not [k for k, v in metrics.items() if abs(v - score) < 1e-6]
    # The full assessment would have carried it: the lone top-bin person is the bin's mean.
    assert "0.98765432" not in files["assessment.json"]


def test_the_report_files_name_no_suppressed_group(audit: Audit) -> None:
    verdict = Verdict.from_json((audit.report / "verdict.json").read_text("utf-8"))
    truth = Truth(audit.frame)
    for rule in verdict.rules:
        for g in [*rule.groups, *rule.findings]:
            if g.value is not None or g.ci_low is not None:
                assert truth.metric_people(g.metric, g.attributes, g.levels) >= MINIMUM
                assert truth.metric_people(g.metric, g.attributes, g.reference_levels) >= MINIMUM
        for f in rule.findings:  # only a finding that decides may name a suppressed group
            if not f.decides:
                assert truth.metric_people(f.metric, f.attributes, f.levels) >= MINIMUM, f
    # A SMALL_GROUP finding about a tiny group would say its gap lies beyond the bound: none is
    # published. With min_group_size 6 the group of 8 people counts for the gate, and a
    # finding that decides names its group with the figures withheld.
    for name in ("summary.md", "junit.xml"):
        text = (audit.report / name).read_text("utf-8")
        for line in text.splitlines():
            if re.search(r"solo1|quad4|octo8|a/b", line):
                said = ("figures are not published", f"fewer than {MINIMUM} people")
                assert any(words in line for words in said), (name, line)
        assert "z" * 100 not in text  # the 5,000-character label is bounded for display
        assert "|<b>" not in text  # escaped: no table cell boundary, no tag
    summary = (audit.report / "summary.md").read_text("utf-8")
    assert "\\[red\\]x\\[/\\]\\|\\<b\\>\\*\\_\\`" in summary  # the label, shown as written
    ET.parse(audit.report / "junit.xml")  # well-formed XML
