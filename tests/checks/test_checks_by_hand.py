"""The harm checks' small pieces, called directly on hand-made inputs with hand-derived answers.

The review file of flagged cases (pseudonymous ids, the salt, the CSV and HTML pages, the
folders and id columns it refuses), the flips check's case flags and typical proxy values, the
proxies check's reconstruction inputs, the spec type of a `checks:` entry, and the gate's
`harm_check` rules. No audit is run: every test takes a few milliseconds (the reconstruction
one fits a tiny logistic regression).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter, ValidationError

from audit.checks import known_truth, registry
from audit.checks.base import Attribute, CaseFlag, CheckContext, CheckOutcome, Evidence
from audit.checks.cases import (
    CSV_NAME,
    HTML_NAME,
    case_files,
    case_salt,
    pseudonym,
    require_case_dir,
    require_case_ids,
)
from audit.checks.flips import FlipParams, _cases, _Outputs, _typical
from audit.checks.proxies import ProxyParams, _groups, _inputs, _reconstruction
from audit.errors import AuditInputError
from audit.harm_rules import _bounded, harm_rule_outcomes
from audit.spec import HarmCheckRule

SALT = b"0123456789abcdef-salt"


def _hmac20(salt: bytes, person: str) -> str:
    """The definition of a pseudonym: HMAC-SHA256 of the UTF-8 id keyed with the salt, 20 hex."""
    return hmac.new(salt, person.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


# --- the salt ---------------------------------------------------------------------------------


def test_an_unset_salt_is_refused_saying_it_is_not_set_and_how_to_make_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No salt at all: the message names the variable, the 16 characters needed and what for,
    says it is not set (not "0 characters"), and gives the command and the keep-it-apart rule."""
    monkeypatch.delenv("MY_CASE_SALT", raising=False)
    with pytest.raises(AuditInputError) as err:
        case_salt("MY_CASE_SALT")
    e = err.value
    assert e.subject == "environment variable MY_CASE_SALT"
    assert e.expected == (
        "a secret salt of at least 16 characters for the pseudonymous ids of the case list"
    )
    assert e.found == "it is not set"
    assert e.fix == (
        "export MY_CASE_SALT=$(python -c 'import secrets; print(secrets.token_hex(16))') "
        "and keep it outside the audit's outputs; the same salt gives the same ids"
    )
    assert str(e).startswith("environment variable MY_CASE_SALT: expected a secret salt")


def test_a_salt_of_15_characters_is_refused_and_one_of_16_is_used_as_utf8_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """16 characters is the minimum: 15 is refused with its length, exactly 16 is accepted, and
    the salt is the variable's text as UTF-8 bytes (a non-ASCII character is two bytes)."""
    monkeypatch.setenv("MY_CASE_SALT", "x" * 15)
    with pytest.raises(AuditInputError) as err:
        case_salt("MY_CASE_SALT")
    assert err.value.found == "15 characters"
    assert err.value.subject == "environment variable MY_CASE_SALT"
    monkeypatch.setenv("MY_CASE_SALT", "é" + "y" * 15)
    assert case_salt("MY_CASE_SALT") == b"\xc3\xa9" + b"y" * 15
    monkeypatch.setenv("MY_CASE_SALT", "z" * 16)
    assert case_salt("MY_CASE_SALT") == b"z" * 16


# --- the folder -------------------------------------------------------------------------------


@pytest.mark.parametrize("inside", [".", "reviews", "reviews/deeper"])
def test_a_case_folder_in_the_report_folder_is_refused_with_both_paths_and_the_fix(
    tmp_path: Path, inside: str
) -> None:
    """The report folder itself or any folder below it would publish the case list."""
    report = tmp_path / "out"
    case_dir = report / inside
    with pytest.raises(AuditInputError) as err:
        require_case_dir(case_dir, report)
    e = err.value
    assert e.subject == f"cases.dir '{case_dir}'"
    assert e.expected == "a folder outside the published report folder"
    assert e.found == f"it is inside the report folder '{report}'"
    assert e.fix == "choose another folder, e.g. reviews/NAME"


