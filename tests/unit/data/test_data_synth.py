"""synth.generate: realistic columns, imbalance per vertical, determinism, drift, hidden truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadscore.data import GROUND_TRUTH_COLUMNS, DatasetSpec, drop_ground_truth, infer_schema, synth, validate

ROWS = 4000


@pytest.fixture(scope="module")
def samples() -> dict[str, pd.DataFrame]:
    return {vertical: synth.generate(vertical, ROWS, seed=11) for vertical in synth.VERTICALS}


@pytest.mark.parametrize("vertical", synth.VERTICALS)
def test_generate_keeps_conversion_rate_within_imbalance_range(samples: dict, vertical: str) -> None:
    frame = samples[vertical]
    rate = frame[synth.TARGET].mean()
    assert 0.05 <= rate <= 0.30
    assert frame["true_probability"].mean() == pytest.approx(synth.PROFILES[vertical].positive_rate, abs=1e-3)


def test_generate_gives_verticals_different_rates(samples: dict) -> None:
    rates = sorted(samples[v]["true_probability"].mean() for v in synth.VERTICALS)
    assert rates[-1] - rates[0] > 0.1


def test_generate_is_deterministic_by_seed() -> None:
    first = synth.generate("health", 300, seed=5)
    pd.testing.assert_frame_equal(first, synth.generate("health", 300, seed=5))
    assert not first.equals(synth.generate("health", 300, seed=6))


def test_generate_writes_seed_feature_families(samples: dict) -> None:
    columns = set(samples["pc"].columns)
    expected = {
        "lead_id", "created_at", "has_email", "has_phone", "has_full_name", "has_address", "has_zipcode",
        "form_completed", "requested_quote", "pages_visited", "time_on_site", "return_visitor",
        "mobile_device", "browser", "source_engagement_level", "agent_conversion_rate", "agent_avg_response_time",
        "agent_rating", "source", "state", "utm_source", "utm_medium", "utm_campaign", "insurance_type",
        "inbound_messages", "outbound_messages", "appointments", "response_time_minutes",
        "property_price", "days_since_creation", "notes", "converted", "true_probability",
    }
    assert expected <= columns
    assert "applicant_age" in samples["health"].columns and "employees" in samples["commercial"].columns
    assert synth.TEXT_COLUMN in columns


def test_generate_inquiry_words_carry_signal_beyond_other_columns(samples: dict) -> None:
    """Keen sentences go with a higher truth, reluctant ones with a lower; a third are empty."""
    frame = pd.concat([samples[v] for v in synth.VERTICALS])
    text = frame[synth.TEXT_COLUMN].fillna("")
    keen = text.str.contains("Ready to buy", regex=False)
    reluctant = text.str.contains("by mistake", regex=False)
    truth = frame["true_probability"]
    assert truth[keen].mean() > 1.5 * truth[reluctant].mean()
    assert 0.2 < (text == "").mean() < 0.4
    assert text.str.contains(r"\(\d{3}\) 555-\d{4}").mean() > 0.05


def test_generate_leaves_values_missing_in_several_columns(samples: dict) -> None:
    missing = samples["pc"].isna().mean()
    assert (missing > 0.01).sum() >= 8
    assert missing["lead_id"] == 0 and missing[synth.TARGET] == 0


def test_generate_spreads_twelve_months_with_drift(samples: dict) -> None:
    frame = samples["pc"]
    created = frame["created_at"]
    assert (created.max() - created.min()).days >= 350
    assert created.is_monotonic_increasing
    early, late = frame.iloc[: ROWS // 4], frame.iloc[-ROWS // 4:]
    assert late["mobile_device"].mean() - early["mobile_device"].mean() > 0.1
    assert (late["source"] == "paid_search").mean() > (early["source"] == "paid_search").mean() + 0.05


def test_generate_draws_labels_from_true_probability(samples: dict) -> None:
    frame = samples["generic"]
    high = frame["true_probability"] > frame["true_probability"].quantile(0.8)
    assert frame.loc[high, synth.TARGET].mean() > 2 * frame.loc[~high, synth.TARGET].mean()
    assert frame["true_probability"].between(0, 1).all()


def test_generate_hides_ground_truth_from_training(samples: dict) -> None:
    frame = samples["commercial"]
    spec = DatasetSpec(target=synth.TARGET, id_column=synth.ID_COLUMN, time_column=synth.TIME_COLUMN)
    clean, schema = validate(frame, spec)
    assert not set(GROUND_TRUTH_COLUMNS) & set(clean.columns)
    assert not set(GROUND_TRUTH_COLUMNS) & set(schema.feature_columns)
    assert not set(GROUND_TRUTH_COLUMNS) & set(drop_ground_truth(frame).columns)


def test_generate_infers_expected_roles(samples: dict) -> None:
    schema = infer_schema(samples["pc"], DatasetSpec(target="converted", id_column="lead_id"))
    roles = {c.name: c.role for c in schema.columns}
    assert roles["has_email"] == "boolean" and roles["pages_visited"] == "numeric"
    assert roles["utm_campaign"] == "categorical" and schema.column("utm_campaign").high_cardinality
    assert roles["notes"] == "text" and roles["created_at"] == "datetime"


def test_generate_refuses_unknown_vertical_and_empty_sample() -> None:
    with pytest.raises(ValueError, match="vertical must be one of pc, health, commercial, generic"):
        synth.generate("auto", 10, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rows must be at least 1"):
        synth.generate("pc", 0, 0)


def test_generate_truth_is_learnable_but_not_trivial(samples: dict) -> None:
    """A per-level rate model on one strong column must beat chance, yet no column gives it away."""
    from leadscore.data import check_leakage

    frame = samples["pc"]
    spec = DatasetSpec(target="converted", id_column="lead_id", time_column="created_at")
    clean, schema = validate(frame, spec)
    findings = check_leakage(clean, schema, spec)
    assert not [f for f in findings if f.refused]
    truth = frame["true_probability"].to_numpy()
    labels = frame[synth.TARGET].to_numpy()
    from leadscore.data.leakage import roc_auc

    assert 0.72 < roc_auc(labels, truth) < 0.9
    assert np.corrcoef(frame["requested_quote"].astype(float), truth)[0, 1] > 0.2


def test_generate_truth_is_learnable_by_a_booster_on_lead_features() -> None:
    """The trainer's bar: a GBM on the LeadFeatures matrix gets its Brier near the truth's."""
    import lightgbm

    from leadscore.features import LeadFeatures

    frame = synth.generate("pc", 24000, seed=21)
    spec = DatasetSpec(target="converted", id_column="lead_id", time_column="created_at",
                       text_columns=[synth.TEXT_COLUMN])  # the inquiry's words carry part of the truth
    clean, schema = validate(frame, spec)
    train, test = clean.iloc[:18000], clean.iloc[18000:]  # time order: the test rows are the latest
    features = LeadFeatures(schema)
    model = lightgbm.LGBMClassifier(n_estimators=250, learning_rate=0.03, num_leaves=15, min_child_samples=50,
                                    subsample=0.8, subsample_freq=1, random_state=0, verbose=-1, n_jobs=1)
    model.fit(features.fit_transform(train, train["converted"]), train["converted"])
    predicted = model.predict_proba(features.transform(test))[:, 1]
    labels = test["converted"].to_numpy()
    truth = frame["true_probability"].iloc[18000:].to_numpy()
    brier_model = np.mean((predicted - labels) ** 2)
    brier_truth = np.mean((truth - labels) ** 2)
    brier_prior = np.mean((train["converted"].mean() - labels) ** 2)
    assert brier_model < 1.08 * brier_truth
    assert brier_truth < 0.9 * brier_prior  # and there is something to learn
