"""Calibration targets of the synthetic population, one row per figure, each with its source.

Why one table: the generator reads its parameters from the constants below, the data card cites
them, and the tests loop over :data:`CALIBRATION_TARGETS` to check that the generated marginals
match within sampling error. A figure changed here changes all three at once.

Every target is a share (``kind="share"``: P(event | among)) or a ratio of two shares
(``kind="ratio"``: P(event | among) / P(event | among_ref), ``among_ref=None`` meaning everyone).
Events and populations are pandas ``DataFrame.eval`` expressions over the people table, so the
table stays plain, JSON-able data.
``tolerance`` is the structural slack allowed on top of sampling error: 0 for figures the generator
sets directly, more for figures it reaches only through the causal model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

# --- Calibration figures (sources in datasets/synthetic_population.md), with the derivations ---

#: ILO unemployment rates 2023 (Statbel): Flanders 3.3%, Brussels 10.7%, Wallonia 8.2%.
ILO_UNEMPLOYMENT_RATE = {"flanders": 0.033, "brussels": 0.107, "wallonia": 0.082}
#: Population shares of the regions (Statbel 1 Jan 2023, rounded). Not in the project brief: needed to turn
#: regional unemployment rates into regional shares of job seekers.
POPULATION_SHARE = {"flanders": 0.580, "brussels": 0.106, "wallonia": 0.314}
_weights = {r: POPULATION_SHARE[r] * ILO_UNEMPLOYMENT_RATE[r] for r in POPULATION_SHARE}
#: Regional shares of job seekers, proportional to population share x unemployment rate
#: (Flanders 34%, Brussels 20%, Wallonia 46%). The implied national rate, 5.6%, matches the
#: published Belgian 5.6%, which is a check on the derivation.
REGION_SHARE = {r: w / sum(_weights.values()) for r, w in _weights.items()}

#: About 1 in 6 Flemish job seekers has a cognitive, psychological or physical limitation
#: (Flemish government, launch of "individueel maatwerk").
LIMITATION_SHARE = 1 / 6
#: Part of that 1 in 6 that is a mental-health history. Assumption (no published split for job
#: seekers); sheltered-work figures in the project brief (52% mental disability in Walloon ETA, >70%
#: psychic or cognitive in Brussels ETA) say mental-health problems are a large part.
MENTAL_HEALTH_SHARE = 0.09
#: Physical limitation drawn independently so that P(any limitation) = LIMITATION_SHARE.
PHYSICAL_LIMITATION_SHARE = 1 - (1 - LIMITATION_SHARE) / (1 - MENTAL_HEALTH_SHARE)

#: Education of job seekers: population 25-64 shares (Eurostat 2023 Belgium ~20% low, 36% medium,
#: 44% high; not in the project brief) weighted by unemployment rate by education (low-educated 11.2% from
#: the project brief; medium 5.5% and high 3.0% assumed). Gives roughly 40% / 36% / 24%.
EDUCATION_SHARE = {"low": 0.40, "medium": 0.36, "high": 0.24}

#: Digital vulnerability (King Baudouin Foundation barometer): 46% of 16-74 year-olds in 2021,
#: 40% in 2023; 68% of low-educated have weak skills vs 19% of high-educated. The medium-educated
#: share (31%) is solved so that the job-seeker total lands at 43%, the middle of 40-46%.
DIGITAL_LOW_BY_EDUCATION = {"low": 0.68, "medium": 0.31, "high": 0.19}
#: Among people who are not digitally vulnerable, the share with high skills (assumption).
DIGITAL_HIGH_AMONG_NOT_LOW = {"low": 0.25, "medium": 0.45, "high": 0.70}

#: Homelessness among job seekers by region. Brussels counts 7,134 homeless people (Bruss'help,
#: Nov 2022), 0.58% of its 1.24 million inhabitants; Flemish/Walloon local counts (KBS / KU Leuven
#: LUCAS, 9,677 in 2020 and 7,912 in 2022) cover only some municipalities, so we take half the
#: Brussels population rate there. Homelessness concentrates among job seekers: we assume a
#: concentration factor of 4 (assumption), giving 2.3% in Brussels and about 1.2% elsewhere.
HOMELESS_SHARE = {"flanders": 0.0115, "brussels": 0.023, "wallonia": 0.0115}
#: Unstable housing (temporary stay with friends, eviction notice): assumption, 3x homelessness.
UNSTABLE_HOUSING_FACTOR = 3.0
#: Housing risk is higher among integration-income recipients (odds-like multiplier, assumption).
HOUSING_RISK_MULTIPLIER_INTEGRATION_INCOME = 3.0

#: Integration income (RIS/leefloon): 1.31% of the population nationally, 3.6% in Brussels
#: (2022). Per job seeker this is proportional to RIS rate / unemployment rate: 0.234 nationally,
#: 0.336 in Brussels (ratio 1.44). We assume 60% of recipients are registered job seekers, giving a
#: 14% share nationally and 20% in Brussels; Flanders and Wallonia split the rest (assumption).
INTEGRATION_INCOME_SHARE = {"flanders": 0.100, "brussels": 0.200, "wallonia": 0.143}
#: Job seekers without any benefit (school leavers in their waiting period, partners): assumption.
NO_BENEFIT_SHARE = {"flanders": 0.15, "brussels": 0.15, "wallonia": 0.15}

#: Actiris (Brussels): 46% of job seekers registered online (Sept 2022).
REGISTERED_ONLINE_SHARE = 0.46
#: Le Forem: 29% of job seekers publish a CV online.
ONLINE_CV_SHARE = 0.29

#: Employment rate of Flemish 15-64 with a disability or long-term condition 47.3% vs 76.8% overall
#: (Statistiek Vlaanderen): ratio 0.62. Austria (AMS 2010): 28% of exits from unemployment by people
#: with health restrictions went into a job vs 47% for all: ratio 0.60. We use 0.60 for the ratio of
#: the 6-month job rate of job seekers with a limitation to all job seekers, and 47% for the level.
JOB_RATE_ALL = 0.47
JOB_RATE_RATIO_LIMITATION = 0.60

#: Origin of job seekers by region (assumption from VDAB/Actiris/Forem nationality statistics; not
#: in the project brief): share belgian, eu, non_eu.
ORIGIN_SHARE = {
    "flanders": {"belgian": 0.68, "eu": 0.10, "non_eu": 0.22},
    "brussels": {"belgian": 0.37, "eu": 0.18, "non_eu": 0.45},
    "wallonia": {"belgian": 0.74, "eu": 0.12, "non_eu": 0.14},
}
#: Age bands of job seekers (assumption, roughly the Belgian register).
AGE_BAND_SHARE = {"18-24": 0.16, "25-34": 0.27, "35-44": 0.22, "45-54": 0.18, "55-64": 0.17}
#: Gender (assumption): 'x' is kept as a small group so audits meet small cells.
GENDER_SHARE = {"female": 0.47, "male": 0.528, "x": 0.002}


Kind = Literal["share", "ratio"]


@dataclass(frozen=True)
class CalibrationTarget:
    """One published figure the generator must reproduce, with where it comes from."""

    name: str
    kind: Kind
    event: str
    among: str | None
    target: float
    tolerance: float
    source: str
    among_ref: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, for the data card and JSON."""
        return asdict(self)