def test_a_case_folder_beside_the_report_folder_is_accepted(tmp_path: Path) -> None:
    """A sibling folder, even one whose name starts like the report's, is not inside it."""
    require_case_dir(tmp_path / "reviews", tmp_path / "out")
    require_case_dir(tmp_path / "out-reviews", tmp_path / "out")
    require_case_dir(tmp_path, tmp_path / "out")  # the parent holds the report, not inside it


# --- the ids ----------------------------------------------------------------------------------


def test_a_pseudonym_is_the_keyed_hash_of_the_id_never_the_id() -> None:
    """20 hex characters of HMAC-SHA256(salt, id); another salt gives another pseudonym."""
    p = pseudonym(SALT, "C-0042")
    assert p == _hmac20(SALT, "C-0042") and len(p) == 20
    assert "C-0042" not in p
    assert pseudonym(b"another-salt-of-16+", "C-0042") != p
    assert pseudonym(SALT, "Zoë") == _hmac20(SALT, "Zoë")


def _outcome(check_id: str, code: str, cases: list[CaseFlag]) -> CheckOutcome:
    return CheckOutcome(
        code=code,
        name=check_id,
        check_id=check_id,
        status="finding",
        sentence="",
        needs=(),
        cases=tuple(cases),
    )


def _flag(row: int, reason: str, **evidence: str | float | int) -> CaseFlag:
    return CaseFlag(row=row, reason=reason, score=-1.0, evidence=evidence)


PEOPLE = pd.DataFrame(
    {
        "dossier": ["D-1", "D-2", "D-3"],
        "person_id": ["P-1", "P-2", "P-3"],
        "housing": ["street", "stable", "stable"],
    }
)


def test_the_csv_holds_one_row_per_flag_ranked_within_each_check_under_pseudonyms() -> None:
    """Rank restarts at 1 for each check; the evidence is `key=value` joined by "; " without
    the sensitive column's factor; the raw ids appear nowhere; lines end in a bare newline."""
    outcomes = [
        _outcome(
            "steer",
            "H1",
            [
                _flag(2, "H1_UNLIKELY", **{"factor.housing": "street", "p": 0.01}),
                _flag(0, "H1_UNLIKELY", p=0.02, why="a, b"),
            ],
        ),
        _outcome("flips", "CF", [_flag(1, "CF_FLIP", changed="mh")]),
    ]
    files = case_files(
        outcomes, PEOPLE, salt=SALT, id_column="dossier", title="Review", sensitive=["housing"]
    )
    assert set(files) == {CSV_NAME, HTML_NAME} == {"cases.csv", "cases.html"}
    d1, d2, d3 = (_hmac20(SALT, f"D-{i}") for i in (1, 2, 3))
    assert files[CSV_NAME] == (
        "case,check,code,reason,rank,evidence\n"
        f"{d3},steer,H1,H1_UNLIKELY,1,p=0.01\n"
        f'{d1},steer,H1,H1_UNLIKELY,2,"p=0.02; why=a, b"\n'
        f"{d2},flips,CF,CF_FLIP,1,changed=mh\n"
    )
    for raw in ("D-1", "D-2", "D-3", "P-1", "street"):
        assert raw not in files[CSV_NAME] and raw not in files[HTML_NAME]
    rows = list(csv.DictReader(io.StringIO(files[CSV_NAME])))
    assert [r["rank"] for r in rows] == ["1", "2", "1"]


def test_the_id_column_defaults_to_person_id_and_else_to_row_numbers() -> None:
    """Without `id_column`, a `person_id` column names people; without one either, their row
    number does (`row:<position>`)."""
    outcomes = [_outcome("flips", "CF", [_flag(1, "CF_FLIP"), _flag(0, "CF_FLIP")])]
    by_default = case_files(outcomes, PEOPLE, salt=SALT, id_column=None, title="t")
    cases = [r["case"] for r in csv.DictReader(io.StringIO(by_default[CSV_NAME]))]
    assert cases == [_hmac20(SALT, "P-2"), _hmac20(SALT, "P-1")]
    anonymous = PEOPLE.drop(columns="person_id")
    by_row = case_files(outcomes, anonymous, salt=SALT, id_column=None, title="t")
    cases = [r["case"] for r in csv.DictReader(io.StringIO(by_row[CSV_NAME]))]
    assert cases == [_hmac20(SALT, "row:1"), _hmac20(SALT, "row:0")]
    require_case_ids(anonymous, None)  # nothing to refuse


