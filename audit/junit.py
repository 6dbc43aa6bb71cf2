"""JUnit XML for CI systems: one test case per gate rule, so each rule shows as its own check.

GitLab, Jenkins, Azure DevOps and GitHub test-report actions all read this format. A failed rule
is a `<failure>` whose text lists its deciding findings; a rule with nothing to evaluate is
`<skipped>`; findings that do not decide (small groups, inconclusive intervals) are listed in
`<system-out>` of a passing case so they are not lost.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from audit.gate import Verdict


def junit_xml(verdict: Verdict, *, suite: str, seconds: float = 0.0) -> str:
    failures = sum(r.status == "fail" for r in verdict.rules)
    skipped = sum(r.status == "not_evaluable" for r in verdict.rules)
    root = ET.Element("testsuites", name="fairness-audit")
    ts = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(verdict.rules)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{seconds:.3f}",
    )
    for rule in verdict.rules:
        case = ET.SubElement(ts, "testcase", classname=suite, name=rule.rule_id, time="0")
        lines = [f"{rule.description} ({rule.evaluated} comparisons)"]
        lines += [f"[{f.code}] {f.sentence}" for f in rule.findings]
        if rule.status == "fail":
            deciding = [f for f in rule.findings if f.decides]
            failure = ET.SubElement(
                case,
                "failure",
                message=f"{len(deciding)} group(s) fail: {deciding[0].sentence}",
                type="FairnessRuleFailed",
            )
            failure.text = "\n".join(lines)
        elif rule.status == "not_evaluable":
            ET.SubElement(case, "skipped", message="no defined comparison to evaluate")
        if rule.status != "fail" and rule.findings:
            ET.SubElement(case, "system-out").text = "\n".join(lines)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
