"""Synthetic Belgian job-seeker population from a structural causal model, with known harms.

Why synthetic: an audit must be tested on data where the right answer is known row by row, and
mental-health history is special-category data (GDPR Art. 9, AI Act Art. 10(5)) that should not be
used when synthetic data can do the job. No row describes a real person.

The causal graph (every arrow is one block of :func:`generate_population`)::

    region -> origin -> language              age, gender -> household
    region -> benefit_status -> housing_status -> mental_health_history
    education -> digital_literacy             age -> physical_limitation
    education, age, mental health, physical limitation, housing -> WORK CAPACITY (latent)
    MOTIVATION (latent, independent of every group)
    capacity, motivation -> employment history
    digital literacy, motivation, housing -> digital traces (CV, logins, profile, online reg.)
    housing, origin, education -> documents on file (diploma, address, ID)
    region, housing -> location -> distance to jobs, to public transport; car
    capacity -> counsellor assessment;  capacity -> warranted track
    capacity [+ H3 documents, + H4 traces] -> PES score -> recommended track [+ H1, H2 offsets]
    capacity, motivation, region, recommended vs warranted track -> job_28d_6m, sustainable_12m [H5]

Randomness: one generator seeded once; every draw is made in the same order whatever the scenario,
so a harm scenario and ``no_bias`` with the same seed are the same people (common random numbers).
``recommended_track_fair`` is the track the same person would get, same noise, without the harm:
the row-level counterfactual.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from audit.data import calibration as cal
from audit.data.geography import (
    HUB_X,
    HUB_Y,
    distance_to_nearest_hub,
    hub_probabilities,
)
from audit.data.sampling import draw_categorical, logit, probabilities, sigmoid
from audit.data.scenarios import InjectedTruth, build_truth, parse_group, resolve_knobs
from audit.data.schema import (
    AGE_BANDS,
    BENEFIT_STATUSES,
    DIGITAL_LITERACY_LEVELS,
    EDUCATION_LEVELS,
    GENDERS,
    HOUSEHOLDS,
    HOUSING_STATUSES,
    LANGUAGES,
    ORIGINS,
    PEOPLE_COLUMNS,
    REGIONS,
    TRACKS,
    categorical,
    validate_people,
    validate_vacancies,
)
from audit.data.vacancies import generate_vacancies
from audit.errors import AuditInputError

MAX_N = 50_000_000

# --- Structural parameters (not calibration figures: documented in the data card) ---

#: Work capacity: z = intercept + effects + N(0, CAPACITY_NOISE); capacity = sigmoid(z).
CAPACITY_INTERCEPT = 1.0
CAPACITY_EDUCATION = (-0.5, 0.0, 0.4)
CAPACITY_AGE = (0.0, 0.2, 0.1, -0.1, -0.5)
CAPACITY_MENTAL_HEALTH = -1.3
CAPACITY_PHYSICAL = -1.2
CAPACITY_HOUSING = (0.0, -0.4, -0.9)
CAPACITY_NOISE = 0.8
#: Warranted track from capacity: care below the first cut, sheltered below the second, training
#: below the third, regular above.
WARRANTED_CUTS = (0.2, 0.32, 0.6)

#: PES score: logit = PES_INTERCEPT + PES_CAPACITY * logit(capacity) [+ harms].
PES_INTERCEPT = -0.8
PES_CAPACITY = 1.0
#: Sharpness of the track recommendation around the warranted cuts (Gumbel noise has scale 1).
TRACK_SHARPNESS = 2.5

#: Outcome model (logit scale).
JOB_INTERCEPT = -0.58
JOB_CAPACITY = 0.72
JOB_MOTIVATION = 1.0
JOB_REGION = (0.35, -0.35, -0.15)
#: Effect of the recommended track (rows) given the warranted track (columns) on the 6-month job
#: chance, both in TRACKS order (regular, training, sheltered, care). Training locks people in for
#: months (negative short-term effect); a track above capacity fails; sheltered placements are jobs
#: for those who need them.
SUPPORT_JOB = np.array(
    [
        [0.2, -0.2, -0.5, -0.8],
        [-0.4, -0.1, -0.5, -0.8],
        [-0.3, -0.2, 0.6, 0.2],
        [-1.2, -1.0, -0.6, 0.0],
    ]
)
SUSTAIN_INTERCEPT = 0.1
SUSTAIN_CAPACITY = 0.6
SUSTAIN_MOTIVATION = 0.6
#: Effect of the recommended track given the warranted track on keeping work 12 months: training
#: pays off later; sheltered work below capacity is numbing and people drop out (H1's harm).
SUPPORT_SUSTAIN = np.array(
    [
        [0.3, -0.2, -0.6, -0.8],
        [0.6, 0.6, -0.4, -0.8],
        [-0.8, -0.8, 0.8, 0.3],
        [-0.6, -0.6, -0.3, 0.0],
    ]
)
LATE_INTERCEPT = -2.4
LATE_TRAINING = 0.8


@dataclass(frozen=True)
class SyntheticPopulation:
    """People, vacancies and the record of injected harms (the audit's answer key)."""

    people: pd.DataFrame
    vacancies: pd.DataFrame
    truth: InjectedTruth

    def rank_vacancies(self, *, k: int = 10, people: pd.DataFrame | None = None) -> pd.DataFrame:
        """Ranked vacancies for (a subset of) the people, with this scenario's H6/H7 harms."""
        from audit.data.vacancies import rank_vacancies

        return rank_vacancies(
            self.people if people is None else people, self.vacancies, k=k, truth=self.truth
        )


def _person_ids(n: int, seed: int) -> pd.Series:
    """Pseudonymous ids: a bijective scramble of the row number (no order, no meaning)."""
    i = np.arange(n, dtype=np.uint64)
    salt = np.uint64((seed * 2_654_435_761) % 2**32)
    h = (i * np.uint64(0x9E3779B1) + salt) % np.uint64(2**32)
    if n > 2**32:  # pragma: no cover - guarded by MAX_N
        raise AuditInputError("n", expected="at most 2^32", found=str(n), fix="use a smaller n")
    text = pc.binary_join_element_wise(
        "js", pc.utf8_lpad(pc.cast(pa.array(h), pa.string()), 10, "0"), ""
    )
    return pd.Series(pd.array(text, dtype="str"), name="person_id")


def _housing_table() -> np.ndarray:
    """P(housing | region, integration income) that keeps the regional homeless shares exact."""
    m = cal.HOUSING_RISK_MULTIPLIER_INTEGRATION_INCOME
    table = np.zeros((len(REGIONS) * 2, len(HOUSING_STATUSES)))
    for r, region in enumerate(REGIONS):
        p_ii = cal.INTEGRATION_INCOME_SHARE[region]
        base = cal.HOMELESS_SHARE[region] / (1 + (m - 1) * p_ii)
        for ii in (0, 1):
            homeless = base * (m if ii else 1.0)
            unstable = cal.UNSTABLE_HOUSING_FACTOR * homeless
            table[r * 2 + ii] = (1 - homeless - unstable, unstable, homeless)
    return table


def _mental_health_by_housing(housing_share: np.ndarray) -> np.ndarray:
    """P(mental-health history | housing): 3.5x / 2x the stable rate, overall share exact."""
    relative = np.array([1.0, 2.0, 3.5])
    base = cal.MENTAL_HEALTH_SHARE / float(housing_share @ relative)
    return base * relative


def _digital_table() -> np.ndarray:
    rows = []
    for e in EDUCATION_LEVELS:
        low = cal.DIGITAL_LOW_BY_EDUCATION[e]
        high = (1 - low) * cal.DIGITAL_HIGH_AMONG_NOT_LOW[e]
        rows.append((low, 1 - low - high, high))
    return np.array(rows)


def _digital_marginal() -> np.ndarray:
    edu = probabilities(cal.EDUCATION_SHARE, EDUCATION_LEVELS)
    return np.asarray(edu @ _digital_table())


_REGISTERED_ONLINE_RELATIVE = np.array([0.25, 0.65, 0.9])
_ONLINE_CV_RELATIVE = np.array([0.1, 0.35, 0.6])


def _scaled(relative: np.ndarray, target: float) -> np.ndarray:
    """Per-digital-literacy probabilities scaled so the population share is ``target``."""
    return relative * target / float(_digital_marginal() @ relative)


def _language_table() -> np.ndarray:
    """P(language | region, origin), rows region*3 + origin."""
    regional = {
        "flanders": (0.98, 0.02, 0.0),
        "brussels": (0.2, 0.8, 0.0),
        "wallonia": (0.0, 0.97, 0.03),
    }
    local_share = (1.0, 0.55, 0.4)  # belgian, eu, non_eu: share speaking a national language
    rows = []
    for region in REGIONS:
        for o in range(len(ORIGINS)):
            d, f, g = (local_share[o] * v for v in regional[region])
            rows.append((d, f, g, 1 - local_share[o]))
    return np.array(rows)


_HOUSEHOLD_BY_AGE = np.array(
    [
        # single, couple, couple_with_children, single_parent, with_parents
        [0.25, 0.08, 0.05, 0.07, 0.55],
        [0.34, 0.16, 0.25, 0.12, 0.13],
        [0.30, 0.12, 0.38, 0.16, 0.04],
        [0.36, 0.20, 0.30, 0.12, 0.02],
        [0.42, 0.38, 0.12, 0.07, 0.01],
    ]
)


def _check_args(n: object, seed: object, n_vacancies: object) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= MAX_N:
        raise AuditInputError(
            "n",
            expected=f"a whole number of people in [1, {MAX_N}]",
            found=repr(n),
            fix="pass e.g. n=100_000",
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise AuditInputError(
            "seed", expected="a non-negative whole number", found=repr(seed), fix="pass e.g. seed=0"
        )
    if n_vacancies is not None and (
        isinstance(n_vacancies, bool)
        or not isinstance(n_vacancies, int | np.integer)
        or not 1 <= n_vacancies <= 5_000_000
    ):
        raise AuditInputError(
            "n_vacancies",
            expected="a whole number in [1, 5000000] or None",
            found=repr(n_vacancies),
            fix="leave it out for the default",
        )


def default_n_vacancies(n: int) -> int:
    """One vacancy per 40 job seekers, between 200 and 20,000 (ranking cost grows with it)."""
    return int(min(max(n // 40, 200), 20_000))


def generate_population(
    n: int,
    *,
    scenario: str = "no_bias",
    seed: int = 0,
    n_vacancies: int | None = None,
    validate: bool = True,
    knobs: Mapping[str, object] | None = None,
    **knob_values: float | str,
) -> SyntheticPopulation:
    """Generate ``n`` synthetic job seekers, vacancies and the record of injected harms.

    ``scenario`` is a name from :data:`audit.data.scenarios.SCENARIOS`; keyword knobs (or a
    ``knobs`` mapping, e.g. parsed from the command line) override that scenario's harm strengths
    (see :data:`audit.data.scenarios.KNOBS`). Deterministic for a seed. ``validate=False`` skips
    the schema check (about a tenth of the time) for benchmarks that validate once.

    >>> pop = generate_population(1_000, scenario="h1_steering", seed=1, sheltered_odds_ratio=4)
    >>> pop.truth.effect("H1").value
    4.0
    >>> len(pop.people), pop.people["recommended_track"].dtype.name
    (1000, 'category')
    """
    _check_args(n, seed, n_vacancies)
    resolved = resolve_knobs(scenario, {**(knobs or {}), **knob_values})
    n = int(n)
    seed = int(seed)
    n_vac = default_n_vacancies(n) if n_vacancies is None else int(n_vacancies)
    truth = build_truth(scenario, resolved, seed=seed, n=n, n_vacancies=n_vac)
    rng = np.random.default_rng(seed)
    people = _people(n, rng, truth)
    vacancies = generate_vacancies(n_vac, np.random.default_rng([seed, 1]))
    if validate:
        people = validate_people(people, subject="generated people table")
        vacancies = validate_vacancies(vacancies, subject="generated vacancies table")
    return SyntheticPopulation(people=people, vacancies=vacancies, truth=truth)


def group_mask(people: pd.DataFrame, group: str) -> np.ndarray:
    """Boolean array: rows in the group ``column=value``."""
    spec = parse_group(group)
    col = people[spec.column]
    if isinstance(col.dtype, pd.CategoricalDtype):
        code = list(col.cat.categories).index(spec.value)
        return np.asarray(col.cat.codes.to_numpy() == code)
    return np.asarray(col.to_numpy() == spec.value)


def _uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.random(n, dtype=np.float32)


def _people(n: int, rng: np.random.Generator, truth: InjectedTruth) -> pd.DataFrame:
    k = truth.knobs
    cols: dict[str, Any] = {}

    # --- demographics ---
    region = draw_categorical(_uniform(rng, n), probabilities(cal.REGION_SHARE, REGIONS))
    age = draw_categorical(_uniform(rng, n), probabilities(cal.AGE_BAND_SHARE, AGE_BANDS))
    gender = draw_categorical(_uniform(rng, n), probabilities(cal.GENDER_SHARE, GENDERS))
    education = draw_categorical(
        _uniform(rng, n), probabilities(cal.EDUCATION_SHARE, EDUCATION_LEVELS)
    )
    origin_table = np.array([probabilities(cal.ORIGIN_SHARE[r], ORIGINS) for r in REGIONS])
    origin = draw_categorical(_uniform(rng, n), origin_table, region)
    language = draw_categorical(_uniform(rng, n), _language_table(), region * 3 + origin)
    household = draw_categorical(_uniform(rng, n), _HOUSEHOLD_BY_AGE, age)
    # Single parents are mostly women: most men drawn as single parents live alone instead.
    male_single_parent = (gender == 1) & (household == 3) & (_uniform(rng, n) < 0.8)
    household[male_single_parent] = 0

    # --- benefit, housing, health ---
    benefit_table = np.array(
        [
            (
                1 - cal.INTEGRATION_INCOME_SHARE[r] - cal.NO_BENEFIT_SHARE[r],
                cal.INTEGRATION_INCOME_SHARE[r],
                cal.NO_BENEFIT_SHARE[r],
            )
            for r in REGIONS
        ]
    )
    benefit = draw_categorical(_uniform(rng, n), benefit_table, region)
    housing_table = _housing_table()
    housing = draw_categorical(_uniform(rng, n), housing_table, region * 2 + (benefit == 1))
    region_share = probabilities(cal.REGION_SHARE, REGIONS)
    housing_share = np.zeros(3)
    for r, region_name in enumerate(REGIONS):
        p_ii = cal.INTEGRATION_INCOME_SHARE[region_name]
        housing_share += region_share[r] * (
            (1 - p_ii) * housing_table[r * 2] + p_ii * housing_table[r * 2 + 1]
        )
    mental = _uniform(rng, n) < _mental_health_by_housing(housing_share)[housing]
    age_relative = np.array([0.4, 0.6, 0.9, 1.4, 2.0])
    age_share = probabilities(cal.AGE_BAND_SHARE, AGE_BANDS)
    physical_p = cal.PHYSICAL_LIMITATION_SHARE * age_relative / float(age_share @ age_relative)
    physical = _uniform(rng, n) < physical_p[age]
    digital = draw_categorical(_uniform(rng, n), _digital_table(), education)

    # --- latent capacity and motivation ---
    z_cap = (
        CAPACITY_INTERCEPT
        + np.take(CAPACITY_EDUCATION, education)
        + np.take(CAPACITY_AGE, age)
        + CAPACITY_MENTAL_HEALTH * mental
        + CAPACITY_PHYSICAL * physical
        + np.take(CAPACITY_HOUSING, housing)
        + CAPACITY_NOISE * rng.standard_normal(n, dtype=np.float32)
    )
    capacity = sigmoid(z_cap)
    motivation = sigmoid(0.9 * rng.standard_normal(n, dtype=np.float32).astype(np.float64))

    # --- employment history ---
    p_work = sigmoid(-0.9 + 0.7 * z_cap + 1.0 * (motivation - 0.5) - 0.8 * (age == 0))
    months = rng.binomial(36, p_work).astype(np.int64)
    spells = np.where(months > 0, 1 + rng.poisson(months / 14.0), 0).astype(np.int64)
    del p_work

    # --- digital traces: follow digital literacy and motivation, not capacity ---
    mot_factor = 0.6 + 0.8 * motivation  # mean 1, so the calibrated shares hold
    registered_online = _uniform(rng, n) < (
        _scaled(_REGISTERED_ONLINE_RELATIVE, cal.REGISTERED_ONLINE_SHARE)[digital]
        * (0.8 + 0.4 * motivation)
    )
    online_cv = (
        _uniform(rng, n) < _scaled(_ONLINE_CV_RELATIVE, cal.ONLINE_CV_SHARE)[digital] * mot_factor
    )
    no_home_internet = np.array([1.0, 0.7, 0.4])[housing]
    logins = rng.poisson(
        np.array([1.5, 6.0, 12.0])[digital] * mot_factor * no_home_internet
    ).astype(np.int64)

    # --- documents: lost after homelessness; foreign diplomas often not recognised ---
    diploma_p = np.array([0.95, 0.75, 0.55])[origin] * np.array([1.0, 0.85, 0.55])[housing]
    diploma = _uniform(rng, n) < diploma_p
    address = _uniform(rng, n) < np.array([0.995, 0.85, 0.45])[housing]
    id_doc = (
        _uniform(rng, n)
        < np.array([0.985, 0.92, 0.6])[housing] * np.array([1.0, 0.98, 0.95])[origin]
    )
    n_missing = 3 - (diploma.astype(np.int8) + address + id_doc)
    completeness = np.clip(
        np.array([0.35, 0.65, 0.85])[digital]
        + 0.15 * (motivation - 0.5)
        - 0.08 * n_missing
        + 0.12 * rng.standard_normal(n, dtype=np.float32),
        0.0,
        1.0,
    )

    # --- location and mobility ---
    hub = draw_categorical(_uniform(rng, n), hub_probabilities(4), region)
    rural = (_uniform(rng, n) < np.array([0.35, 0.0, 0.45])[region]) & (housing != 2)
    spread = np.where(rural, 12.0, np.where(region == 1, 3.0, 4.0))
    spread = np.where(housing == 2, 1.5, spread)  # shelters and day centres are central
    x = HUB_X[hub] + spread * rng.standard_normal(n, dtype=np.float32)
    y = HUB_Y[hub] + spread * rng.standard_normal(n, dtype=np.float32)
    to_jobs = distance_to_nearest_hub(x, y)
    to_transport = (0.25 + 0.06 * to_jobs) * np.exp(0.6 * rng.standard_normal(n, dtype=np.float32))
    car_logit = (
        0.6
        + 1.2 * rural
        - 1.0 * (region == 1)
        - 1.2 * (benefit == 1)
        - np.array([0.0, 0.9, 2.5])[housing]
        - 0.8 * (age == 0)
        + 0.4 * (education == 2)
        - 0.4 * physical
    )
    has_car = _uniform(rng, n) < sigmoid(car_logit)

    # --- assessment and warranted track ---
    assessed = capacity + 0.08 * rng.standard_normal(n, dtype=np.float32)
    counsellor = 1 + np.searchsorted(np.array([0.3, 0.45, 0.6, 0.75]), assessed).astype(np.int64)
    level = np.searchsorted(np.array(WARRANTED_CUTS), capacity)  # 0 care ... 3 regular
    warranted = (3 - level).astype(np.int8)  # TRACKS order: regular=0 ... care=3

    # --- PES process: score, then track (Gumbel-max over track utilities) ---
    eta_fair = PES_INTERCEPT + PES_CAPACITY * logit(np.clip(capacity, 1e-9, 1 - 1e-9))
    trace_z = _trace_index(online_cv, registered_online, completeness, logins)
    eta = (
        eta_fair
        - float(k["missing_document_penalty"]) * n_missing
        + float(k["trace_weight"]) * trace_z
    )
    gumbel = rng.gumbel(size=(n, len(TRACKS))).astype(np.float32)
    cuts_eta = PES_INTERCEPT + PES_CAPACITY * logit(np.array(WARRANTED_CUTS))
    columns_so_far = {
        "mental_health_history": mental,
        "benefit_status": benefit,
        "housing_status": housing,
        "digital_literacy": digital,
        "origin": origin,
        "region": region,
        "age_band": age,
        "gender": gender,
        "education": education,
        "language": language,
        "household": household,
        "physical_limitation": physical,
        "has_car": has_car,
        "diploma_on_file": diploma,
        "address_on_file": address,
        "id_on_file": id_doc,
        "online_cv_updated": online_cv,
        "registered_online": registered_online,
    }
    offsets = np.zeros((n, len(TRACKS)), dtype=np.float32)
    offsets[:, TRACKS.index("sheltered")] = np.log(float(k["sheltered_odds_ratio"])) * _in_group(
        columns_so_far, str(k["steering_group"])
    )
    offsets[:, TRACKS.index("training")] = np.log(float(k["training_odds_ratio"])) * _in_group(
        columns_so_far, str(k["training_group"])
    )
    recommended = _recommend(eta, cuts_eta, gumbel + offsets)
    recommended_fair = _recommend(eta_fair, cuts_eta, gumbel)
    del gumbel, offsets

    # --- outcomes: capacity, motivation, labour market, support received ---
    job_logit = (
        JOB_INTERCEPT
        + JOB_CAPACITY * z_cap
        + JOB_MOTIVATION * (motivation - 0.5) * 2
        + np.take(JOB_REGION, region)
        + SUPPORT_JOB[recommended, warranted]
    )
    job = _uniform(rng, n) < sigmoid(job_logit)
    ratio = np.where(
        _in_group(columns_so_far, str(k["label_group"])), float(k["sustainable_ratio"]), 1.0
    )
    keep_p = sigmoid(
        SUSTAIN_INTERCEPT
        + SUSTAIN_CAPACITY * z_cap
        + SUSTAIN_MOTIVATION * (motivation - 0.5) * 2
        + SUPPORT_SUSTAIN[recommended, warranted]
    )
    trained = (recommended == 1) & (warranted <= 1)
    late_p = sigmoid(LATE_INTERCEPT + SUSTAIN_CAPACITY * z_cap + LATE_TRAINING * trained)
    u_sustain = _uniform(rng, n)
    sustainable = u_sustain < ratio * np.where(job, keep_p, late_p)

    cols = {
        "person_id": _person_ids(n, int(truth.seed)),
        "region": categorical(region, REGIONS),
        "age_band": categorical(age, AGE_BANDS, ordered=True),
        "gender": categorical(gender, GENDERS),
        "education": categorical(education, EDUCATION_LEVELS, ordered=True),
        "origin": categorical(origin, ORIGINS),
        "language": categorical(language, LANGUAGES),
        "household": categorical(household, HOUSEHOLDS),
        "benefit_status": categorical(benefit, BENEFIT_STATUSES),
        "mental_health_history": mental,
        "physical_limitation": physical,
        "housing_status": categorical(housing, HOUSING_STATUSES),
        "digital_literacy": categorical(digital, DIGITAL_LITERACY_LEVELS, ordered=True),
        "employment_spells_3y": spells,
        "months_worked_3y": months,
        "latent_work_capacity": capacity.astype(np.float64),
        "latent_motivation": motivation,
        "online_cv_updated": online_cv,
        "logins_90d": logins,
        "profile_completeness": completeness.astype(np.float64),
        "registered_online": registered_online,
        "diploma_on_file": diploma,
        "address_on_file": address,
        "id_on_file": id_doc,
        "location_x_km": x.astype(np.float64),
        "location_y_km": y.astype(np.float64),
        "distance_public_transport_km": to_transport.astype(np.float64),
        "distance_to_jobs_km": to_jobs,
        "has_car": has_car,
        "counsellor_assessment": counsellor,
        "pes_score": sigmoid(eta),
        "recommended_track": categorical(recommended, TRACKS),
        "recommended_track_fair": categorical(recommended_fair, TRACKS),
        "warranted_track": categorical(warranted, TRACKS),
        "job_28d_6m": job,
        "sustainable_12m": sustainable,
    }
    order = [c.name for c in PEOPLE_COLUMNS]
    return pd.DataFrame({name: cols[name] for name in order}, copy=False)


def _in_group(columns: dict[str, np.ndarray], group: str) -> np.ndarray:
    """Group membership from the generator's raw codes (before the DataFrame exists)."""
    from audit.data.schema import column_spec

    spec = parse_group(group)
    values = columns[spec.column]
    if isinstance(spec.value, bool):
        return np.asarray(values == spec.value)
    return np.asarray(values == column_spec(spec.column).categories.index(spec.value))


def _trace_index(
    online_cv: np.ndarray,
    registered_online: np.ndarray,
    completeness: np.ndarray,
    logins: np.ndarray,
) -> np.ndarray:
    raw = (
        online_cv.astype(np.float64)
        + registered_online
        + completeness
        + np.log1p(logins) / np.log1p(20.0)
    )
    return np.asarray((raw - raw.mean()) / raw.std())


def digital_trace_index(people: pd.DataFrame) -> np.ndarray:
    """The digital-trace index H4 reads as motivation, standardised over ``people``.

    Index = online_cv_updated + registered_online + profile_completeness
    + log(1 + logins_90d) / log(21), then centred and divided by its standard deviation. The H4
    knob ``trace_weight`` is in logit units of the PES score per unit of this index, computed
    over the whole generated population.
    """
    return _trace_index(
        people["online_cv_updated"].to_numpy(dtype=bool),
        people["registered_online"].to_numpy(dtype=bool),
        people["profile_completeness"].to_numpy(dtype=np.float64),
        people["logins_90d"].to_numpy(dtype=np.int64),
    )


def _recommend(eta: np.ndarray, cuts: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Track codes by Gumbel-max over ordered utilities.

    Utility of level j (0 care ... 3 regular) is s * (j * eta - sum of the first j cuts), so level
    j beats j-1 exactly when eta exceeds the j-th cut: a fair process centred on the warranted
    track. Offsets added to one track's utility multiply its odds against every other track by
    exp(offset), which is how H1 and H2 inject an odds ratio at equal score.
    """
    best = np.full(eta.shape, -np.inf)
    choice = np.zeros(eta.shape, dtype=np.int8)
    cum_cut = 0.0
    for lvl in range(len(TRACKS)):
        if lvl > 0:
            cum_cut += float(cuts[lvl - 1])
        track = len(TRACKS) - 1 - lvl
        u = TRACK_SHARPNESS * (lvl * eta - cum_cut) + noise[:, track]
        better = u > best
        choice[better] = track
        np.maximum(best, u, out=best)
    return choice