def test_the_html_page_escapes_every_field_and_shows_title_header_and_count() -> None:
    """Markup in a reason, an evidence value or the title is shown as text, never run; the page
    names its title twice (tab and heading), every column and the number of cases."""
    outcomes = [_outcome("c<1>", "H1", [_flag(0, "<script>x</script>", note="<b>&")])]
    page = case_files(
        outcomes, PEOPLE, salt=SALT, id_column="dossier", title="Cases & <i>flags</i>"
    )[HTML_NAME]
    assert "<script>" not in page and "<b>" not in page and "<i>" not in page
    assert "<td>&lt;script&gt;x&lt;/script&gt;</td>" in page
    assert "<td>note=&lt;b&gt;&amp;</td>" in page
    assert "<td>c&lt;1&gt;</td>" in page
    assert page.count("Cases &amp; &lt;i&gt;flags&lt;/i&gt;") == 2
    assert "<title>Cases &amp; &lt;i&gt;flags&lt;/i&gt;</title>" in page
    header = "".join(
        f'<th scope="col">{f}</th>' for f in ("case", "check", "code", "reason", "rank", "evidence")
    )
    assert f"<tr>{header}</tr>" in page
    assert "<p>1 case(s).</p>" in page
    assert f"<td>{_hmac20(SALT, 'D-1')}</td>" in page and "<td>1</td>" in page
    assert "None" not in page


def test_a_named_id_column_that_does_not_exist_is_refused_with_the_fix() -> None:
    """The message names the spec key and column, what it should hold, and both ways out."""
    with pytest.raises(AuditInputError) as err:
        require_case_ids(PEOPLE, "client_ref")
    e = err.value
    assert e.subject == "cases.id_column 'client_ref'"
    assert e.expected == "a column of the audited data holding each person's id"
    assert e.found == "no such column"
    assert e.fix == "name the id column of your table, or drop the key to use row numbers"


def test_missing_or_repeated_ids_are_refused_counting_each() -> None:
    """One missing and two repeats (three people share D-1) are counted and refused."""
    people = pd.DataFrame({"dossier": ["D-1", None, "D-1", "D-1", "D-2"]})
    with pytest.raises(AuditInputError) as err:
        require_case_ids(people, "dossier")
    e = err.value
    assert e.subject == "cases.id_column 'dossier'"
    assert e.expected == (
        "one id per person, none missing, to write the review file of flagged cases"
    )
    assert e.found == "1 missing and 2 repeated id(s)"
    assert e.fix == (
        "name a column with a unique id for every person, or drop the key to use row numbers"
    )


# --- flips: typical values and case flags -----------------------------------------------------


def test_the_typical_number_is_a_median_taken_from_the_data() -> None:
    """Numbers: the median, as a value of the data (1, 2, 4, 10 has the linear median 3, not
    a value; nearest gives 4), not the most frequent value (1 in 1, 1, 5, 6, 7)."""
    assert _typical(pd.Series([1, 1, 5, 6, 7])) == 5
    assert _typical(pd.Series([1, 2, 4, 10])) == 4
    assert _typical(pd.Series([0.5, 0.25, 0.75])) == 0.5


def test_the_typical_category_or_boolean_is_the_most_frequent_missing_included() -> None:
    """Anything else: the most frequent value, ties to the first in order, and a missing value
    counts as a value (most of the level moved to has none)."""
    assert _typical(pd.Series(["a", "b", "b"])) == "b"
    assert _typical(pd.Series(["a", "b", "b"], dtype=object)) == "b"
    assert _typical(pd.Series([True, False, True, False])) is np.False_
    assert _typical(pd.Series([True, True, False])) is np.True_
    assert pd.isna(_typical(pd.Series(["a", None, None], dtype=object)))


