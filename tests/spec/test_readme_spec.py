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
