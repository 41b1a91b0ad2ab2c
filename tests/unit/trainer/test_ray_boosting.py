"""The Ray boosters' translation of the single-node configuration, without a cluster: one worker's
``xgboost.train`` / ``lightgbm.train`` with the translated parameters grows the model the single-node
classifier grows, and the LightGBM booster handed back is read by the single-node algorithm's
margin, ONNX export, native file and rounds as its own model would be."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from leadscore.trainer.algorithms import lgbm, resolve, xgb
from leadscore.trainer.algorithms.base import TrainData
from leadscore.trainer.distributed.boosting import (
    RayLightGBM,
    RayXGBoost,
    classifier_from,
    lightgbm_params,
    native_params,
)
from leadscore.trainer.distributed.training import engine_card


@pytest.fixture(scope="module")
def data() -> TrainData:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(600, 5)).astype(np.float32)
    y = (x[:, 0] - x[:, 1] + rng.normal(size=600) > 0).astype(np.int64)
    return TrainData(x[:400], y[:400], x[400:], y[400:], seed=7, threads=1)


def test_xgboost_params_translate_to_the_same_model(data: TrainData) -> None:
    import xgboost

    params = xgb.XGBoostAlgorithm().default_params()
    single = xgb._classifier(data, params, 40).fit(data.x_train, data.y_train)
    native = native_params(xgb._classifier(data, params, 40).get_xgb_params())
    booster = xgboost.train(native, xgboost.DMatrix(data.x_train, label=data.y_train), num_boost_round=40)
    np.testing.assert_allclose(booster.predict(xgboost.DMatrix(data.x_valid), output_margin=True),
                               single.predict(data.x_valid, output_margin=True), atol=1e-6)


def test_lightgbm_params_translate_and_the_booster_reads_as_the_classifier(data: TrainData, tmp_path: Path) -> None:
    import lightgbm
    import onnxruntime as ort

    algorithm = lgbm.LightGBMAlgorithm()
    params = algorithm.default_params()
    single = lgbm._classifier(data, params, 30).fit(data.x_train, data.y_train)
    booster = lightgbm.train(lightgbm_params(lgbm._classifier(data, params, 30).get_params()),
                             lightgbm.Dataset(data.x_train, label=data.y_train), num_boost_round=30)
    model = classifier_from(lgbm._classifier(data, params, 30), booster.model_to_string(), 0, 5)
    np.testing.assert_allclose(algorithm.margin(model, data.x_valid), algorithm.margin(single, data.x_valid),
                               atol=1e-9)
    assert algorithm.iterations(model) == 30
    session = ort.InferenceSession(algorithm.to_onnx(model, 5).SerializeToString())
    onnx_margin = session.run(None, {"features": data.x_valid})[0].ravel()
    np.testing.assert_allclose(onnx_margin, algorithm.margin(model, data.x_valid), atol=1e-5)
    algorithm.save_native(model, tmp_path / "lightgbm.txt")
    assert lightgbm.Booster(model_file=str(tmp_path / "lightgbm.txt")).num_trees() == 30


def test_the_card_says_which_algorithms_trained_data_parallel_which_on_the_driver_and_which_cannot() -> None:
    baseline = resolve(["lr"])[0]
    card = engine_card([baseline, RayXGBoost(4, 2), RayLightGBM(4, 2)])
    assert card.engine == "ray" and card.data_parallel == {"xgboost": 4, "lightgbm": 4}
    assert card.parallel_trials == 2
    assert card.on_driver == ["lr"] and card.not_available == ["catboost", "randomforest", "mlp"]


def test_trials_in_flight_share_the_workers_with_one_each_at_least() -> None:
    from leadscore.trainer.distributed.boosting import RayXGBoost, trial_workers

    assert [trial_workers(8, n) for n in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]
    booster = RayXGBoost(8, 3)
    assert (booster.trial_workers, booster.workers, booster.concurrent_trials) == (2, 8, 3)  # a refit: all 8