FLIP_PARAMS = FlipParams(check="flips", attribute="mh", proxies=["housing", "region"])


def test_case_flags_carry_what_changed_and_the_outputs_rounded_never_the_attribute() -> None:
    """Per variant, only the people whose output changed; the track and the decision before and
    after; both scores to 4 decimals; the largest score change first."""
    before = _Outputs(
        track=np.array(["work", "care", "work"], dtype=object),
        decision=np.array([True, False, True]),
        score=np.array([0.123456, 0.5, 0.9]),
    )
    after = _Outputs(
        track=np.array(["care", "care", "train"], dtype=object),
        decision=np.array([False, False, True]),
        score=np.array([0.654321, 0.5, 0.81234]),
    )
    changed = np.array([True, False, True])
    flags = _cases(
        before,
        [("attribute", after, changed), ("attribute_and_proxies", after, changed)],
        FLIP_PARAMS,
    )
    assert [(f.row, f.reason) for f in flags] == [
        (0, "CF_FLIP"),  # |0.654321 - 0.123456| = 0.530865 first
        (2, "CF_FLIP"),  # |0.81234 - 0.9| = 0.08766
        (0, "CF_FLIP_WITH_PROXIES"),
        (2, "CF_FLIP_WITH_PROXIES"),
    ]
    assert dict(flags[0].evidence) == {
        "changed": "mh",
        "track_before": "work",
        "track_after": "care",
        "decision_before": 1,
        "decision_after": 0,
        "score_before": 0.1235,
        "score_after": 0.6543,
    }
    assert dict(flags[1].evidence)["score_after"] == 0.8123
    assert dict(flags[2].evidence)["changed"] == "mh and its proxies housing, region"
    assert flags[0].score == pytest.approx(-0.530865)
    for f in flags:
        assert all(isinstance(v, float) for k, v in f.evidence.items() if k.startswith("score"))


def test_case_flags_of_a_model_without_tracks_or_decisions_carry_scores_only() -> None:
    """No track (a profiling model) and no decision: only what changed and the scores."""
    before = _Outputs(track=None, decision=None, score=np.array([0.2, 0.7]))
    after = _Outputs(track=None, decision=None, score=np.array([0.3, 0.1]))
    (flag,) = _cases(before, [("attribute", after, np.array([False, True]))], FLIP_PARAMS)
    assert flag.row == 1 and dict(flag.evidence) == {
        "changed": "mh",
        "score_before": 0.7,
        "score_after": 0.1,
    }


def test_case_flags_with_equal_score_changes_keep_the_peoples_order() -> None:
    """Ties (here 60 people, changes of 0.5 and 0.25 alternating) keep the table's order within
    each size: the review file is the same from run to run."""
    n = 60
    before = _Outputs(track=None, decision=np.zeros(n, dtype=bool), score=np.full(n, 0.5))
    shift = np.where(np.arange(n) % 2 == 0, 0.25, 0.5)
    after = _Outputs(track=None, decision=np.ones(n, dtype=bool), score=0.5 - shift)
    flags = _cases(before, [("attribute", after, np.ones(n, dtype=bool))], FLIP_PARAMS)
    assert [f.row for f in flags] == [*range(1, n, 2), *range(0, n, 2)]


# --- proxies: what the groups are reconstructed from ------------------------------------------


def _proxy_ctx(people: pd.DataFrame, model: Any = None) -> CheckContext:
    return CheckContext(
        people=people,
        table=pd.DataFrame(index=people.index),
        model=model,
        attributes=(Attribute("lit", "high"),),
        factors=(),
        factor_bins={},
    )


