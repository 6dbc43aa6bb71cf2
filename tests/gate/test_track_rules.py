"""Gate rules that name a track: each verdict drawn both ways, a misspelt track refused with
the closest spelling, and the track figures carried to the published verdict, the summary and
the MLflow keys."""

from __future__ import annotations

import json

import pytest

from audit.disclosure import publish_verdict, suppress
from audit.errors import AuditInputError
from audit.gate import evaluate_policy
from audit.spec import PolicySpec, parse_spec
from audit.stats.assess import assess
from audit.stats.result import Assessment
from audit.stats.simulate import simulate_decisions
from audit.steps.outputs import summary_markdown
from audit.tracking.naming import decode_key, flatten_metrics, metric_key_document
from tests.stats.test_tracks import _factor_log, _log, _tracks

RATIO = {
    "id": "no-sheltered-steering",
    "metric": "track_share",
    "track": "sheltered_work",
    "kind": "ratio",
    "max": 1.25,
    "attributes": [["psych"]],
}
SIGNIFICANT = {
    "id": "no-significant-track-gap",
    "no_significant_disparity": ["track_share"],
    "track": "sheltered_work",
}


def _verdict(result: Assessment, *rules: dict[str, object]):  # type: ignore[no-untyped-def]
    return evaluate_policy(PolicySpec.model_validate({"rules": list(rules)}), result)


def test_a_steered_track_fails_the_rule_for_that_group_only() -> None:
    result = _tracks(_log(8000, 21, steer={"psych=yes": 0.12}), n_boot=200)
    verdict = _verdict(result, RATIO, SIGNIFICANT)
    assert verdict.status == "fail"
    ratio, significant = verdict.rules
    assert ratio.status == "fail" and significant.status == "fail"
    failing = list(verdict.failures)
    assert failing and all(f.track == "sheltered_work" for f in failing)
    # only the steered group: psych=yes, never a gender or region group (groupings without
    # psych are read by the significance rule, and find nothing)
    assert {(f.attributes, f.levels) for f in failing} == {(("psych",), ("yes",))}
    assert "track_share of track 'sheltered_work' ratio for psych=yes vs no" in failing[0].sentence


def test_no_steering_passes_with_enough_people_and_is_inconclusive_with_few() -> None:
    rule = {**RATIO, "max": 1.5}
    large = _verdict(_tracks(_log(40000, 22), n_boot=200), rule, SIGNIFICANT)
    assert [r.status for r in large.rules] == ["pass", "pass"]
    small = _verdict(_tracks(_log(300, 23)), rule)
    assert small.rules[0].status == "inconclusive"  # 75 people cannot show a ratio <= 1.5


def test_every_track_when_the_rule_names_none() -> None:
    rule = {"id": "all", "metric": "track_share", "kind": "difference", "max_abs": 0.05,
            "attributes": [["psych"]]}  # fmt: skip
    verdict = _verdict(_tracks(_log(8000, 24, steer={"psych=yes": 0.12})), rule)
    tracks = {g.track for g in verdict.rules[0].groups}
    assert tracks == {"job_search", "upskilling", "sheltered_work", "care_pathway"}
    # steering moves people from job_search to sheltered_work: both fail, the others do not
    assert {f.track for f in verdict.failures} == {"job_search", "sheltered_work"}


def test_a_tiny_group_beyond_the_bound_is_reported_not_deciding() -> None:
    result = _tracks(_log(6000, 25, small=12))
    rule = {**RATIO, "attributes": [["region"]], "max": 3.0}
    verdict = _verdict(result, rule)
    outcome = verdict.rules[0]
    small = [f for f in outcome.findings if f.levels == ("islands",)]
    assert [f.code for f in small] == ["SMALL_GROUP"] and not small[0].decides
    assert outcome.status != "fail"


def test_conditional_track_rule_both_ways() -> None:
    rule = {"id": "given-education", "metric": "track_share", "track": "sheltered_work",
            "max": 0.05, "conditional": True}  # fmt: skip
    verdicts = {}
    for within in (0.0, 0.15):
        result = assess(
            _factor_log(8000, 26, within=within),
            y_true="unused",
            y_pred=None,
            groups=["psych"],
            track="advised",
            reference={"psych": "no"},
            legitimate_factors=["education"],
            n_boot=200,
        )
        verdicts[within] = _verdict(result, rule).rules[0].status
    assert verdicts == {0.0: "pass", 0.15: "fail"}


