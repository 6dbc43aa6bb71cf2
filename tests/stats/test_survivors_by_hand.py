"""Hand-worked cases for mutants that survived the mutation run (issue 14; tests/MUTANTS.md).

Each test states what the code must do, worked out here by hand or from the definition.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from audit.metrics.scores import auc_by_group


def test_auc_of_two_tied_people_is_one_half():
    # One positive and one negative with the same score: the pair counts half (Mann-Whitney),
    # so the AUC is 0.5, also when the table has only these two rows.
    got = auc_by_group(
        np.zeros(2, int), np.array([0, 0]), np.array([1.0, 0]), np.array([0.0, 1]), 1
    )
    assert got.tolist() == [0.5] == [roc_auc_score([1, 0], [0.3, 0.3])]


def test_auc_of_groups_without_rows_at_the_end_is_undefined():
    # Groups 2 and 3 have nobody: no AUC for them, and the others are unaffected.
    groups = np.array([0, 0, 1, 1])
    positive = np.array([0.0, 1, 0, 1])
    got = auc_by_group(groups, None, positive, 1 - positive, 4)
    assert got[:2].tolist() == [1.0, 1.0] and np.isnan(got[2:]).all()
