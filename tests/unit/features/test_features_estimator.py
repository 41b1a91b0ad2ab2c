"""LeadFeatures honours scikit-learn's estimator contract (parameters kept as given, fitted state in "_" names)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import estimator_checks_generator

from leadscore.features import LeadFeatures


def _check_name(check: object) -> str:
    return getattr(getattr(check, "func", check), "__name__", str(check))


# Every scikit-learn estimator check but the array-API one: LeadFeatures takes DataFrames and
# claims no array-API support, and that check only skips itself unless SCIPY_ARRAY_API is set.
SKLEARN_CHECKS = [(estimator, check) for estimator, check in estimator_checks_generator(LeadFeatures())
                  if _check_name(check) != "check_array_api_input"]


@pytest.mark.parametrize(("estimator", "check"), SKLEARN_CHECKS, ids=lambda item: _check_name(item)
                         if callable(item) else type(item).__name__)
def test_lead_features_passes_sklearn_checks(estimator: LeadFeatures, check: object) -> None:
    check(estimator)  # type: ignore[operator]


def test_lead_features_init_stores_arguments_unchanged_for_clone() -> None:
    features = LeadFeatures(max_onehot=4, smoothing=2.5, random_state=9)
    copy = clone(features)
    assert copy.get_params() == features.get_params()
    assert copy.get_params()["max_onehot"] == 4
    assert not hasattr(copy, "spec_")


def test_lead_features_transform_refuses_when_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        LeadFeatures().transform(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(NotFittedError):
        LeadFeatures().transform_records([{"a": 1.0}])


def test_lead_features_second_fit_overwrites_learned_state() -> None:
    features = LeadFeatures()
    features.fit(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}))
    first = list(features.feature_names_out_)
    features.fit(pd.DataFrame({"c": [1.0, 2.0]}))
    assert first == ["a", "b=x", "b=y", "b=__other__"]
    assert list(features.feature_names_out_) == ["c"]
    assert features.n_features_in_ == 1


def test_lead_features_refuses_y_of_wrong_length() -> None:
    with pytest.raises(ValueError, match="y has 1 values for 2 rows"):
        LeadFeatures().fit(pd.DataFrame({"a": [1.0, 2.0]}), np.array([1]))
