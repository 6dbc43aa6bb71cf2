"""The spec the README shows is a valid spec, with the meaning its comments give."""

from __future__ import annotations

from pathlib import Path

from audit.spec import SignificanceRule, parse_spec

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_spec_parses_and_says_what_its_comments_say() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("```yaml\nname: belgian-profiling") + len("```yaml\n")
    spec = parse_spec(text[start : text.index("```", start)], source="README.md")
    assert spec.policy.evidence == "interval" and spec.policy.on_inconclusive == "fail"
    steering = next(r for r in spec.policy.rules if r.id == "no-steering")
    assert isinstance(steering, SignificanceRule) and steering.detectable_gap == 0.1
    assert spec.factor_bins == {"age": 4}


def test_the_readme_spec_for_a_file_of_ones_own_runs_on_such_a_file(tmp_path, monkeypatch) -> None:
    import io

    from rich.console import Console

    from audit.pipeline import run_audit
    from tests.realdata.tables import steering_log, write_csv_with_bom

    text = README.read_text(encoding="utf-8")
    start = text.index("```yaml\nname: orientation-log") + len("```yaml\n")
    spec_text = text[start : text.index("```", start)]
    spec = parse_spec(spec_text, source="README.md")
    assert spec.outcome is None and spec.data.schema_name == "auto"
    assert spec.group_bins == {"age_ans": 4}
    # The README's CSV has the columns of the table the test builds, in its order.
    csv_start = text.index("```csv\n") + len("```csv\n")
    header = text[csv_start : text.index("\n", csv_start)].split(",")
    log = steering_log()
    assert header == list(log.columns)
    write_csv_with_bom(log, tmp_path / "journal.csv")
    monkeypatch.chdir(tmp_path)
    spec = spec.model_copy(update={"tracking": spec.tracking.model_copy(update={"enabled": False})})
    outcome = run_audit(spec, spec_text=spec_text, console=Console(file=io.StringIO()))
    assert outcome.verdict.label == "fail"  # the table's injected gap for women


def test_the_readme_harm_checks_are_valid_entries_with_their_rules() -> None:
    """The README's `checks:` snippet, under a minimal spec, parses: every check it names
    exists, and both harm_check rules name a check of the snippet."""
    import yaml

    text = README.read_text(encoding="utf-8")
    start = text.index("```yaml\nchecks:\n") + len("```yaml\n")
    snippet = yaml.safe_load(text[start : text.index("```", start)])
    base = {
        "name": "readme-checks",
        "data": {"synthetic": {"n": 400}},
        "model": {"uri": "models/profiling_reference.skops"},
        "attributes": ["mental_health_history"],
    }
    spec = parse_spec(yaml.safe_dump({**base, **snippet}), source="README.md")
    assert [c.check for c in spec.checks] == [
        "steering", "flips", "training", "missing_papers", "digital_proxies", "label_choice",
        "thresholds", "mobility", "undermatching",
    ]  # fmt: skip
    assert {r.harm_check for r in spec.policy.harm_checks} == {"steering", "flips"}
    assert spec.cases is not None and spec.cases.salt_env == "AUDIT_CASE_SALT"
