"""``--feature-sample`` / ``spec.training.featureSample``: the feature pipeline fitted on a seeded sample
of the training rows, the sampled rows with out-of-fold target rates, the rest encoded by the fitted
pipeline as validation rows are, so no training row's encoding saw its own label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from leadscore.data import DatasetSpec, synth, validate
from leadscore.features import LeadFeatures
from leadscore.trainer.config import TrainConfig
from leadscore.trainer.pipeline import fit_on_sample

SEED = 3


@pytest.fixture(scope="module")
def leads() -> tuple[pd.DataFrame, np.ndarray, object]:
    raw = synth.generate("pc", 2000, 11)
    clean, schema = validate(raw, DatasetSpec(target="converted", id_column="lead_id", time_column="created_at"))
    return clean.drop(columns=["converted"]), clean["converted"].to_numpy(dtype=np.int64), schema


def _features(schema: object) -> LeadFeatures:
    return LeadFeatures(schema=schema, random_state=SEED)


def test_without_a_sample_or_with_a_larger_one_every_training_row_fits_the_pipeline(leads) -> None:
    frame, y, schema = leads
    whole = _features(schema).fit_transform(frame, y)
    np.testing.assert_array_equal(fit_on_sample(_features(schema), frame, y, None, SEED), whole)
    np.testing.assert_array_equal(fit_on_sample(_features(schema), frame, y, len(frame), SEED), whole)


def test_a_sample_fits_the_pipeline_and_the_other_rows_are_encoded_like_validation_rows(leads) -> None:
    frame, y, schema = leads
    features = _features(schema)
    encoded = fit_on_sample(features, frame, y, 1000, SEED)
    assert encoded.shape == (len(frame), len(features.feature_names_out_))
    chosen = np.sort(np.random.default_rng(SEED).choice(len(frame), size=1000, replace=False))
    rest = np.setdiff1d(np.arange(len(frame)), chosen)
    # the unsampled rows: the pipeline fitted on the sample, applied as to validation rows
    np.testing.assert_array_equal(encoded[rest], features.transform(frame.iloc[rest]))
    # the sampled rows: exactly the fit on the sample alone (out-of-fold target rates)
    np.testing.assert_array_equal(encoded[chosen], _features(schema).fit_transform(frame.iloc[chosen], y[chosen]))
    # the same seed gives the same encoding; another seed another sample
    np.testing.assert_array_equal(fit_on_sample(_features(schema), frame, y, 1000, SEED), encoded)
    assert not np.array_equal(fit_on_sample(_features(schema), frame, y, 1000, SEED + 1), encoded)


def test_a_sample_below_the_minimum_is_refused_naming_the_option() -> None:
    import typer

    from leadscore.cli import train as train_cli

    app = typer.Typer()
    train_cli.register(app)
    command = typer.main.get_command(app).commands["train"]
    with pytest.raises(typer.BadParameter, match="1000"):
        command.make_context("train", ["--data", "x.csv", "--target", "y", "--output", "o", "--feature-sample", "10"])
    with pytest.raises(ValidationError, match="feature_sample"):
        TrainConfig(data="x.csv", dataset=DatasetSpec(target="y"), output="o", feature_sample=10)
