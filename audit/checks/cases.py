"""The review file: the people the checks flagged, for a counsellor to look at again.

Written only where the spec asks for it (`cases:`), never logged to MLflow, never in the
published report folder. Each person appears under a pseudonymous id: an HMAC-SHA256 of their
id keyed with a salt read from the environment, so the file alone identifies nobody, and the
service, which holds the salt, can find the person again. The file holds the reason code and
the evidence of each flag (the legitimate factors the check read, what made it unusual); it
holds no attribute of anyone who was not flagged, and no sensitive attribute at all.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
from collections.abc import Collection, Sequence
from pathlib import Path

import pandas as pd
from jinja2 import Environment, select_autoescape

from audit.checks.base import CheckOutcome
from audit.errors import AuditInputError

CSV_NAME, HTML_NAME = "cases.csv", "cases.html"
MIN_SALT_LENGTH = 16
DEFAULT_ID_COLUMN = "person_id"


def case_salt(env_name: str) -> bytes:
    """The salt from the environment; refused before any work when absent or too short."""
    value = os.environ.get(env_name, "")
    if len(value) < MIN_SALT_LENGTH:
        raise AuditInputError(
            f"environment variable {env_name}",
            expected=f"a secret salt of at least {MIN_SALT_LENGTH} characters for the "
            "pseudonymous ids of the case list",
            found="it is not set" if not value else f"{len(value)} characters",
            fix=f"export {env_name}=$(python -c 'import secrets; print(secrets.token_hex(16))') "
            "and keep it outside the audit's outputs; the same salt gives the same ids",
        )
    return value.encode("utf-8")


def require_case_dir(case_dir: Path, report_dir: Path) -> None:
    """The case list must not land in the folder that is published."""
    cases, report = case_dir.resolve(), report_dir.resolve()
    if cases == report or report in cases.parents:
        raise AuditInputError(
            f"cases.dir '{case_dir}'",
            expected="a folder outside the published report folder",
            found=f"it is inside the report folder '{report_dir}'",
            fix="choose another folder, e.g. reviews/NAME",
        )


def pseudonym(salt: bytes, person: str) -> str:
    return hmac.new(salt, person.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


def case_files(
    outcomes: Sequence[CheckOutcome],
    people: pd.DataFrame,
    *,
    salt: bytes,
    id_column: str | None,
    title: str,
    sensitive: Collection[str] = (),
) -> dict[str, str]:
    """cases.csv and cases.html for every flagged case, most unusual first within each check.

    `sensitive` are the audited group columns: a spec may also name one as a legitimate factor,
    and the flag's evidence would then carry the person's value of it (`factor.<column>`).
    """
    ids = _person_ids(people, id_column)
    hidden = {f"factor.{column}" for column in sensitive}
    rows: list[dict[str, str]] = []
    for outcome in outcomes:
        for rank, case in enumerate(outcome.cases, start=1):
            rows.append(
                {
                    "case": pseudonym(salt, ids[case.row]),
                    "check": outcome.check_id,
                    "code": outcome.code,
                    "reason": case.reason,
                    "rank": str(rank),
                    "evidence": "; ".join(
                        f"{k}={v}" for k, v in case.evidence.items() if k not in hidden
                    ),
                }
            )
    return {CSV_NAME: _csv(rows), HTML_NAME: _html(rows, title)}


def require_case_ids(people: pd.DataFrame, id_column: str | None) -> None:
    """Refuses an id column that cannot name the flagged people, before any work."""
    _person_ids(people, id_column)


def _person_ids(people: pd.DataFrame, id_column: str | None) -> list[str]:
    column = id_column or (DEFAULT_ID_COLUMN if DEFAULT_ID_COLUMN in people.columns else None)
    if column is None:
        return [f"row:{i}" for i in range(len(people))]
    if column not in people.columns:
        raise AuditInputError(
            f"cases.id_column '{column}'",
            expected="a column of the audited data holding each person's id",
            found="no such column",
            fix="name the id column of your table, or drop the key to use row numbers",
        )
    ids = people[column]
    # Two people under one pseudonym cannot be told apart by the counsellor, and a missing id
    # names nobody the service can find again.
    missing, repeated = int(ids.isna().sum()), int(ids.dropna().duplicated().sum())
    if missing or repeated:
        raise AuditInputError(
            f"cases.id_column '{column}'",
            expected="one id per person, none missing, to write the review file of flagged cases",
            found=f"{missing} missing and {repeated} repeated id(s)",
            fix="name a column with a unique id for every person, or drop the key to use row "
            "numbers",
        )
    return ids.astype(str).tolist()


_FIELDS = ("case", "check", "code", "reason", "rank", "evidence")


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font-family:sans-serif;margin:2rem}table{border-collapse:collapse}
td,th{border:1px solid #999;padding:.3rem .5rem;text-align:left;vertical-align:top}</style>
</head><body>
<h1>{{ title }}</h1>
<p>Cases flagged for a second look by a counsellor. A flag is a reason to review, not a
decision. Ids are pseudonymous; the service holds the salt that links them to people.
Do not publish this page.</p>
<p>{{ rows|length }} case(s).</p>
<table><thead><tr>{% for f in fields %}<th scope="col">{{ f }}</th>{% endfor %}</tr></thead>
<tbody>{% for r in rows %}<tr>{% for f in fields %}<td>{{ r[f] }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
</body></html>
"""


def _html(rows: list[dict[str, str]], title: str) -> str:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    return env.from_string(_PAGE).render(rows=rows, fields=_FIELDS, title=title)
