"""The random forest and the MLP: what they keep for explanations, and their class weights."""

from pathlib import Path

import numpy as np
import pytest

from leadscore.explain import Explainer, Member
from leadscore.trainer.algorithms import ALGORITHMS, TrainData


@pytest.fixture(scope="module")
def data() -> TrainData:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1200, 5)).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    logit = 2 * np.nan_to_num(x[:, 0]) - np.nan_to_num(x[:, 1]) - 1.5
    y = (rng.random(1200) < 1 / (1 + np.exp(-logit))).astype(int)
    return TrainData(x[:800], y[:800], x[800:], y[800:], seed=0, threads=1)


@pytest.mark.parametrize("name", ["randomforest", "mlp"])
def test_saved_member_explains_each_lead_exactly_by_its_path_terms(name: str, data: TrainData,
                                                                    tmp_path: Path) -> None:
    """Terms from the training medians add up to the member's own margin (the explainer's unit)."""
    algorithm = ALGORITHMS[name]
    model = algorithm.fit(data, algorithm.default_params(), None)
    path = tmp_path / algorithm.native_file
    algorithm.save_native(model, path)
    explanation = Explainer([Member(name, 1.0, path)]).explain(data.x_valid[:300])
    total = explanation.terms.sum(axis=1) + explanation.base
    assert np.max(np.abs(total - algorithm.margin(model, data.x_valid[:300]))) < 1e-5
    importance = np.abs(explanation.terms).mean(axis=0)
    assert importance.argmax() == 0  # the strongest signal


@pytest.mark.parametrize("name", ["randomforest", "mlp"])
def test_scale_pos_weight_raises_the_scores_of_every_lead_on_average(name: str, data: TrainData) -> None:
    algorithm = ALGORITHMS[name]
    plain = algorithm.fit(data, {**algorithm.default_params(), "scale_pos_weight": 1.0}, None)
    weighted = algorithm.fit(data, {**algorithm.default_params(), "scale_pos_weight": 5.0}, None)
    assert algorithm.margin(weighted, data.x_valid).mean() > algorithm.margin(plain, data.x_valid).mean() + 0.5


def test_mlp_refit_runs_the_epochs_it_was_given(data: TrainData) -> None:
    algorithm = ALGORITHMS["mlp"]
    model = algorithm.fit(data, algorithm.default_params(), None)
    assert 1 <= (algorithm.iterations(model) or 0) < 200
    again = algorithm.refit(data, data.x_train, data.y_train, algorithm.default_params(), 7)
    assert algorithm.iterations(again) == 7


def test_refit_scales_boosting_rounds_but_not_mlp_epochs(data: TrainData) -> None:
    from leadscore.trainer.refit import scaled_rounds
    from leadscore.trainer.tuning import tune

    mlp = tune(ALGORITHMS["mlp"], data, trials=1, timeout=None)
    booster = tune(ALGORITHMS["lightgbm"], data, trials=1, timeout=None)
    assert scaled_rounds(mlp, 2000, 1000) == ALGORITHMS["mlp"].iterations(mlp.model)
    rounds = ALGORITHMS["lightgbm"].iterations(booster.model) or 0
    assert scaled_rounds(booster, 2000, 1000) == 2 * rounds
    assert scaled_rounds(tune(ALGORITHMS["randomforest"], data, trials=1, timeout=None), 2000, 1000) is None
