"""Harm checks H1–H7: the questions people in poverty raised, each answered with evidence.

One module per check, one registry (`audit.checks.registry`). The flow: the outputs step's table
and the audited people go into a `CheckContext`; each check the spec asks for returns a
`CheckOutcome` (status, sentence, evidence records, flagged cases); the gate reads them through
`harm_check` rules; the published form (`audit.checks.result`) carries aggregates only, and the
flagged cases go to the review file (`audit.checks.cases`) alone.
"""
