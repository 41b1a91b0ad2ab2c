import numpy as np
import pytest
from onnx import helper

from leadscore.errors import ParityError
from leadscore.trainer import onnx_graph
from leadscore.trainer.algorithms import ALGORITHMS, TrainData
from leadscore.trainer.calibration import IsotonicCalibrator
from leadscore.trainer.ensemble import Blend, fit_blend, fit_stack


@pytest.fixture(scope="module")
def data() -> TrainData:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(900, 6)).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    logit = 1.5 * np.nan_to_num(x[:, 0]) - np.nan_to_num(x[:, 1]) + 0.5 * np.isnan(x[:, 2])
    y = (rng.random(900) < 1 / (1 + np.exp(-logit))).astype(int)
    return TrainData(x[:600], y[:600], x[600:], y[600:], seed=0, threads=1)


@pytest.fixture(scope="module")
def fitted(data: TrainData) -> dict:
    return {name: algorithm.fit(data, algorithm.default_params(), None) for name, algorithm in ALGORITHMS.items()}


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_member_graph_margin_matches_the_native_margin(name: str, data: TrainData, fitted: dict) -> None:
    algorithm = ALGORITHMS[name]
    graph = algorithm.to_onnx(fitted[name], data.n_features)
    session = onnx_graph.session(graph.SerializeToString(), threads=1)
    onnx_margin = session.run([onnx_graph.MARGIN], {onnx_graph.INPUT: data.x_valid})[0][:, 0]
    assert np.max(np.abs(onnx_margin - algorithm.margin(fitted[name], data.x_valid))) < 1e-5


@pytest.mark.parametrize("name", ["xgboost", "lightgbm", "catboost", "randomforest"])
def test_tree_graph_matches_the_native_margin_on_and_beside_every_split_value(name: str, data: TrainData,
                                                                              fitted: dict) -> None:
    """Rows whose feature sits exactly on a split value of the graph, or one float32 step either
    side, take the native model's branch: float32 thresholds decide like the native ones (LightGBM
    also splits at -1e-35, where it reads the tiny value on the split as 0)."""
    algorithm = ALGORITHMS[name]
    graph = algorithm.to_onnx(fitted[name], data.n_features)
    trees = next(n for n in graph.graph.node if n.op_type == "TreeEnsembleRegressor")
    attrs = {a.name: helper.get_attribute_value(a) for a in trees.attribute}
    splits = {(f, np.float32(v)) for f, v, mode in zip(attrs["nodes_featureids"], attrs["nodes_values"],
                                                        attrs["nodes_modes"], strict=True) if mode != b"LEAF"}
    base = np.nan_to_num(data.x_valid[:4])
    rows = []
    for feature, value in sorted(splits):
        with np.errstate(over="ignore"):  # CatBoost may split at the largest float32
            probes = (value, np.nextafter(value, np.float32(np.inf)), np.nextafter(value, np.float32(-np.inf)))
        for probe in probes:
            if not np.isfinite(probe):  # a forest splits at +inf to separate missing values
                continue
            row = base.copy()
            row[:, feature] = probe
            rows.append(row)
    x = np.concatenate(rows).astype(np.float32)
    session = onnx_graph.session(graph.SerializeToString(), threads=1)
    onnx_margin = session.run([onnx_graph.MARGIN], {onnx_graph.INPUT: x})[0][:, 0]
    assert np.max(np.abs(onnx_margin - algorithm.margin(fitted[name], x))) < 1e-5


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_build_matches_the_native_blend_for_an_ensemble_of_every_algorithm(method: str, data: TrainData,
                                                                           fitted: dict) -> None:
    margins = {n: ALGORITHMS[n].margin(m, data.x_valid) for n, m in fitted.items()}
    weight = 1 / len(fitted)
    blend = Blend(members=list(fitted), weights=np.full(len(fitted), weight),
                  calibrator=fit_blend(margins, ["lr"], data.y_valid, method).calibrator, method=method)
    members = [onnx_graph.Member(n, ALGORITHMS[n].to_onnx(fitted[n], data.n_features), weight) for n in fitted]
    model = onnx_graph.build(members, blend, data.n_features)
    assert onnx_graph.check_parity(model, data.x_valid, blend.predict(margins)) < 1e-6


