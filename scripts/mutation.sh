#!/usr/bin/env bash
# Mutation testing of the statistical core, the gate and the file safety with mutmut 3 (issue 14).
# Not part of CI: the whole scope is about 15 000 mutants, an hour or more of CPU. Needs rsync.
#
#   pip install mutmut==3.8.1             # into the project's venv; not in the `dev` extra, so
#                                         # the CI environment stays as it is
#   nice -n 19 scripts/mutation.sh        # run (or resume) over the whole scope, then report
#   scripts/mutation.sh --report          # only print the survivors and the scores so far
#   scripts/mutation.sh --scores          # only the scores, at once (no diff per survivor)
#   scripts/mutation.sh --recheck         # rerun each survivor with its module's test files
#   scripts/mutation.sh --again           # run the survivors again through mutmut, after tests
#                                         # were added to the selection below (mutmut maps the
#                                         # new tests, then runs only those reaching each one);
#                                         # --again 'audit.stats.cli.*': only those survivors
#   MUTATION_ONLY=FILE scripts/mutation.sh --recheck   # recheck only the survivors in FILE
#
# Why mutmut: it imports the code and the tests once, forks one worker per mutant (no new
# interpreter, no new pytest start) and runs only the tests that reach the mutated function,
# fastest first with -x, so most mutants die in well under a second.
# mutmut mutates function and method bodies only: module-level tables and decorated functions
# (`@lru_cache`, `@contextmanager`, `@property`, `@cache`) are left alone by the tool; see
# tests/MUTANTS.md for how those are covered.
#
#   scripts/mutation.sh 'audit.metrics.intervals.*'   # only these mutants (mutmut's names)
#   scripts/mutation.sh --sample 900      # a random sample of the mutants not run yet, the same
#                                         # share of each module (seed: MUTATION_SEED, default 1),
#                                         # for a score with a stated uncertainty when the whole
#                                         # scope would take longer than there is (see the report)
#   scripts/mutation.sh --sample-of FILE  # the mutants named in FILE as the sample
#
# Environment: PYTHON (default .venv/bin/python, else python3); MUTATION_WORK (default
# .mutation-logs/work, kept between runs so an interrupted run resumes where it stopped; mutmut
# retests only functions whose code changed); MUTATION_CHILDREN (parallel workers, default 2).
#
# mutmut writes its mutants into `mutants/` beside the code it runs on, so the script works on a
# copy of the checkout: the tree is never touched.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-}
if [[ -z $py ]]; then
    if [[ -x $root/.venv/bin/python ]]; then py=$root/.venv/bin/python; else py=python3; fi
fi
bin=$(dirname "$("$py" -c 'import sys; print(sys.executable)')")
if [[ ! -x $bin/mutmut ]]; then
    echo "mutmut is not installed next to $py: pip install mutmut==3.8.1" >&2
    exit 2
fi
children=${MUTATION_CHILDREN:-2}
report_only=0 recheck_only=0 again=0
[[ ${1:-} == --report ]] && report_only=1
[[ ${1:-} == --recheck ]] && recheck_only=1 report_only=1
[[ ${1:-} == --again ]] && again=1 && shift
diffs=1
[[ ${1:-} == --scores ]] && report_only=1 diffs=0
sample=0
if [[ ${1:-} == --sample ]]; then sample=${2:?--sample needs a number of mutants}; shift 2; fi
# --sample-of FILE: the sample is the names in FILE (one mutant a line), e.g. a part of a sample
# drawn earlier, split at random before any was run.
sample_of=
if [[ ${1:-} == --sample-of ]]; then sample_of=${2:?--sample-of needs a file}; sample=-1; shift 2; fi
export MUTATION_SAMPLE=$sample MUTATION_SEED=${MUTATION_SEED:-1} MUTATION_SAMPLE_OF=$sample_of

