"""`audit.report.findings`: the ranked, deduplicated findings and what the audit could not tell.

Each selection rule is tested both ways on data with a known answer: an intersection that only
repeats its parent's gap is dropped, one with a gap of its own (an injected interaction) is kept,
and one that breaches while its parents do not is kept for that reason.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from audit.disclosure import publish_verdict, suppress
from audit.gate import Verdict, evaluate_policy
from audit.report.findings import Selection, select_findings
from audit.spec import PolicySpec
from audit.stats.assess import assess
from audit.stats.result import Assessment
from audit.steps.outputs import summary_markdown

SELECTION = {"id": "sr", "metric": "selection_rate", "kind": "difference", "max_abs": 0.1}
RATIO = {"id": "ff", "metric": "selection_rate", "kind": "ratio", "min": 0.8}


def people(
    n: int,
    seed: int,
    *,
    a: float = 0.0,
    b: float = 0.0,
    ab: float = 0.0,
    share_a: float = 0.2,
    share_b: float = 0.3,
    extra: dict[str, int] | None = None,
) -> pd.DataFrame:
    """Two independent attributes (`a`: yes/no, `b`: low/high) and a decision whose chance
    moves by `a` for a=yes, `b` for b=low and `ab` more for both (the interaction)."""
    rng = np.random.default_rng(seed)
    is_a = rng.random(n) < share_a
    is_b = rng.random(n) < share_b
    p = 0.5 + a * is_a + b * is_b + ab * (is_a & is_b)
    frame = pd.DataFrame(
        {
            "a": np.where(is_a, "yes", "no"),
            "b": np.where(is_b, "low", "high"),
            "y": (rng.random(n) < 0.4).astype(int),
            "d": (rng.random(n) < p).astype(int),
        }
    )
    for level, k in (extra or {}).items():  # extra small groups of attribute b
        frame.loc[frame.index[:k], "b"] = level
    return frame


def audited(
    frame: pd.DataFrame, *rules: dict[str, object], seed: int = 0
) -> tuple[Assessment, Verdict]:
    full = assess(
        frame,
        y_true="y",
        y_pred="d",
        groups=["a", "b"],
        intersections=2,
        reference={"a": "no", "b": "high"},
        n_boot=200,
        seed=seed,
    )
    policy = PolicySpec.model_validate({"evidence": "interval", "rules": list(rules)})
    published = suppress(full)
    return published, publish_verdict(evaluate_policy(policy, full), published)


def by_group(selection: Selection) -> dict[tuple[str, ...], str]:
    return {f.levels: f.kept_because for f in (*selection.findings, *selection.dropped)}


@pytest.fixture(scope="module")
def repeated() -> tuple[Assessment, Verdict]:
    # Only a=yes is treated worse: its intersections with b carry the same gap, nothing more.
    return audited(people(20_000, 1, a=-0.25), SELECTION)


def test_an_intersection_that_repeats_its_parents_gap_is_dropped(repeated) -> None:
    selection = select_findings(*repeated)
    kept = by_group(selection)
    assert kept[("yes",)] == "single_attribute"
    assert kept[("yes", "low")] == "repeats" and kept[("yes", "high")] == "repeats"
    assert [f.levels for f in selection.findings] == [("yes",)]
    dropped = {f.levels: f for f in selection.dropped}
    # The parents predict the a=yes gap plus b=low's (about 0): the cell shows just that.
    parent = next(f.value for f in selection.findings if f.levels == ("yes",))
    assert dropped[("yes", "low")].parents_predict == pytest.approx(parent, abs=0.03)


def test_an_intersection_with_a_gap_of_its_own_is_kept() -> None:
    # The gap is injected for a=yes and b=low together: the parents dilute it (a=yes loses
    # 0.3 x 30%, b=low 0.3 x 20%), so their sum predicts about -0.15 where the cell has -0.3.
    selection = select_findings(*audited(people(20_000, 2, ab=-0.3), SELECTION))
    kept = by_group(selection)
    assert kept[("yes", "low")] == "own_gap"
    top = selection.findings[0]
    assert top.levels == ("yes", "low") and top.rank == 1
    assert top.parents_predict is not None and -0.2 < top.parents_predict < -0.1
    assert top.value is not None and top.value < top.parents_predict


def test_an_intersection_that_breaches_while_its_parents_do_not_is_kept() -> None:
    # -0.25 for both together only, on 10% x 20% of people: each parent's gap stays small.
    frame = people(60_000, 3, ab=-0.25, share_a=0.1, share_b=0.2)
    selection = select_findings(*audited(frame, SELECTION))
    kept = by_group(selection)
    assert kept[("yes", "low")] == "only_in_combination"
    assert ("yes",) not in kept and ("low",) not in kept  # both parents pass


def test_no_gap_no_finding() -> None:
    selection = select_findings(*audited(people(20_000, 4), SELECTION))
    assert selection.findings == () and selection.dropped == () and selection.n_breaches == 0


def test_findings_are_ranked_by_status_then_how_far_beyond_the_bound(repeated) -> None:
    published, verdict = audited(people(20_000, 5, a=-0.3, b=-0.15), SELECTION, RATIO)
    selection = select_findings(published, verdict)
    statuses = [f.status for f in selection.findings]
    assert statuses == sorted(statuses, key=lambda s: s != "fail")
    fails = [f for f in selection.findings if f.status == "fail"]
    severities = [f.severity for f in fails]
    assert severities == sorted(severities, reverse=True)  # type: ignore[type-var]
    assert [f.rank for f in selection.findings] == list(range(1, len(selection.findings) + 1))
    # One group breaching both rules is one finding, naming the other rule.
    yes = next(f for f in selection.findings if f.levels == ("yes",))
    assert set(yes.also_breaches) | {yes.rule_id} == {"sr", "ff"}
    assert len({f.key for f in selection.findings}) == len(selection.findings)
    # Severity is in tolerances: a ratio r against 0.8 is (0.8 - r) / 0.2 tolerances beyond,
    # a difference d against 0.1 is (|d| - 0.1) / 0.1.
    for f in (*selection.findings, *selection.dropped):
        assert f.value is not None and f.severity is not None
        if f.kind == "ratio":
            assert f.severity == pytest.approx(max(0.8 - f.value, 0) / 0.2)
        else:
            assert f.severity == pytest.approx(max(abs(f.value) - 0.1, 0) / 0.1)


def test_the_limit_keeps_the_first_and_counts_the_rest(repeated) -> None:
    published, verdict = audited(people(20_000, 6, a=-0.3, b=-0.2), SELECTION)
    full = select_findings(published, verdict)
    short = select_findings(published, verdict, limit=1)
    assert short.findings == full.findings[:1]
    assert short.more_findings == len(full.findings) - 1 + full.more_findings


def test_what_the_audit_could_not_tell() -> None:
    # b has two extra levels: `rare` (6 people: suppressed) and `few` (20: below 30).
    frame = people(4_000, 7, a=-0.05, extra={"rare": 6})
    frame.loc[frame.index[6:26], "b"] = "few"
    published, verdict = audited(frame, SELECTION)
    selection = select_findings(published, verdict, unknown_limit=50)
    reasons = {u.levels: u.reason for u in selection.unknowns}
    assert reasons[("rare",)] == "suppressed" and reasons[("few",)] == "too_small"
    # The intersections of a suppressed group are not listed again.
    assert not any(u.levels[-1:] == ("rare",) and len(u.levels) == 2 for u in selection.unknowns)
    few = next(u for u in selection.unknowns if u.levels == ("few",))
    assert few.n_rows in (20, None) and few.minimum == 30  # None: withheld (secondary)
    rare = next(u for u in selection.unknowns if u.levels == ("rare",))
    assert rare.n_rows is None and rare.minimum == 10
    # A group the data cannot place states the gap the audit could have seen at its size.
    doubtful = [u for u in selection.unknowns if u.reason in ("below_detectable", "cannot_pass")]
    assert doubtful and all(u.detectable is not None and u.detectable > 0 for u in doubtful)
    # Each kind of blind spot comes before a second of any kind.
    first = [u.reason for u in select_findings(published, verdict, unknown_limit=3).unknowns]
    assert len(set(first)) == len(first)


def test_every_published_figure_describes_enough_people() -> None:
    frame = people(4_000, 8, a=-0.2, extra={"rare": 6})
    published, verdict = audited(frame, SELECTION, RATIO)
    selection = select_findings(published, verdict, limit=50, unknown_limit=50)
    for f in (*selection.findings, *selection.dropped):
        assert f.n_rows is None or f.n_rows >= published.settings.min_cell_size
        assert "rare" not in f.levels or f.value is None
    for u in selection.unknowns:
        assert u.n_rows is None or u.n_rows >= published.settings.min_cell_size


def test_only_the_published_form_is_read(repeated) -> None:
    published, verdict = repeated
    with pytest.raises(ValueError, match="published"):
        select_findings(replace(published, disclosure_controlled=False), verdict)


def test_summary_puts_the_key_findings_first_and_drops_the_repeats(repeated) -> None:
    published, verdict = repeated
    text = summary_markdown(verdict, "demo", assessment=published)
    key = text.index("## Key findings")
    assert key < text.index("| rule |") and "## What the audit could not tell" in text
    first = text[key:].splitlines()[2]
    assert first.startswith("1. **FAIL** `sr` a=yes vs no") and "people" in first
    assert "detectable gap" in first
    # Every repeated intersection is counted, not listed, in its rule's section.
    rule = text[text.index("## sr") :]
    assert "yes × low" not in rule.replace("\\", "") and "2 intersections" in rule
    # Without the assessment the summary is the rule-by-rule list, as before.
    assert "## Key findings" not in summary_markdown(verdict, "demo")


def test_a_table_we_did_not_make() -> None:
    """Other column names, levels and labels, 400 rows: the selection still reads it."""
    rng = np.random.default_rng(9)
    n = 400
    frame = pd.DataFrame(
        {
            "Woonsituatie": rng.choice(["eigen huis", "dakloos <b>|"], n, p=[0.8, 0.2]),
            "Leeftijd": rng.choice(["-25", "25+"], n),
            "werk": rng.integers(0, 2, n),
        }
    )
    home = frame["Woonsituatie"] == "eigen huis"
    frame["advies"] = (rng.random(n) < np.where(home, 0.6, 0.1)).astype(int)
    full = assess(frame, y_true="werk", y_pred="advies", groups=["Woonsituatie", "Leeftijd"],
                  intersections=2, reference={"Woonsituatie": "eigen huis"}, n_boot=100)  # fmt: skip
    policy = PolicySpec.model_validate({"rules": [RATIO]})
    published = suppress(full)
    verdict = publish_verdict(evaluate_policy(policy, full), published)
    selection = select_findings(published, verdict)
    assert selection.findings[0].levels == ("dakloos <b>|",)
    text = summary_markdown(verdict, "nieuw", assessment=published)
    assert "<b>" not in text and "dakloos \\<b\\>\\|" in text


def test_an_intersection_less_extreme_than_its_parents_predict_is_dropped() -> None:
    # Both gaps of -0.3 from 0.5 would make -0.6, but a rate cannot go below 0: the cell shows
    # -0.5, beyond the bound yet less than its parents predict. It says nothing new.
    selection = select_findings(*audited(people(20_000, 10, a=-0.3, b=-0.3), SELECTION))
    dropped = {f.levels: f for f in selection.dropped}
    cell = dropped[("yes", "low")]
    assert cell.kept_because == "repeats" and cell.status == "fail"
    assert cell.value is not None and cell.parents_predict is not None
    assert cell.value > cell.parents_predict + 0.05
