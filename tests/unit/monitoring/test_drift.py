"""Drift statistics and the reference profile: pure functions, no servers."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from leadscore.errors import InsufficientDataError
from leadscore.features import FeatureSpec, InputField
from leadscore.features.spec import frame_columns
from leadscore.monitoring.drift import DriftThresholds, chi_square_p, compare, level, psi
from leadscore.monitoring.profile import MISSING_BIN, OTHER_BIN, build_profile, record_columns

SPEC = FeatureSpec(inputs=[
    InputField(name="lead_id", kind="id", required=True),
    InputField(name="pages", kind="numeric"),
    InputField(name="source", kind="categorical"),
    InputField(name="quote", kind="boolean"),
    InputField(name="notes", kind="text"),
    InputField(name="created_at", kind="datetime"),
], encoders=[])


def leads(n: int, seed: int, pages_shift: float = 0.0, referral: float = 0.3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pages = rng.poisson(4, n).astype(float) + pages_shift
    pages[rng.random(n) < 0.1] = np.nan
    source = np.where(rng.random(n) < referral, "referral", np.where(rng.random(n) < 0.5, "web", "partner"))
    return pd.DataFrame({
        "lead_id": [f"L{seed}-{i}" for i in range(n)], "pages": pages, "source": source,
        "quote": rng.random(n) < 0.4, "notes": np.where(rng.random(n) < 0.5, "call me", None),
        "created_at": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
    })


def profile_of(frame: pd.DataFrame, scores: np.ndarray | None = None):
    scores = np.linspace(0.01, 0.99, len(frame)) if scores is None else scores
    return build_profile(SPEC, frame_columns(frame), len(frame), scores)


def test_psi_is_zero_for_equal_shares_and_matches_the_formula() -> None:
    assert psi(np.array([10, 20, 70]), np.array([0.1, 0.2, 0.7])) == pytest.approx(0.0, abs=1e-12)
    expected = (0.5 - 0.25) * math.log(0.5 / 0.25) + (0.5 - 0.75) * math.log(0.5 / 0.75)
    assert psi(np.array([50, 50]), np.array([0.25, 0.75])) == pytest.approx(expected)


def test_psi_floors_an_empty_bin_instead_of_dividing_by_zero() -> None:
    value = psi(np.array([0, 100]), np.array([0.5, 0.5]))
    assert math.isfinite(value) and value > 2


def test_profile_bins_each_kind_and_ends_with_the_missing_share() -> None:
    frame = leads(3000, 1)
    profile = profile_of(frame)
    fields = {f.name: f for f in profile.fields}
    assert set(fields) == {"pages", "source", "quote", "notes"}  # no id, no timestamp
    assert fields["pages"].missing_share == pytest.approx(frame["pages"].isna().mean())
    assert fields["pages"].edges == sorted(set(fields["pages"].edges))  # tied quantiles merged
    assert fields["source"].bins[-2:] == [OTHER_BIN, MISSING_BIN]
    assert set(fields["source"].levels) == {"referral", "web", "partner"}
    assert fields["quote"].shares[1] == pytest.approx(frame["quote"].mean())
    assert fields["notes"].bins == ["given", MISSING_BIN]
    assert sum(profile.score.shares) == pytest.approx(1.0)


def test_an_unchanged_sample_is_not_flagged_and_a_shifted_one_is() -> None:
    profile = profile_of(leads(3000, 1))
    same = compare(profile, frame_columns(leads(2000, 2)), 2000, None)
    assert same.drifted == [] and max(f.psi for f in same.fields) < 0.1
    moved = compare(profile, frame_columns(leads(2000, 3, pages_shift=3, referral=0.7)), 2000, None)
    assert moved.drifted == ["pages", "source"]


def test_served_records_give_the_report_a_data_file_gives() -> None:
    profile = profile_of(leads(3000, 1))
    frame = leads(800, 4, referral=0.6)
    records = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
               for row in frame.astype(object).to_dict(orient="records")]
    for record in records:
        record["created_at"] = record["created_at"].isoformat()
    from_file = compare(profile, frame_columns(frame), len(frame), None)
    from_records = compare(profile, record_columns(records, [f.name for f in profile.fields]), len(records), None)
    assert from_records == from_file and "source" in from_file.drifted


def test_an_unseen_level_lands_in_other_and_does_not_zero_the_p_value_alone() -> None:
    profile = profile_of(leads(3000, 1))
    frame = leads(2000, 2)
    frame.loc[0, "source"] = "brand_new_channel"
    report = compare(profile, frame_columns(frame), len(frame), None)
    source = next(f for f in report.fields if f.name == "source")
    assert not source.drifted and source.p_value > 0.01


def test_a_window_below_the_minimum_is_refused_with_the_numbers() -> None:
    profile = profile_of(leads(3000, 1))
    with pytest.raises(InsufficientDataError, match=r"at least 500 leads .*\(got 499\)"):
        compare(profile, frame_columns(leads(499, 2)), 499, None)
    assert compare(profile, frame_columns(leads(50, 2)), 50, None, DriftThresholds(min_rows=50)).fields


def test_score_psi_moves_when_the_scores_do() -> None:
    profile = profile_of(leads(3000, 1), np.random.default_rng(0).beta(2, 8, 3000))
    frame = leads(1000, 2)
    calm = compare(profile, frame_columns(frame), 1000, np.random.default_rng(1).beta(2, 8, 1000))
    hot = compare(profile, frame_columns(frame), 1000, np.random.default_rng(1).beta(4, 6, 1000))
    assert calm.score_psi < 0.05 and hot.score_psi > 0.2
    assert "score" not in hot.drifted  # the list names fields; the score has its own number


def test_chi_square_treats_the_reference_as_a_sample() -> None:
    # identical shares: nothing to see whatever the sizes
    assert chi_square_p(np.array([300, 700]), np.array([30, 70])) == pytest.approx(1.0)
    # a real difference with both sides large is significant
    assert chi_square_p(np.array([500, 500]), np.array([3000, 7000])) < 1e-10


def test_levels_read_the_thresholds() -> None:
    thresholds = DriftThresholds()
    assert [level(v, thresholds) for v in (0.05, 0.1, 0.19, 0.2, 1.0)] == ["stable", "watch", "watch", "drift",
                                                                          "drift"]


CLIPPED_SPEC = SPEC.model_copy(update={"inputs": [
    f.model_copy(update={"clip": (0.0, 9.0)}) if f.name == "pages" else f for f in SPEC.inputs]})


def test_drift_compares_raw_values_and_reports_the_share_serving_clips() -> None:
    """Decision (leadscore.monitoring.profile): drift is measured on the raw values on both sides,
    and the share beyond the range serving clips to (the feature contract's) is reported."""
    frame = leads(3000, 1)
    profile = build_profile(CLIPPED_SPEC, frame_columns(frame), len(frame), np.linspace(0.01, 0.99, len(frame)))
    pages = next(f for f in profile.fields if f.name == "pages")
    assert pages.training_range == (0.0, 9.0)  # the contract's range, not the held-out rows' own
    assert all(f.training_range is None for f in profile.fields if f.name != "pages")

    window = leads(2000, 2)
    window["pages"] = window["pages"] * 3  # a unit change upstream: most values past the training max
    report = compare(profile, frame_columns(window), len(window), None)
    drift = next(f for f in report.fields if f.name == "pages")
    beyond = float((window["pages"] > 9.0).sum()) / len(window)
    assert 0.3 < beyond < 0.7 and drift.out_of_range == pytest.approx(beyond, abs=1e-6)
    assert drift.drifted and report.drifted == ["pages"]
    assert all(f.out_of_range is None for f in report.fields if f.name != "pages")

    # what the model sees: the same window clipped. The PSI does not move (the end bins are open),
    # so measuring the clipped values would only have hidden the share beyond the range.
    clipped = window.assign(pages=window["pages"].clip(0.0, 9.0))
    seen = next(f for f in compare(profile, frame_columns(clipped), len(clipped), None).fields if f.name == "pages")
    assert seen.psi == pytest.approx(drift.psi) and seen.out_of_range == 0.0

    unchanged = compare(profile, frame_columns(leads(2000, 3)), 2000, None)
    assert next(f for f in unchanged.fields if f.name == "pages").out_of_range < 0.01


def test_a_profile_written_before_the_range_was_kept_still_loads() -> None:
    from leadscore.monitoring.profile import ReferenceProfile

    stored = json.loads(profile_of(leads(1000, 1)).model_dump_json())
    for field in stored["fields"]:
        field.pop("training_range")
    report = compare(ReferenceProfile.model_validate(stored), frame_columns(leads(600, 2)), 600, None)
    assert all(f.out_of_range is None for f in report.fields)