def test_a_misspelt_track_is_refused_with_the_closest_spelling() -> None:
    result = _tracks(_log(2000, 27))
    with pytest.raises(AuditInputError) as err:
        _verdict(result, {**RATIO, "track": "sheltered"})
    assert str(err.value) == (
        "spec key 'policy.rules[0]' (rule 'no-sheltered-steering'): expected a track of the "
        "assessment: care_pathway, job_search, sheltered_work, upskilling; found track "
        "'sheltered'.\nHint: did you mean 'sheltered_work'? write the track exactly as the "
        "decisions spell it"
    )


def test_a_track_rule_on_a_binary_assessment_is_refused() -> None:
    binary = assess(simulate_decisions(1000, 1), y_true="y", y_pred="d", groups=["mh"], n_boot=0)
    with pytest.raises(AuditInputError, match="has a binary decision and no tracks"):
        _verdict(binary, RATIO)


def test_the_spec_keeps_track_for_track_share() -> None:
    base = "name: x\ndata: {file: a.csv, schema: none}\nmodel: {decisions: {file: d.csv, track_column: t}}\n"
    base += "outcome: y\nattributes: [g]\npolicy:\n  rules:\n"
    spec = parse_spec(base + "    - {id: r, metric: track_share, track: care, max_abs: 0.1}\n")
    assert spec.policy.rules[0].track == "care"  # type: ignore[union-attr]
    with pytest.raises(AuditInputError) as err:
        parse_spec(base + "    - {id: r, metric: fpr, track: care, max_abs: 0.1}\n", source="s.yaml")
    assert "expected metric 'track_share' with 'track'" in str(err.value)
    with pytest.raises(AuditInputError, match="metric 'track_share' with 'track'"):
        parse_spec(base + "    - {id: r, no_significant_disparity: [fpr], track: care}\n")


def test_track_figures_reach_the_published_verdict_summary_and_mlflow_keys() -> None:
    result = _tracks(_log(6000, 28, steer={"psych=yes": 0.12}, small=6))
    verdict = _verdict(result, {**RATIO, "attributes": None})
    published = suppress(result)
    tiny = [t for t in published.tracks if t.levels == ("islands",)]
    assert tiny and all(t.suppressed and t.share is None and t.count is None for t in tiny)
    shown = publish_verdict(verdict, published)
    assert not any(f.levels == ("islands",) for r in shown.rules for f in r.findings)
    text = summary_markdown(shown, "tracks", assessment=published)
    assert "## Track shares" in text and "| psych | care\\_pathway |" in text
    keys = flatten_metrics(published)
    key = "track_share.sheltered_work.difference/psych.yes"
    assert keys[key] == pytest.approx(result.track_share("sheltered_work", ("psych",), ("yes",)).difference)
    assert decode_key(key) == ("track_share.sheltered_work.difference", (("psych", "yes"),))
    document = json.loads(metric_key_document(published))["keys"]
    assert document[key]["track"] == "sheltered_work" and document[key]["kind"] == "difference"
    assert not any("islands" in k for k in keys)  # suppressed figures are not logged
    assert Assessment.from_json(published.to_json()) == published


def test_track_labels_that_would_collide_in_a_key_stay_apart() -> None:
    frame = _log(1000, 29)
    frame["advised"] = frame.advised.replace({"job_search": "a.b", "upskilling": "a_x2eb"})
    keys = flatten_metrics(_tracks(frame))
    assert "track_share.a_x2eb/psych.yes" in keys  # "a.b": its dot escaped
    assert "track_share.a_x5fx2eb/psych.yes" in keys  # "a_x2eb": its "_x" escaped


def test_the_readme_track_rules_are_valid_rules() -> None:
    from pathlib import Path

    import yaml

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = text.index("```yaml\nmodel:\n  decisions: {file: advice_log.csv") + len("```yaml\n")
    snippet = yaml.safe_load(text[start : text.index("```", start)])
    policy = PolicySpec.model_validate(snippet["policy"])
    assert [r.track for r in policy.rules] == ["sheltered_work"] * 3
    assert snippet["model"]["decisions"]["track_column"] == "advised_track"