def test_build_prefixes_each_member_so_its_margin_can_be_cut_out_again(data: TrainData, fitted: dict,
                                                                        tmp_path) -> None:
    """Every member's nodes, tensors and constants carry its name (onnx.compose), the input stays
    shared, and each member's sub-graph cut out of model.onnx gives its native margin."""
    from leadscore.api.artifact import MODEL_FILE, member_tensor
    from leadscore.engines.members import onnx_members

    margins = {n: ALGORITHMS[n].margin(m, data.x_valid) for n, m in fitted.items()}
    blend = Blend(members=list(fitted), weights=np.full(4, 0.25),
                  calibrator=fit_blend(margins, ["lr"], data.y_valid, "sigmoid").calibrator, method="sigmoid")
    members = [onnx_graph.Member(n, ALGORITHMS[n].to_onnx(fitted[n], data.n_features), 0.25) for n in fitted]
    model = onnx_graph.build(members, blend, data.n_features)
    member_nodes = [n for n in model.graph.node if not n.name.startswith(("tail_", "output_", "members_"))]
    assert member_nodes and all(n.name.startswith(tuple(f"{m}__" for m in fitted)) for n in member_nodes)
    for node in member_nodes:
        owner = node.name.split("__")[0]
        assert all(o.startswith(f"{owner}__") for o in node.output)
        assert all(i == onnx_graph.INPUT or i.startswith(f"{owner}__") for i in node.input if i)
    assert [i.name for i in model.graph.input] == [onnx_graph.INPUT]
    (tmp_path / MODEL_FILE).write_bytes(model.SerializeToString())
    for name, sub in onnx_members(tmp_path, list(fitted)).items():
        session = onnx_graph.session(sub, threads=1)
        cut = session.run([member_tensor(name, onnx_graph.MARGIN)], {onnx_graph.INPUT: data.x_valid})[0]
        assert np.max(np.abs(np.asarray(cut, dtype=np.float64).reshape(-1) - margins[name])) < 1e-5


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_build_matches_the_native_stacking_meta_learner(method: str, data: TrainData, fitted: dict) -> None:
    """The meta-learner's free (here some negative) weights are the same linear layer as a blend's."""
    margins = {n: ALGORITHMS[n].margin(m, data.x_valid) for n, m in fitted.items()}
    stack = fit_stack(margins, list(fitted), data.y_valid, method)
    members = [onnx_graph.Member(n, ALGORITHMS[n].to_onnx(fitted[n], data.n_features), float(w))
               for n, w in zip(stack.members, stack.weights, strict=True)]
    model = onnx_graph.build(members, stack, data.n_features)
    assert onnx_graph.check_parity(model, data.x_valid, stack.predict(margins)) <= onnx_graph.PARITY_TOLERANCE


def test_isotonic_graph_is_exact_piecewise_linear_outside_and_between_knots(data: TrainData, fitted: dict) -> None:
    calibrator = IsotonicCalibrator()
    calibrator.x_, calibrator.y_ = np.array([-1.0, 0.0, 2.0]), np.array([0.1, 0.3, 0.9])
    blend = Blend(members=["lr"], weights=np.ones(1), calibrator=calibrator, method="isotonic")
    model = onnx_graph.build([onnx_graph.Member("lr", ALGORITHMS["lr"].to_onnx(fitted["lr"], 6), 1.0)], blend, 6)
    margins = ALGORITHMS["lr"].margin(fitted["lr"], data.x_valid)
    expected = np.interp(margins, calibrator.x_, calibrator.y_)
    got = onnx_graph.predict(onnx_graph.session(model.SerializeToString()), data.x_valid)
    assert np.max(np.abs(got - expected)) < 1e-6


def test_check_parity_raises_when_onnx_and_native_disagree(data: TrainData, fitted: dict) -> None:
    margins = {"lr": ALGORITHMS["lr"].margin(fitted["lr"], data.x_valid)}
    blend = fit_blend(margins, ["lr"], data.y_valid, "sigmoid")
    model = onnx_graph.build([onnx_graph.Member("lr", ALGORITHMS["lr"].to_onnx(fitted["lr"], 6), 1.0)], blend, 6)
    with pytest.raises(ParityError, match="differs from the native models"):
        onnx_graph.check_parity(model, data.x_valid, blend.predict(margins) + 1e-3)


@pytest.fixture(scope="module")
def adjacent() -> TrainData:
    """Column 0 takes two values one float32 step apart, and the label follows it."""
    rng = np.random.default_rng(0)
    low = np.float32(0.1642857)
    high = np.nextafter(low, np.float32(1))
    x = np.column_stack([np.where(np.arange(400) % 2 == 0, low, high), rng.normal(size=400)]).astype(np.float32)
    y = (x[:, 0] == high).astype(int)
    flip = rng.random(400) < 0.1
    y[flip] = 1 - y[flip]
    return TrainData(x[:300], y[:300], x[300:], y[300:], seed=0, threads=1)


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_member_graph_agrees_on_values_one_float32_step_apart(name: str, adjacent: TrainData) -> None:
    """The trained leads' defect: LightGBM put a float64 threshold between the two values and
    the export rounded it onto the upper one, sending that value the other way (0.06 in margin)."""
    algorithm = ALGORITHMS[name]
    model = algorithm.fit(adjacent, algorithm.default_params(), None)
    graph = algorithm.to_onnx(model, adjacent.n_features)
    session = onnx_graph.session(graph.SerializeToString(), threads=1)
    x = np.unique(adjacent.x_valid[:, :1], axis=0)
    x = np.column_stack([x, np.zeros(len(x))]).astype(np.float32)
    assert len(x) == 2
    onnx_margin = session.run([onnx_graph.MARGIN], {onnx_graph.INPUT: x})[0][:, 0]
    native = algorithm.margin(model, x)
    assert np.max(np.abs(onnx_margin - native)) < 1e-5
    # CatBoost's float32 borders cannot separate the two values, nor can scikit-learn's trees (they
    # never split values closer than 1e-7): nothing to check there.
    if name not in ("catboost", "randomforest"):
        assert abs(native[1] - native[0]) > 0.1
