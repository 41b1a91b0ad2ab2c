"""What each kind of raw field becomes, and what never reaches the matrix."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from leadscore.data import DatasetSpec, synth, validate
from leadscore.features import LeadFeatures
from leadscore.features.pipeline import is_contact_field


@pytest.fixture(scope="module")
def fitted() -> tuple[LeadFeatures, pd.DataFrame]:
    frame = synth.generate("pc", 3000, seed=2)
    spec = DatasetSpec(target="converted", id_column="lead_id", time_column="created_at")
    clean, schema = validate(frame, spec)
    return LeadFeatures(schema).fit(clean, clean["converted"]), clean


def _column(features: LeadFeatures, matrix: np.ndarray, name: str) -> np.ndarray:
    return matrix[:, list(features.feature_names_out_).index(name)]


def test_lead_features_leaves_out_target_id_and_ground_truth(fitted: tuple) -> None:
    features, _ = fitted
    names = set(features.feature_names_out_)
    assert not {n for n in names if n.startswith(("converted", "lead_id", "true_probability"))}
    assert set(features.feature_origin_.values()).isdisjoint({"converted", "lead_id", "true_probability"})


def test_lead_features_returns_float32_with_one_name_per_column(fitted: tuple) -> None:
    features, clean = fitted
    matrix = features.transform(clean)
    assert matrix.dtype == np.float32
    assert matrix.shape == (len(clean), len(features.feature_names_out_))
    assert len(set(features.feature_names_out_)) == matrix.shape[1]
    assert list(features.get_feature_names_out()) == list(features.feature_names_out_)


def test_lead_features_one_hot_encodes_few_levels_with_other_bucket(fitted: tuple) -> None:
    features, clean = fitted
    names = list(features.feature_names_out_)
    assert "source=referral" in names and "source=__other__" in names
    matrix = features.transform(clean.assign(source="billboard"))
    assert (_column(features, matrix, "source=__other__") == 1).all()
    assert (_column(features, matrix, "source=referral") == 0).all()
    assert "utm_medium=__missing__" in names  # missing is a level of its own


def test_lead_features_rate_encodes_many_levels_out_of_fold(fitted: tuple) -> None:
    features, clean = fitted
    assert "utm_campaign__frequency" in features.feature_names_out_
    oof = LeadFeatures(features.schema).fit_transform(clean, clean["converted"])
    full = features.transform(clean)
    rate_oof = _column(features, oof, "utm_campaign__target_rate")
    rate_full = _column(features, full, "utm_campaign__target_rate")
    assert not np.array_equal(rate_oof, rate_full)
    np.testing.assert_array_equal(_column(features, oof, "utm_campaign__frequency"),
                                  _column(features, full, "utm_campaign__frequency"))
    unseen = features.transform(clean.head(1).assign(utm_campaign="brand_new"))
    assert _column(features, unseen, "utm_campaign__frequency")[0] == 0.0
    assert _column(features, unseen, "utm_campaign__target_rate")[0] == pytest.approx(clean["converted"].mean())


def test_lead_features_out_of_fold_rates_do_not_see_own_label() -> None:
    # every level is unique: an in-fold rate would equal the row's own label
    frame = pd.DataFrame({"code": [f"c{i}" for i in range(400)]})
    labels = np.arange(400) % 2
    features = LeadFeatures(max_onehot=5)
    out_of_fold = features.fit_transform(frame, labels)[:, 1]
    in_fold = features.transform(frame)[:, 1]
    assert np.corrcoef(in_fold, labels)[0, 1] > 0.99  # the leak fit_transform must avoid
    assert np.corrcoef(out_of_fold, labels)[0, 1] <= 0.0
    assert np.abs(out_of_fold - labels.mean()).max() < 0.05  # unseen in fold: that fold's prior


def test_lead_features_keeps_missing_numbers_as_nan_with_indicator(fitted: tuple) -> None:
    features, clean = fitted
    matrix = features.transform(clean)
    pages = _column(features, matrix, "pages_visited")
    flag = _column(features, matrix, "pages_visited__missing")
    assert np.isnan(pages).any()
    np.testing.assert_array_equal(np.isnan(pages), flag == 1)


def test_lead_features_derives_calendar_parts_in_utc() -> None:
    frame = pd.DataFrame({"created": pd.to_datetime(["2025-03-03 10:30", "2025-03-08 20:00", None])})
    features = LeadFeatures().fit(frame)
    matrix = features.transform(frame)
    named = dict(zip(features.feature_names_out_, matrix.T, strict=True))
    assert named["created__hour"][:2].tolist() == [10, 20]
    assert named["created__day_of_week"][:2].tolist() == [0, 5]  # Monday, Saturday
    assert named["created__is_business_hours"][:2].tolist() == [1, 0]
    assert named["created__is_weekend"][:2].tolist() == [0, 1]
    assert named["created__month"][:2].tolist() == [3, 3]
    assert named["created__quarter"][:2].tolist() == [1, 1]
    assert all(math.isnan(v[2]) for v in named.values())


def test_lead_features_month_matches_calendar_across_years() -> None:
    days = pd.date_range("1999-12-31", "2031-03-01", freq="17D")
    features = LeadFeatures().fit(pd.DataFrame({"t": days}))
    months = features.transform(pd.DataFrame({"t": days}))[:, 4]
    np.testing.assert_array_equal(months, days.month.to_numpy())


def test_lead_features_scores_contact_completeness_and_ratios() -> None:
    frame = pd.DataFrame({
        "email": ["a@b.c", None, ""], "has_phone": [True, False, None],
        "pages_visited": [4.0, 0.0, None], "time_on_site": [120.0, 30.0, 10.0],
        "inbound_messages": [3.0, 0.0, 1.0], "outbound_messages": [1.0, 0.0, 3.0],
    })
    features = LeadFeatures().fit(frame)
    named = dict(zip(features.feature_names_out_, features.transform(frame).T, strict=True))
    assert "email" not in named and "email=a@b.c" not in named  # personal data: presence only
    assert named["email__present"].tolist() == [1, 0, 0]
    assert named["contact_completeness"].tolist() == [1.0, 0.0, 0.0]
    fields = {f.name: f for f in features.spec_.inputs}
    assert fields["email"].kind == "categorical" and fields["has_phone"].kind == "boolean"
    assert named["time_per_page"][0] == 30.0 and np.isnan(named["time_per_page"][1:]).all()
    assert named["inbound_share"][0] == 0.75 and np.isnan(named["inbound_share"][1])
    assert features.feature_origin_["contact_completeness"] == "contact_completeness"
    assert features.feature_origin_["email__present"] == "email"


def test_lead_features_counts_text_characters_and_words() -> None:
    notes = [f"lead number {i} asked for a quote on the phone" for i in range(120)] + [None]
    frame = pd.DataFrame({"notes": notes})
    features = LeadFeatures().fit(frame)
    assert list(features.feature_names_out_) == ["notes__chars", "notes__words"]
    matrix = features.transform(frame)
    assert matrix[0].tolist() == [len(notes[0]), 10]
    assert matrix[-1].tolist() == [0, 0]


@pytest.mark.parametrize(("name", "contact"), [
    ("email", True), ("Email Address", True), ("has_zipcode", True), ("phone", True),
    ("Do Not Email", False), ("mobile_device", False), ("utm_campaign_name", False),
])
def test_is_contact_field_matches_contact_names_only(name: str, contact: bool) -> None:
    assert is_contact_field(name) is contact


def test_lead_features_maps_each_output_to_its_raw_field(fitted: tuple) -> None:
    features, _ = fitted
    origin = features.feature_origin_
    assert set(origin) == set(features.feature_names_out_)
    assert origin["source=referral"] == "source"
    assert origin["created_at__hour"] == "created_at"
    assert origin["pages_visited__missing"] == "pages_visited"


def test_lead_features_encodes_numeric_contact_field_by_presence_only() -> None:
    frame = pd.DataFrame({"zip": [12345, None, 90210], "pages": [1, 2, 3]})
    features = LeadFeatures().fit(frame)
    assert list(features.feature_names_out_) == ["pages", "zip__present", "contact_completeness"]
    features.validate_records([{"zip": 12345}])
    assert features.transform_records([{"zip": "02134"}])[0].tolist()[1:] == [1.0, 1.0]
