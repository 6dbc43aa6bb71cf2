"""`audit data ...`: generate synthetic populations and list the scenarios.

Files are written beside their destination under a temporary name and renamed only once every
requested file is complete, so a failed or interrupted run leaves no half-written table that a
later audit could pick up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from audit.data.population import generate_population
from audit.data.scenarios import SCENARIOS, describe_scenarios
from audit.errors import AuditInputError
from audit.files import require_writable, staged_files

data_app = typer.Typer(
    name="data",
    help="Synthetic job-seeker populations with known, injected harms.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_TABLE_SUFFIXES = (".parquet", ".csv")


def _check_out(path: Path | None, option: str, suffixes: tuple[str, ...]) -> None:
    if path is None:
        return
    if path.suffix.lower() not in suffixes:
        raise AuditInputError(
            f"option {option}",
            expected="a file ending in " + " or ".join(suffixes),
            found=repr(str(path)),
            fix=f"e.g. {option} people{suffixes[0]}",
        )
    if not path.parent.is_dir():
        raise AuditInputError(
            f"option {option}",
            expected="a path in an existing folder",
            found=f"no folder '{path.parent}'",
            fix="create the folder first",
        )
    require_writable(path, subject=f"option {option} '{path}'", folder=False)


def _parse_knobs(pairs: list[str]) -> dict[str, str]:
    knobs: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise AuditInputError(
                "option --knob",
                expected="name=value",
                found=repr(pair),
                fix="e.g. --knob sheltered_odds_ratio=3",
            )
        knobs[name.strip()] = value.strip()
    return knobs


def _write_table(df: pd.DataFrame, path: Path, *, people: bool = False) -> None:
    if path.suffix.lower() == ".csv":
        df.to_csv(path, index=False)
    elif people:  # marked, so that `schema: auto` knows the file for one of ours
        from audit.data.schema import write_people_parquet

        write_people_parquet(df, path)
    else:
        df.to_parquet(path, index=False)


@data_app.command("generate")
def generate(
    out: Annotated[Path, typer.Option("--out", help="people table (.parquet or .csv)")],
    scenario: Annotated[
        str, typer.Option(help="scenario name; see `audit data scenarios`")
    ] = "no_bias",
    n: Annotated[int, typer.Option("--n", help="number of job seekers")] = 100_000,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same population)")] = 0,
    knob: Annotated[
        list[str] | None, typer.Option(help="override a knob, name=value (repeatable)")
    ] = None,
    vacancies_out: Annotated[Path | None, typer.Option(help="vacancies table")] = None,
    truth_out: Annotated[Path | None, typer.Option(help="injected truth (.json)")] = None,
) -> None:
    """Generate a synthetic population and write it (all files or none)."""
    _check_out(out, "--out", _TABLE_SUFFIXES)
    _check_out(vacancies_out, "--vacancies-out", _TABLE_SUFFIXES)
    _check_out(truth_out, "--truth-out", (".json",))
    pop = generate_population(n, scenario=scenario, seed=seed, knobs=_parse_knobs(knob or []))
    jobs: list[tuple[Path, Callable[[Path], object]]] = [
        (out, lambda p: _write_table(pop.people, p, people=True))
    ]
    if vacancies_out is not None:
        jobs.append((vacancies_out, lambda p: _write_table(pop.vacancies, p)))
    if truth_out is not None:
        jobs.append(
            (truth_out, lambda p: p.write_text(pop.truth.to_json() + "\n", encoding="utf-8"))
        )
    with staged_files([path for path, _ in jobs]) as temps:
        for tmp, (_, write) in zip(temps, jobs, strict=True):
            write(tmp)
    harms = ", ".join(pop.truth.harms) or "none"
    typer.echo(
        f"wrote {len(pop.people):,} people to {out} (scenario {scenario}, seed {seed}, "
        f"harms injected: {harms})"
    )


@data_app.command("scenarios")
def scenarios(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List the scenarios, the harms each injects, and their knobs with defaults and ranges."""
    rows = describe_scenarios()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        harms = ", ".join(row["harms"]) or "none (legitimate causal paths only)"
        typer.echo(f"{row['scenario']}: harms {harms}")
        for k in row["knobs"]:
            typer.echo(f"    --knob {k['name']}=...  default {k['default']}; {k['range']}")
            typer.echo(f"        {k['description']}")
    typer.echo(f"{len(SCENARIOS)} scenarios.")
