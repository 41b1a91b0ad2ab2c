"""The console's pure parts: the login cookie, CSRF tokens, chart specs and action patches."""

from __future__ import annotations

from datetime import UTC, datetime

import jinja2
import pytest

from leadscore.api.summary import TierCount, TierSummary
from leadscore.console import actions, app, charts, glossary, session, views
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


def test_glossary_describes_known_fields_and_admits_unknown_ones() -> None:
    assert glossary.field("days_since_creation").startswith("Days between the lead's creation")
    assert glossary.field("Pages Visited") == "Pages the lead viewed on the site."
    assert glossary.field("utm_medium") != glossary.field("utm_source")
    assert glossary.field("favourite_colour") is None
    assert glossary.fields(["favourite_colour"]) == [("favourite_colour", "No description for this field.")]


def test_drivers_hover_text_says_what_each_field_means() -> None:
    card = {"feature_importance": [{"feature": "pages_visited", "field": "pages_visited", "mean_abs_contribution": 2},
                                   {"feature": "x", "field": "has_phone", "mean_abs_contribution": 1}]}

    trace = charts.drivers(card)["data"][0]

    assert trace["y"] == ["has_phone", "pages_visited"]
    assert trace["hovertext"] == ["Whether the lead left a phone number.", "Pages the lead viewed on the site."]


def _render(name: str, **context: object) -> str:
    env = jinja2.Environment(loader=jinja2.PackageLoader("leadscore.console", "templates"), autoescape=True)
    app.configure(env)
    return env.get_template(name).render(static="static", user=None, csrf="", **context)


HEALTH = {"version": "v2", "summary": "Drift", "message": "score PSI 0.31 over 800 leads: the incoming leads moved",
          "lastEvaluated": "2026-12-01T10:00:00Z", "liveRocAuc": 0.71, "liveRocAucLower": 0.66,
          "liveRocAucUpper": 0.76, "trainingRocAuc": 0.8, "maturedLeads": 640,
          "drift": {"scorePsi": 0.31, "driftedFields": ["source"], "leads": 800, "since": "2026-11-24T10:00:00Z"},
          "conversionByTier": [{"tier": "high", "leads": 100, "rate": 0.4}]}


def test_models_list_shows_each_models_health_and_says_what_it_means() -> None:
    models = [{"metadata": {"namespace": "sales", "name": "pc"}, "spec": {},
               "status": {"phase": "Ready", "servedVersion": "v2", "health": HEALTH}},
              {"metadata": {"namespace": "sales", "name": "new"}, "spec": {}, "status": {"phase": "Training"}}]

    html = _render("models.html", models=models)

    assert 'data-health="Drift"' in html and HEALTH["message"] in html
    assert 'data-health=""' in html  # the model without figures says so instead of guessing
    assert glossary.METRICS["health"].split(":")[0] in html


def test_model_page_shows_the_served_versions_health_figures() -> None:
    model = {"metadata": {"namespace": "sales", "name": "pc"}, "spec": {},
             "status": {"servedVersion": "v2", "versions": [], "health": HEALTH}}

    html = _render("model.html", **views.model_view(model, lambda _uri: None), can_patch=False, why_disabled="",
                   experiments=[], message=None, refused=False)

    assert 'id="health-summary">Drift<' in html
    assert "0.710" in html and "0.660 to 0.760" in html and "at training 0.800" in html
    assert "0.310" in html and "drifted fields: source" in html and "40.00" in html


def test_model_page_tiers_table_shows_the_sla_met_share_and_time_to_first_contact() -> None:
    model = {"metadata": {"namespace": "sales", "name": "pc"}, "spec": {}, "status": {"versions": []}}
    tiers = TierSummary(namespace="sales", service="pc", since=datetime(2026, 11, 1, tzinfo=UTC), tiers=[
        TierCount(tier="high", leads=10, conversions=4, sla_seconds=1800.0, contacted=9, sla_due=8, sla_met=6,
                  median_hours_to_first_contact=1.5),
        TierCount(tier="very_low", leads=30, conversions=1)])

    html = _render("model.html", **views.model_view(model, lambda _uri: None, tiers), can_patch=False,
                   why_disabled="", experiments=[], message=None, refused=False)

    high = html.split("<td>high</td>")[1].split("</tr>")[0]
    assert "<td>0.5 h</td><td>9</td>" in high and ">75%</td>" in high and "<td>1.5 h</td>" in high
    assert 'title="6 of 8 leads' in high
    very_low = html.split("<td>very_low</td>")[1].split("</tr>")[0]
    assert very_low.count("—") == 3  # no SLA, no share, no median
