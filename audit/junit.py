"""JUnit XML for CI systems: one test case per gate rule, so each rule shows as its own check.

GitLab, Jenkins, Azure DevOps and GitHub test-report actions all read this format. A failed rule
is a `<failure>` whose text lists its deciding findings. An inconclusive or not-evaluable rule is
a `<failure>` of its own type when the policy blocks a release on it (`on_inconclusive: fail`),
and `<skipped>` when it lets the release through: never a plain pass. Findings that do not decide
(small groups, uncertain groups) are listed in `<system-out>` so they are not lost, with the
smallest gap the audit could detect.

ElementTree escapes markup, but not the characters XML 1.0 forbids (most control characters,
which may come with group labels): every text and attribute goes through `xml_text`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from audit.gate import RuleOutcome, Verdict
from audit.labels import xml_text
from audit.numbers import fixed

FAILURE_TYPES = {
    "fail": "FairnessRuleFailed",
    "inconclusive": "FairnessRuleInconclusive",
    "not_evaluable": "FairnessRuleNotEvaluable",
}


def junit_xml(verdict: Verdict, *, suite: str, seconds: float = 0.0) -> str:
    blocking = {"fail"} | (
        set() if verdict.on_inconclusive == "pass" else {"inconclusive", "not_evaluable"}
    )
    failures = sum(r.status in blocking for r in verdict.rules)
    skipped = sum(r.status not in blocking and r.status != "pass" for r in verdict.rules)
    root = ET.Element("testsuites", name="fairness-audit")
    ts = ET.SubElement(
        root,
        "testsuite",
        name=xml_text(suite),
        tests=str(len(verdict.rules)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{seconds:.3f}",
    )
    for rule in verdict.rules:
        case = ET.SubElement(
            ts, "testcase", classname=xml_text(suite), name=xml_text(rule.rule_id), time="0"
        )
        text = xml_text("\n".join(_lines(rule)))
        if rule.status in blocking:
            failure = ET.SubElement(
                case, "failure", message=xml_text(_message(rule)), type=FAILURE_TYPES[rule.status]
            )
            failure.text = text
        elif rule.status != "pass":
            message = xml_text(_message(rule) + " (on_inconclusive: pass)")
            ET.SubElement(case, "skipped", message=message)
        if rule.status not in blocking:
            ET.SubElement(case, "system-out").text = text
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _lines(rule: RuleOutcome) -> list[str]:
    gap = rule.largest_detectable
    lines = [f"{rule.description} ({rule.evaluated} comparisons)"]
    if gap is not None:
        lines.append(f"smallest detectable gap, largest over the groups compared: {fixed(gap)}")
    if rule.reason:
        lines.append(f"not evaluable: {rule.reason}")
    return lines + [f"[{f.code}] {f.sentence}" for f in rule.findings]


def _message(rule: RuleOutcome) -> str:
    if rule.status == "fail":
        deciding = [f for f in rule.findings if f.decides]
        return f"{len(deciding)} group(s) fail: {deciding[0].sentence}"
    if rule.status == "not_evaluable":
        return f"not evaluable: {rule.reason}"
    unsure = sum(g.status == "inconclusive" for g in rule.groups)
    return f"inconclusive: the data cannot place {unsure} group(s) inside or beyond the bound"
