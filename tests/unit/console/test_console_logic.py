"""The console's pure parts: the login cookie, CSRF tokens, chart specs and action patches."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadscore.console import actions, charts, session
from leadscore.experiments.report import TimelinePoint

SECRET = "s" * 40


def test_cookie_round_trips_and_refuses_forgery_and_age() -> None:
    cookie = session.seal(SECRET, "tok")

    assert session.unseal(SECRET, cookie, max_age=60) == "tok"
    assert session.unseal("x" * 40, cookie, max_age=60) is None
    assert session.unseal(SECRET, cookie + "x", max_age=60) is None
    assert session.unseal(SECRET, cookie, max_age=-1) is None
    assert session.unseal(SECRET, None, max_age=60) is None


def test_csrf_token_is_bound_to_the_session_token() -> None:
    good = session.csrf_token(SECRET, "tok")

    assert session.csrf_ok(SECRET, "tok", good)
    assert not session.csrf_ok(SECRET, "other", good)
    assert not session.csrf_ok(SECRET, "tok", None)
    assert not session.csrf_ok(SECRET, "tok", "")


def test_drivers_sum_features_per_field_and_keep_the_top_ten_largest_last() -> None:
    card = {"feature_importance": [{"feature": f"f{i}", "field": f"field{i % 12}", "mean_abs_contribution": i}
                                   for i in range(24)]}

    trace = charts.drivers(card)["data"][0]

    assert len(trace["y"]) == 10
    assert trace["y"][-1] == "field11" and trace["x"][-1] == 11 + 23
    assert trace["x"] == sorted(trace["x"])


def test_metrics_chart_compares_with_the_previous_version_when_given() -> None:
    current = {"precision": 0.3, "recall": 0.7, "f1": 0.4, "roc_auc": 0.8, "accuracy": 0.7, "brier": 0.1}

    alone = charts.metrics(current, None, ("v2", ""))["data"]
    both = charts.metrics(current, {"roc_auc": 0.75}, ("v2", "v1"))["data"]

    assert len(alone) == 1 and alone[0]["x"] == list(charts.METRICS)
    assert [t["name"] for t in both] == ["v2", "v1"] and both[1]["y"][3] == 0.75


def test_reliability_skips_empty_bins() -> None:
    card = {"metrics": {"reliability": [
        {"lower": 0, "upper": 0.1, "count": 5, "mean_predicted": 0.05, "observed_rate": 0.04},
        {"lower": 0.1, "upper": 0.2, "count": 0, "mean_predicted": None, "observed_rate": None}]}}

    model = charts.reliability(card)["data"][0]

    assert model["x"] == [0.05] and model["y"] == [0.04]


def test_lift_axis_spans_the_lifts_not_the_first_wide_intervals() -> None:
    rates = {"control": (0.1, 0.05, 0.15), "treatment": (0.12, 0.06, 0.18)}
    points = [TimelinePoint("d1", rates, 0.2, -5.0, 50.0), TimelinePoint("d2", rates, 0.1, -0.1, 0.3)]

    figure = charts.lift(points)

    assert figure["layout"]["yaxis"]["range"] == [-0.4, 0.4]
    assert figure["data"][1]["y"] == [0.2, 0.1]


def _model(**versions: bool) -> dict:
    return {"status": {"versions": [{"version": v, "artifactsDeleted": deleted} for v, deleted in versions.items()]}}


def test_rollback_patch_pins_a_known_version_and_unpins_with_none() -> None:
    assert actions.rollback_patch(_model(v1=False), "v1") == {"spec": {"serving": {"pinnedVersion": "v1"}}}
    assert actions.rollback_patch(_model(v1=False), None) == {"spec": {"serving": {"pinnedVersion": None}}}


@pytest.mark.parametrize(("version", "words"), [("v9", "not a trained version"), ("v1", "deleted its artifacts")])
def test_rollback_patch_refuses_a_version_that_cannot_serve(version: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        actions.rollback_patch(_model(v1=True), version)


def test_retrain_patch_sets_the_operators_annotation_to_a_new_value() -> None:
    patch = actions.retrain_patch(datetime(2026, 12, 4, 10, 0, tzinfo=UTC))

    assert patch == {"metadata": {"annotations": {"leadscoring.io/retrain": "2026-12-04T10:00:00+00:00"}}}


def test_version_rows_are_newest_first_with_active_served_pinned_and_trigger() -> None:
    from leadscore.console.views import version_rows

    model = {"spec": {"serving": {"pinnedVersion": "v1"}},
             "status": {"activeVersion": "v2", "servedVersion": "v1",
                        "training": {"version": "v2", "trigger": "annotation"},
                        "versions": [{"version": "v1"}, {"version": "v2"}]}}

    rows = version_rows(model)

    assert [(r["version"], r["marks"], r["trigger"]) for r in rows] == [
        ("v2", ["active"], "annotation"), ("v1", ["served", "pinned"], None)]