def test_reconstruction_inputs_are_the_checks_list_else_the_models_inputs_else_the_traces() -> None:
    """The note says which of the three the groups were reconstructed from; a model input the
    data lacks is left out."""
    people = pd.DataFrame({"lit": ["high", "low"], "cv": [1, 0], "age": [30, 40]})
    model = SimpleNamespace(expected_columns=[SimpleNamespace(name=n) for n in ("age", "gone")])
    named = ProxyParams(check="digital_proxies", features=["cv"], inputs=["age", "cv"])
    plain = ProxyParams(check="digital_proxies", features=["cv"])
    assert _inputs(named, _proxy_ctx(people, model)) == (
        ["age", "cv"],
        "groups reconstructed from the features named in the check",
    )
    assert _inputs(plain, _proxy_ctx(people, model)) == (
        ["age"],
        "groups reconstructed from the model's input features",
    )
    assert _inputs(plain, _proxy_ctx(people)) == (
        ["cv"],
        "groups reconstructed from the digital traces (no model)",
    )


def test_a_two_level_group_told_apart_by_one_input_is_reconstructed_perfectly() -> None:
    """60 people, 30 of low literacy marked exactly by `cv`: the cross-validated AUC is 1, over
    all 60 people (everyone is the group or its reference), the group's own column left out."""
    low = np.arange(60) % 2 == 1
    people = pd.DataFrame({"lit": np.where(low, "low", "high"), "cv": (~low).astype(float)})
    params = ProxyParams(check="digital_proxies", features=["cv"], folds=3)
    ctx = _proxy_ctx(people)
    (record,) = _reconstruction(params, ctx, _groups(params, ctx), ["cv", "lit"])
    assert (record.attribute, record.level, record.reference) == ("lit", "low", "high")
    assert record.measure == "reconstruction_auc" and record.estimate == 1.0
    assert (record.n, record.n_reference) == (30, 30) and record.status == "descriptive"
    assert dict(record.details) == {"inputs": 1, "rows": 60, "folds": 3}


# --- the spec type of one `checks:` entry -----------------------------------------------------


def test_a_checks_entry_is_read_by_its_check_field_and_an_unknown_check_says_so() -> None:
    """The union of every check's parameters, told apart by `check`: a name or a code picks its
    parameters, and an unknown one is one error naming the tag, not one error per check."""
    spec = TypeAdapter(registry._spec_type())
    flips = spec.validate_python({"check": "flips", "attribute": "mh"})
    assert isinstance(flips, FlipParams) and flips.attribute == "mh"
    assert isinstance(spec.validate_python({"check": "H4"}), ProxyParams)
    with pytest.raises(ValidationError) as err:
        spec.validate_python({"check": "nope"})
    (error,) = err.value.errors()
    assert error["type"] == "union_tag_invalid" and error["loc"] == ()
    assert "'check'" in error["msg"] and "'nope'" in error["msg"]