_KBS = "King Baudouin Foundation, Barometer of digital inclusion (2021, 2023)"
_ILO = "Statbel, ILO unemployment 2023, and population 1 Jan 2023 (derivation in calibration.py)"
_RIS = "SPP Intégration sociale, integration income 2022 (derivation in calibration.py)"
_HOM = "Bruss'help count Nov 2022; KBS/KU Leuven LUCAS counts (derivation in calibration.py)"

CALIBRATION_TARGETS: tuple[CalibrationTarget, ...] = (
    *(
        CalibrationTarget(
            f"region_share_{r}", "share", f"region == '{r}'", None, REGION_SHARE[r], 0.0, _ILO
        )
        for r in REGION_SHARE
    ),
    CalibrationTarget(
        "limitation_share",
        "share",
        "mental_health_history or physical_limitation",
        None,
        LIMITATION_SHARE,
        0.0,
        "Flemish government, 'individueel maatwerk' launch: 1 in 6",
    ),
    CalibrationTarget(
        "digital_low_share",
        "share",
        "digital_literacy == 'low'",
        None,
        0.43,
        0.03,
        _KBS,
    ),
    *(
        CalibrationTarget(
            f"digital_low_among_{e}_educated",
            "share",
            "digital_literacy == 'low'",
            f"education == '{e}'",
            DIGITAL_LOW_BY_EDUCATION[e],
            0.0,
            _KBS,
        )
        for e in ("low", "high")
    ),
    CalibrationTarget(
        "homeless_share_brussels",
        "share",
        "housing_status == 'homeless'",
        "region == 'brussels'",
        HOMELESS_SHARE["brussels"],
        0.0,
        _HOM,
    ),
    CalibrationTarget(
        "homeless_share_flanders",
        "share",
        "housing_status == 'homeless'",
        "region == 'flanders'",
        HOMELESS_SHARE["flanders"],
        0.0,
        _HOM,
    ),
    CalibrationTarget(
        "integration_income_share",
        "share",
        "benefit_status == 'integration_income'",
        None,
        sum(REGION_SHARE[r] * INTEGRATION_INCOME_SHARE[r] for r in REGION_SHARE),
        0.0,
        _RIS,
    ),
    CalibrationTarget(
        "integration_income_share_brussels",
        "share",
        "benefit_status == 'integration_income'",
        "region == 'brussels'",
        INTEGRATION_INCOME_SHARE["brussels"],
        0.0,
        _RIS,
    ),
    CalibrationTarget(
        "registered_online_share",
        "share",
        "registered_online",
        None,
        REGISTERED_ONLINE_SHARE,
        0.02,
        "Actiris: 46% of job seekers registered online (Sept 2022)",
    ),
    CalibrationTarget(
        "online_cv_share",
        "share",
        "online_cv_updated",
        None,
        ONLINE_CV_SHARE,
        0.02,
        "Le Forem: 29% of job seekers publish a CV online",
    ),
    CalibrationTarget(
        "job_rate_all",
        "share",
        "job_28d_6m",
        None,
        JOB_RATE_ALL,
        0.03,
        "AMS 2010 (Austria): 47% of exits from unemployment into a job",
    ),
    CalibrationTarget(
        "job_rate_ratio_limitation",
        "ratio",
        "job_28d_6m",
        "mental_health_history or physical_limitation",
        JOB_RATE_RATIO_LIMITATION,
        0.05,
        "AMS 2010: 28% vs 47%; Statistiek Vlaanderen: employment 47.3% vs 76.8%",
    ),
)