# The scope of issue 14, as mutmut's mutant names (module path, then the mangled function: `x_f`
# for a function, `xǁClassǁmethod` for a method). The decisions loader is the DecisionsModel
# class of audit/models/importing.py; the disclosure control joined with the published reports,
# the harm checks with issue 10.
default_scope=(
    'audit.metrics.*' 'audit.gate.*' 'audit.files.*' 'audit.tracking.naming.*'
    'audit.models.importing.xǁDecisionsModelǁ*' 'audit.stats.*'
    'audit.disclosure.*' 'audit.linear_disclosure.*' 'audit.checks.*' 'audit.harm_rules.*'
)
work=${MUTATION_WORK:-$root/.mutation-logs/work}
scope=("$@")
[[ ${#scope[@]} -gt 0 && $report_only == 0 ]] || scope=("${default_scope[@]}")
# The tests that exercise the scope directly. Left out: the pipeline, spec and browser suites
# (MLflow servers, Chromium; they reach the core only through these) and the long simulations
# (coverage, cross-checks with fairlearn/aif360): a surviving mutant runs every test that
# reaches its function, so a 6-second simulation there costs 6 seconds per survivor, and those
# tests kill little that the direct tests below do not.
tests='["tests/stats/test_edges_by_hand.py", "tests/stats/test_core_mutants.py",
    "tests/stats/test_metrics_by_hand.py", "tests/stats/test_references.py",
    "tests/stats/test_reliability.py", "tests/stats/test_within_strata.py",
    "tests/stats/test_invariance.py", "tests/stats/test_peer_conventions.py",
    "tests/stats/test_scores_and_result.py", "tests/stats/test_paired.py",
    "tests/stats/test_significance.py", "tests/stats/test_conditional.py",
    "tests/stats/test_factors.py", "tests/stats/test_interval_contains_estimate.py",
    "tests/stats/test_properties.py", "tests/stats/test_cardinality.py",
    "tests/stats/test_bootstrap.py", "tests/stats/test_cli_options.py", "tests/gate",
    "tests/files", "tests/tracking/test_naming.py", "tests/models/test_decisions_values.py",
    "tests/models/test_bad_input.py", "tests/stats/test_tracks.py",
    "tests/stats/test_exact_auc_pairs.py", "tests/stats/test_normal.py",
    "tests/stats/test_decision_only.py", "tests/sinks/test_disclosure.py",
    "tests/sinks/test_secondary_suppression.py", "tests/tracking/test_naming_by_hand.py",
    "tests/sinks/test_disclosure_by_hand.py", "tests/stats/test_tracks_by_hand.py",
    "tests/files/test_files_by_hand.py", "tests/models/test_decisions_by_hand.py",
    "tests/gate/test_gate_by_hand.py", "tests/stats/test_encoding_factors_by_hand.py",
    "tests/stats/test_auc_scores_by_hand.py", "tests/checks", "tests/stats/test_tally.py",
    "tests/stats/test_paired_tally.py", "tests/tracking/test_naming_more_by_hand.py",
    "tests/sinks/test_disclosure_more_by_hand.py", "tests/stats/test_bad_input.py",
    "tests/stats/test_core_survivors_by_hand.py"]'

# Every test file written for survivors (`*by_hand*`) is in the selection, whichever folder it
# is in: a file missing here lets its mutants count as survivors although it kills them.
shopt -s nullglob
for file in "$root"/tests/*/test_*by_hand*.py; do
    name=${file#"$root/"}
    [[ $tests == *"\"$name\""* ]] || tests=${tests%]}", \"$name\"]"
done
shopt -u nullglob

mkdir -p "$work"
if [[ $report_only == 0 ]]; then
    # --delete so a removed test or module leaves the copy too; mutants/ is mutmut's state.
    rsync -a --delete --exclude=__pycache__ --exclude=mutants/ \
        --include='/audit/***' --include='/tests/***' --include='/examples/***' \
        --include='/datasets/***' --include='/models/***' --include=/pyproject.toml \
        --include=/README.md --exclude='*' "$root/" "$work/"
    cat >>"$work/pyproject.toml" <<TOML

[tool.mutmut]
source_paths = ["audit"]
only_mutate = ["audit/stats/*", "audit/metrics/*", "audit/gate.py", "audit/files.py",
    "audit/tracking/naming.py", "audit/models/importing.py", "audit/disclosure.py",
    "audit/linear_disclosure.py", "audit/checks/*", "audit/harm_rules.py"]
also_copy = ["examples", "datasets", "models", "README.md"]
pytest_add_cli_args_test_selection = $tests
pytest_add_cli_args = ["-n", "0", "-p", "no:cacheprovider", "--deselect",
    "tests/checks/test_mobility.py::test_audit_run_with_a_rankings_file_of_its_own_names"]
TOML
    # (deselected: its `audit run` subprocess works in a folder of its own, where the mutated
    # copy cannot find mutmut's settings and fails before the audit starts, mutant or not)
    cd "$work"
    # Subprocesses started by the tests (`python -m audit.cli`) import the mutated copy too.
    export PYTHONPATH=$work/mutants PYTHONDONTWRITEBYTECODE=1
    if [[ ! -d mutants/audit ]]; then
        # mutmut 3.8.1 records no test for any mutant when one process both generates the
        # mutants and collects which tests reach them ("could not find any test case"); a second
        # process, with the mutants already there, maps them. So the first run only generates
        # (it stops after the statistics, with that message), and the real run follows.
        "$bin/mutmut" run --max-children "$children" 'no.such.mutant' >/dev/null 2>&1 || true
        rm -f mutants/mutmut-stats.json
    fi
    # mutmut reruns every mutant named on its command line: name only those not run yet, so
    # that an interrupted run resumes (while none has run, the patterns themselves). One mutmut
    # run for all of them: it runs the clean tests once, then the mutants cheapest first.
    if [[ $again == 1 ]]; then  # the survivors count as not run: mutmut runs them again
        # Only the survivors of the mutants named (all of the scope by default); their recheck
        # outcomes go too, since the tests they were made with have changed.
        "$py" - "${scope[@]}" <<'PY'
import fnmatch
import json
import sys
from pathlib import Path

for meta in Path("mutants/audit").rglob("*.py.meta"):
    data = json.loads(meta.read_text())
    codes = data["exit_code_by_key"]
    for name, code in codes.items():
        if code in (0, 33) and any(fnmatch.fnmatch(name, p) for p in sys.argv[1:]):
            codes[name] = None
            Path("recheck", name).unlink(missing_ok=True)
    meta.write_text(json.dumps(data))
PY
    fi
    mapfile -t pending < <("$py" - "${scope[@]}" <<'PY'
import fnmatch
import json
import os
import sys
from pathlib import Path

codes = {
    name: code
    for meta in Path("mutants/audit").rglob("*.py.meta")
    for name, code in json.loads(meta.read_text())["exit_code_by_key"].items()
}
sampling = bool(int(os.environ["MUTATION_SAMPLE"]) or os.environ["MUTATION_SAMPLE_OF"])
if all(code is None for code in codes.values()) and not sampling:
    # nothing run yet, the whole scope wanted: the patterns themselves (20 000 names would
    # not fit on a command line); a sample is drawn below even on a fresh copy
    print("\n".join(sys.argv[1:]))
else:
    pending = [
        name
        for name, code in sorted(codes.items())
        if code is None and any(fnmatch.fnmatch(name, p) for p in sys.argv[1:])
    ]
    wanted = int(os.environ["MUTATION_SAMPLE"])
    if os.environ["MUTATION_SAMPLE_OF"]:
        drawn = sorted(set(Path(os.environ["MUTATION_SAMPLE_OF"]).read_text().split()))
        Path("sample.txt").write_text("\n".join(drawn) + "\n")
        pending = sorted(set(pending) & set(drawn))
    elif wanted:
        # mutmut runs the mutants it is given cheapest first, so a run stopped early would
        # score the cheap ones only: a sample fixed in advance, each module in proportion to
        # what it has left, is scored whole (sample.txt keeps it for the report).
        import random
        from collections import defaultdict

        rng = random.Random(int(os.environ["MUTATION_SEED"]))
        by_module = defaultdict(list)
        for name in pending:
            by_module[name.split(".x")[0]].append(name)
        share = wanted / max(len(pending), 1)
        pending = sorted(
            name
            for names in by_module.values()
            for name in rng.sample(names, min(len(names), round(len(names) * share)))
        )
        Path("sample.txt").write_text("\n".join(pending) + "\n")
    print("\n".join(pending))
PY
    )
    echo "${#pending[@]} mutants to run"
    # mutmut forgets every result when its configuration changes (a test file added to the
    # selection above makes it mutate and run everything again): each run starts with a copy
    # of the results so far, results-before-run.json (mutant name -> mutmut's exit code).
    "$py" - <<'PY'
import json
from pathlib import Path

codes = {}
for meta in Path("mutants/audit").rglob("*.py.meta"):
    codes.update(json.loads(meta.read_text())["exit_code_by_key"])
if any(code is not None for code in codes.values()):
    Path("results-before-run.json").write_text(json.dumps(codes, indent=0, sort_keys=True))
PY
    if [[ ${#pending[@]} -gt 0 ]]; then
        "$bin/mutmut" run --max-children "$children" "${pending[@]}"
    fi
fi

cd "$work"
# mutmut runs a mutant only against the tests it saw reach the function while collecting its
# stats, and a module- or session-scoped fixture is set up, and so seen, in the first test that
# uses it only: a later test of the same file that reads the fixture's result never runs against
# the mutant. Each survivor is therefore run again against whole test files of its module (from
# `recheck_tests` below); one that fails there counts as killed. Results: recheck/<mutant>.
recheck_tests() {
    case $1 in
        audit.metrics.normal.*) echo tests/stats/test_normal.py ;;
        audit.metrics.scores.*) echo tests/stats/test_edges_by_hand.py \
            tests/stats/test_scores_and_result.py tests/stats/test_peer_conventions.py ;;
        audit.metrics.conditional.*) echo tests/stats/test_edges_by_hand.py tests/stats/test_conditional.py \
            tests/stats/test_within_strata.py tests/stats/test_explained_share.py ;;
        audit.metrics.*) echo tests/stats/test_edges_by_hand.py tests/stats/test_core_mutants.py \
            tests/stats/test_metrics_by_hand.py tests/stats/test_references.py \
            tests/stats/test_significance.py tests/stats/test_peer_conventions.py ;;
        audit.gate.*) echo tests/gate ;;
        audit.checks.* | audit.harm_rules.*) echo tests/checks ;;
        audit.files.*) echo tests/files ;;
        audit.tracking.naming.*) echo tests/tracking/test_naming.py tests/tracking/test_naming_by_hand.py \
            tests/tracking/test_naming_more_by_hand.py ;;
        audit.models.importing.*) echo tests/models/test_decisions_values.py \
            tests/models/test_bad_input.py tests/models/test_decisions_by_hand.py ;;
        audit.stats.paired.*) echo tests/stats/test_paired.py tests/gate/test_gate.py \
            tests/stats/test_auc_scores_by_hand.py tests/stats/test_paired_tally.py ;;
        audit.stats.within_strata.*) echo tests/stats/test_within_strata.py ;;
        audit.stats.tracks.*) echo tests/stats/test_tracks.py tests/stats/test_tracks_by_hand.py tests/gate/test_track_rules.py \
            tests/stats/test_decision_only.py tests/stats/test_tally.py ;;
        audit.stats.exact_auc.* | audit.stats.result.*) echo tests/stats/test_exact_auc_pairs.py \
            tests/stats/test_peer_conventions.py tests/stats/test_scores_and_result.py \
            tests/stats/test_auc_scores_by_hand.py tests/stats/test_core_survivors_by_hand.py ;;
        audit.stats.encoding.* | audit.stats.factors.*) echo tests/stats/test_factors.py \
            tests/stats/test_bad_input.py tests/stats/test_encoding_factors_by_hand.py \
            tests/models/test_decisions_by_hand.py tests/stats/test_tally.py \
            tests/stats/test_core_survivors_by_hand.py ;;
        # The Spark path of `audit assess` is judged by the real Spark engine (a JVM per
        # recheck, so only here, never in the selection every mutant runs).
        audit.stats.cli.*) echo tests/stats/test_cli_options.py tests/stats/test_bad_input.py \
            tests/stats/test_decision_only.py tests/stats/test_cli_output_by_hand.py \
            tests/stats/test_cli_assess_by_hand.py tests/spark/test_assess_cli.py ;;
        audit.disclosure.* | audit.linear_disclosure.*) echo tests/sinks/test_disclosure.py \
            tests/sinks/test_secondary_suppression.py tests/sinks/test_disclosure_by_hand.py \
            tests/sinks/test_disclosure_more_by_hand.py tests/stats/test_core_survivors_by_hand.py ;;
        audit.stats.*) echo tests/stats/test_edges_by_hand.py tests/stats/test_core_mutants.py \
            tests/stats/test_metrics_by_hand.py tests/stats/test_reliability.py \
            tests/stats/test_scores_and_result.py tests/stats/test_bootstrap.py \
            tests/stats/test_conditional.py tests/stats/test_within_strata.py \
            tests/stats/test_tally.py tests/stats/test_core_sample_by_hand.py ;;
    esac
}
if [[ $report_only == 0 || $recheck_only == 1 ]]; then
    [[ $recheck_only == 0 ]] || rsync -a --delete --exclude=__pycache__ "$root/tests/" "$work/tests/"
    mapfile -t survivors < <("$py" - <<'PY'
import json
import os
from pathlib import Path

done = {p.name for p in Path("recheck").glob("*")} if Path("recheck").is_dir() else set()
# A sample's run rechecks the sample's survivors only.
sampled = Path("sample.txt").read_text().split() if os.environ["MUTATION_SAMPLE"] != "0" else None
if os.environ.get("MUTATION_ONLY"):  # a file of mutant names: recheck only those
    sampled = Path(os.environ["MUTATION_ONLY"]).read_text().split()
if Path("recheck.json").exists():
    done |= set(json.loads(Path("recheck.json").read_text()))
for meta in sorted(Path("mutants/audit").rglob("*.py.meta")):
    for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
        if code in (0, 33) and name not in done:  # survived, or no selected test reached it
            if sampled is None or name in sampled:
                print(name)
        elif code is None and sampled is not None and name in sampled and name not in done:
            # a sampled mutant mutmut did not reach before it was stopped (the costliest run
            # last): judged by its module's test files, like a survivor
            print(name)
PY
    )
    echo "${#survivors[@]} survivors to recheck, $children at a time"
    # One outcome file per mutant in recheck/, so that the parallel rechecks never write one file.
    mkdir -p recheck
    recheck_one() {
        local name=$1
        # The current tests of the checkout against the mutated code (-P: not the copy in .).
        # shellcheck disable=SC2046  # the file list is meant to split
        local code=0
        MUTANT_UNDER_TEST=$name PYTHONPATH=$work/mutants timeout 600 \
            "$py" -P -m pytest -x -q -n 0 -p no:cacheprovider $(recheck_tests "$name") \
            >/dev/null 2>&1 || code=$?
        # pytest exits 1 when a test failed, timeout 124 when the mutant made them hang: both
        # kill it. Anything else (the recheck itself stopped, a collection error) decides
        # nothing, so no outcome is written and the next recheck runs it again.
        case $code in
            0) echo survived >"recheck/$name" ;;
            1 | 124) echo killed >"recheck/$name" ;;
            *) echo "recheck of $name ended with exit $code: not counted" >&2 ;;
        esac
    }
    export -f recheck_one recheck_tests
    export py work
    printf '%s\n' "${survivors[@]}" | xargs -r -P "$children" -I{} bash -c 'recheck_one "$1"' _ {}
    # Earlier runs kept their outcomes in recheck.json: folded into recheck/ once.
    "$py" - <<'PY'
import json
from pathlib import Path

old = Path("recheck.json")
if old.exists():
    for name, outcome in json.loads(old.read_text()).items():
        target = Path("recheck") / name
        if not target.exists():
            target.write_text(outcome + "\n")
    old.unlink()
PY
fi

# One line per surviving mutant (with its diff), then the score of every module: killed of all
# mutants run. Which survivors are equivalent is a judgement made by reading them; those are
# listed with their reasons in tests/MUTANTS.md, whose score sets them aside.
MUTATION_DIFFS=$diffs "$py" - "${default_scope[@]}" <<'PY'
import fnmatch
import os
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

mutmut = str(Path(sys.executable).with_name("mutmut"))
rechecked = {p.name: p.read_text().strip() for p in Path("recheck").glob("*")}
scores: dict[str, Counter[str]] = {}
for meta in sorted(Path("mutants/audit").rglob("*.py.meta")):
    module = str(meta.relative_to("mutants"))[: -len(".meta")]
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    count = scores.setdefault(module, Counter())
    for name, code in sorted(codes.items()):
        if not any(fnmatch.fnmatch(name, pattern) for pattern in sys.argv[1:]):
            continue  # outside the scope (importing.py: only the decisions loader)
        status = status_by_exit_code[code]
        if status in ("survived", "no tests") and rechecked.get(name) == "killed":
            status = "killed"  # by a test of its module's files that mutmut did not map
        elif status == "not checked" and name in rechecked:
            status = rechecked[name]  # not reached by mutmut, judged by the recheck alone
        count[status] += 1
        if status in ("survived", "no tests", "suspicious") and os.environ["MUTATION_DIFFS"] == "1":
            diff = subprocess.run([mutmut, "show", name], capture_output=True, text=True).stdout
            print(f"{status.upper()} {name}\n{diff}")
total = Counter()
for module, count in scores.items():
    if not count:
        continue
    total += count
    # timeouts count as killed (the mutant made the tests hang); "no tests": no selected test
    # reaches the function, so the mutant survives by definition.
    killed = count["killed"] + count["timeout"] + count["segfault"]
    scored = killed + count["survived"] + count["no tests"] + count["suspicious"]
    left = count["not checked"]
    state = "complete" if left == 0 else f"partial, {left} not run yet"
    print(f"SCORE {module}: {killed}/{scored} killed ({100 * killed / max(scored, 1):.1f}%), {state}")
killed = total["killed"] + total["timeout"] + total["segfault"]
scored = killed + total["survived"] + total["no tests"] + total["suspicious"]
print(f"SCORE all: {killed}/{scored} killed ({100 * killed / max(scored, 1):.1f}%), "
      f"{total['not checked']} not run yet")
if Path("sample.txt").exists():
    # The last --sample: its score estimates the score of everything it was drawn from, with a
    # Wilson 95% interval (the sample is random and small next to what it was drawn from).
    sample = Path("sample.txt").read_text().split()
    outcome = Counter()
    for meta in Path("mutants/audit").rglob("*.py.meta"):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if name in sample:
                status = status_by_exit_code[code]
                if status in ("survived", "no tests") and rechecked.get(name) == "killed":
                    status = "killed"
                elif status == "not checked" and name in rechecked:
                    status = rechecked[name]
                outcome[status] += 1
    hit = outcome["killed"] + outcome["timeout"] + outcome["segfault"]
    run = hit + outcome["survived"] + outcome["no tests"] + outcome["suspicious"]
    z = 1.959964
    if run:
        p = hit / run
        centre = (p + z * z / (2 * run)) / (1 + z * z / run)
        half = z * ((p * (1 - p) / run + z * z / (4 * run * run)) ** 0.5) / (1 + z * z / run)
        print(f"SAMPLE {len(sample)} drawn, {run} run: {hit}/{run} killed ({100 * p:.1f}%, "
              f"95% interval {100 * (centre - half):.1f}-{100 * (centre + half):.1f}%), "
              f"{outcome['not checked']} not run yet")
PY