def test_the_known_truth_recommender_is_trained_per_seed_on_its_scenario(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The trial's model factory trains `track_model(scenario, features, seed)` for the seed it
    is given, never reading the audited people (the training itself is replaced by a stub)."""
    calls: list[tuple[Any, ...]] = []

    def stub(scenario: str, features: Any, seed: int, *, n: int = 4_000) -> str:
        calls.append((scenario, tuple(features), seed))
        return f"model {seed}"

    monkeypatch.setattr(known_truth, "track_model", stub)
    factory = known_truth.trained_recommender("h1_steering", ("a", "b"))
    assert factory(pd.DataFrame(), 7) == "model 7"
    assert calls == [("h1_steering", ("a", "b"), 7)]


# --- the gate's harm_check rules --------------------------------------------------------------


def _evidence(estimate: float | None, low: float | None, high: float | None) -> Evidence:
    return Evidence(
        attribute="mh",
        level="True",
        reference="False",
        measure="flip_rate",
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        p_value=None,
        p_adjusted=None,
        detectable=None,
        n=100,
        n_reference=100,
        status="no_finding",
    )


def _checked(*evidence: Evidence, status: Any = "no_finding") -> CheckOutcome:
    return CheckOutcome(
        code="CF",
        name="flips",
        check_id="flips",
        status=status,
        sentence="",
        needs=(),
        evidence=evidence,
        margin=0.01,
        reason="it needs the model" if status == "skipped" else None,
    )


@pytest.mark.parametrize(
    ("low", "high", "bounds", "expected"),
    [
        (0.125, 0.25, {"max": 0.25}, "pass"),  # the upper end on the bound is within it
        (0.125, 0.375, {"max": 0.25}, "inconclusive"),
        (0.25, 0.375, {"max": 0.25}, "inconclusive"),  # the lower end on the bound: not beyond
        (0.375, 0.5, {"max": 0.25}, "fail"),
        (0.25, 0.375, {"min": 0.25}, "pass"),  # the lower end on the bound is within it
        (0.125, 0.25, {"min": 0.25}, "inconclusive"),  # the upper end on the bound: not beyond
        (0.0, 0.125, {"min": 0.25}, "fail"),
        (0.25, 0.5, {"min": 0.25, "max": 0.5}, "pass"),
        (None, 0.125, {"max": 0.25}, "pass"),  # no lower end: unbounded below
        (None, 0.125, {"min": 0.0}, "inconclusive"),
        (0.125, None, {"max": 0.25}, "inconclusive"),  # no upper end: unbounded above
        (0.125, None, {"min": 0.0}, "pass"),
        (0.375, None, {"max": 0.25}, "fail"),
    ],
)
def test_a_bound_reads_the_whole_interval(
    low: float | None, high: float | None, bounds: dict[str, float], expected: str
) -> None:
    """Fail when the whole interval lies beyond the bound, pass when it lies within (ends on the
    bound included), inconclusive otherwise; a missing end of the interval is unbounded. The
    rule's status is the same, with a finding for anything but a pass."""
    rule = HarmCheckRule(id="r", harm_check="flips", **bounds)
    e = _evidence(0.2, low, high)
    assert _bounded(rule, e) == expected
    (outcome,) = harm_rule_outcomes([rule], [_checked(e)])
    assert outcome.status == expected and outcome.evaluated == 1
    codes = {"pass": [], "fail": ["HARM_FOUND"], "inconclusive": ["HARM_INCONCLUSIVE"]}
    assert [f.code for f in outcome.findings] == codes[expected]


def test_a_bound_on_an_undefined_estimate_is_inconclusive_never_a_pass() -> None:
    """No estimate (a group with nobody to compare): neither side of the bound."""
    rule = HarmCheckRule(id="r", harm_check="flips", max=0.25)
    e = _evidence(None, 0.0, 0.125)
    assert _bounded(rule, e) == "inconclusive"
    (outcome,) = harm_rule_outcomes([rule], [_checked(e)])
    assert outcome.status == "inconclusive"
    assert [f.code for f in outcome.findings] == ["HARM_INCONCLUSIVE"]


def test_a_skipped_check_leaves_the_rule_not_evaluable_with_no_comparison_counted() -> None:
    """Skipped: nothing evaluated (so no group counts as passing), one non-deciding finding
    carrying why and the check's margin, and a sentence that says why."""
    rule = HarmCheckRule(id="r", harm_check="flips")
    (outcome,) = harm_rule_outcomes([rule], [_checked(status="skipped")])
    why = "check 'flips' skipped: it needs the model"
    assert outcome.status == "not_evaluable" and outcome.reason == why
    assert outcome.evaluated == 0 and outcome.group_counts == (0, 0, 0)
    (finding,) = outcome.findings
    assert finding.code == "NOT_EVALUABLE" and finding.decides is False
    assert finding.reason == why and finding.bound == 0.01
    assert finding.sentence == f"Rule 'r' could not be evaluated: {why}."


def test_a_check_that_did_not_run_leaves_the_rule_not_evaluable_without_a_margin() -> None:
    """No outcome for the rule's check: not evaluable, no margin to carry."""
    rule = HarmCheckRule(id="r", harm_check="missing")
    (outcome,) = harm_rule_outcomes([rule], [_checked()])
    (finding,) = outcome.findings
    assert outcome.reason == finding.reason == "the check did not run"
    assert finding.bound is None and finding.decides is False and outcome.evaluated == 0
