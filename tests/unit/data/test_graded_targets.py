"""Graded targets: the mapping from a lead's feedback to a score (seed 001), the soft-label rows
the learners see, and the feedback columns that never become features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pydantic
import pytest

from leadscore.api.feedback import SIGNAL_COLUMNS, TARGET_SCORE_COLUMN, LeadSignals, TargetsSpec, target_score
from leadscore.collector.feedback import lead_signals
from leadscore.data import DatasetSpec, infer_schema, synth
from leadscore.data.targets import soft_labels
from leadscore.errors import DatasetError
from leadscore.store.events import FeedbackRow
from leadscore.trainer.algorithms.base import soft_rows

DEFAULTS = TargetsSpec()


@pytest.mark.parametrize(("signals", "converted", "expected"), [
    (LeadSignals(), True, 1.0),
    (LeadSignals(converted=True, rating=10), False, 1.0),
    (LeadSignals(rating=35, contact_successful=True, contacted=True), False, 0.35),
    (LeadSignals(contacted=True, contact_successful=True, longest_view_seconds=900), False, 0.9),
    (LeadSignals(contacted=True), False, 0.7),
    (LeadSignals(quickest_archive_seconds=10, longest_view_seconds=900), False, 0.2),
    (LeadSignals(quickest_archive_seconds=31, longest_view_seconds=300), False, 0.7),
    (LeadSignals(longest_view_seconds=120), False, 0.5),
    (LeadSignals(longest_view_seconds=119), False, 0.0),
    (LeadSignals(), False, 0.0),
])
def test_seed_001_defaults_map_feedback_to_one_target_by_the_first_rule_that_applies(
        signals: LeadSignals, converted: bool, expected: float) -> None:
    assert target_score(signals, converted, DEFAULTS) == pytest.approx(expected)


def test_the_mapping_and_its_thresholds_are_knobs() -> None:
    strict = TargetsSpec(long_view=0.6, long_view_seconds=600, normal_view_seconds=200, use_rating=False)
    assert target_score(LeadSignals(longest_view_seconds=400), False, strict) == 0.5
    assert target_score(LeadSignals(longest_view_seconds=600), False, strict) == 0.6
    assert target_score(LeadSignals(rating=90), False, strict) == 0.0


@pytest.mark.parametrize(("fields", "named"), [
    ({"longView": 1.5}, "longView"),
    ({"quickArchiveSeconds": 200}, "expected quickArchiveSeconds < normalViewSeconds"),
    ({"conversion": -0.1}, "conversion"),
    ({"colour": "red"}, "colour"),
])
def test_a_bad_mapping_is_refused_naming_the_field(fields: dict[str, object], named: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=named):
        TargetsSpec.model_validate(fields)


def test_lead_signals_keep_the_latest_rating_the_longest_view_and_the_quickest_archive() -> None:
    at = pd.Timestamp("2026-01-01", tz="UTC").to_pydatetime()
    rows = [FeedbackRow("L1", "implicit", "view", None, 100.0, None, at),
            FeedbackRow("L1", "explicit", "rate", 30.0, None, None, at),
            FeedbackRow("L1", "implicit", "view", None, 50.0, None, at),
            FeedbackRow("L1", "explicit", "rate", 75.0, None, None, at),
            FeedbackRow("L1", "implicit", "archive", None, 9.0, None, at),
            FeedbackRow("L1", "implicit", "archive", None, 40.0, None, at),
            FeedbackRow("L2", "explicit", "contact", None, None, False, at)]
    signals = lead_signals(rows)
    assert signals["L1"] == LeadSignals(rating=75.0, longest_view_seconds=100.0, quickest_archive_seconds=9.0,
                                        events=6)
    assert signals["L2"] == LeadSignals(contacted=True, events=1)


def test_soft_labels_come_from_feedback_columns_with_conversions_at_the_conversion_score() -> None:
    frame = pd.DataFrame({SIGNAL_COLUMNS["longest_view_seconds"]: [400.0, np.nan, 130.0],
                          SIGNAL_COLUMNS["contacted"]: [False, True, False],
                          SIGNAL_COLUMNS["rating"]: [np.nan, np.nan, np.nan]})
    labels = soft_labels(frame, np.array([0, 0, 1]), TargetsSpec(conversion=0.95))
    assert labels.tolist() == [0.7, 0.7, 0.95]


def test_soft_labels_read_a_target_score_column_and_refuse_values_outside_0_1() -> None:
    frame = pd.DataFrame({TARGET_SCORE_COLUMN: [0.3, np.nan, 0.1]})
    assert soft_labels(frame, np.array([0, 0, 1]), DEFAULTS).tolist() == [0.3, 0.0, 1.0]
    with pytest.raises(DatasetError, match="target_score: 1 values outside"):
        soft_labels(pd.DataFrame({TARGET_SCORE_COLUMN: [0.3, 7.0]}), np.array([0, 0]), DEFAULTS)


def test_soft_labels_without_feedback_or_target_score_say_what_is_missing() -> None:
    with pytest.raises(DatasetError, match="neither a target_score column nor feedback"):
        soft_labels(pd.DataFrame({"x": [1, 2]}), np.array([0, 1]), DEFAULTS)


def test_soft_rows_give_each_graded_row_a_positive_of_weight_s_and_a_negative_of_weight_1_minus_s() -> None:
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    rows, labels, weights = soft_rows(x, np.array([1, 0, 0]), np.array([1.0, 0.0, 0.7]))
    assert rows.tolist() == [[0, 1], [4, 5], [2, 3], [4, 5]]
    assert labels.tolist() == [1, 1, 0, 0]
    assert weights.tolist() == pytest.approx([1.0, 0.7, 1.0, 0.3])
    same, y, none = soft_rows(x, np.array([1, 0, 0]), None)
    assert same is x and none is None and y.tolist() == [1, 0, 0]


def test_feedback_and_target_score_columns_are_never_features() -> None:
    leads = synth.generate("pc", 300, seed=1)
    frame = pd.concat([leads, synth.feedback(leads, seed=1)], axis=1).assign(**{TARGET_SCORE_COLUMN: 0.5})
    roles = {c.name: c.role for c in infer_schema(frame, DatasetSpec(target="converted")).columns}
    assert {roles[c] for c in SIGNAL_COLUMNS.values()} == {"excluded"}
    assert roles[TARGET_SCORE_COLUMN] == "excluded"


def test_synthetic_feedback_is_more_favourable_for_better_leads() -> None:
    leads = synth.generate("pc", 4000, seed=2)
    signals = synth.feedback(leads, seed=2, noise=0.5)
    good = leads["true_probability"] > leads["true_probability"].median()
    view = signals[SIGNAL_COLUMNS["longest_view_seconds"]]
    assert view[good].median() > view[~good].median()
    contacted = signals[SIGNAL_COLUMNS["contacted"]]
    assert contacted[good].mean() > contacted[~good].mean()
