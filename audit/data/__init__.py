"""Data: schemas and loaders for people and vacancies, and the synthetic population generator.

>>> from audit.data import generate_population, TRACKS
>>> pop = generate_population(500, scenario="no_bias", seed=0)
>>> sorted(pop.people["recommended_track"].cat.categories) == sorted(TRACKS)
True
"""

from audit.data.calibration import CALIBRATION_TARGETS, CalibrationTarget
from audit.data.population import (
    SyntheticPopulation,
    digital_trace_index,
    generate_population,
    group_mask,
)
from audit.data.scenarios import KNOBS, SCENARIOS, InjectedEffect, InjectedTruth, resolve_knobs
from audit.data.schema import (
    DIGITAL_TRACE_FEATURES,
    DOCUMENT_FEATURES,
    LATENT_COLUMNS,
    MOBILITY_FEATURES,
    OBSERVED_FEATURES,
    OUTCOME_COLUMNS,
    PEOPLE_COLUMNS,
    SENSITIVE_ATTRIBUTES,
    TRACKS,
    VACANCY_COLUMNS,
    load_people,
    load_vacancies,
    validate_people,
    validate_vacancies,
)
from audit.data.vacancies import rank_vacancies

__all__ = [
    "CALIBRATION_TARGETS",
    "DIGITAL_TRACE_FEATURES",
    "DOCUMENT_FEATURES",
    "KNOBS",
    "LATENT_COLUMNS",
    "MOBILITY_FEATURES",
    "OBSERVED_FEATURES",
    "OUTCOME_COLUMNS",
    "PEOPLE_COLUMNS",
    "SCENARIOS",
    "SENSITIVE_ATTRIBUTES",
    "TRACKS",
    "VACANCY_COLUMNS",
    "CalibrationTarget",
    "InjectedEffect",
    "InjectedTruth",
    "SyntheticPopulation",
    "digital_trace_index",
    "generate_population",
    "group_mask",
    "load_people",
    "load_vacancies",
    "rank_vacancies",
    "resolve_knobs",
    "validate_people",
    "validate_vacancies",
]
