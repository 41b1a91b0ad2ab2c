"""Per-member scoring engines (``leadscore.engines``) on real artifacts: the choice per member and
batch-size class, the parity refusal of a deliberately broken engine, old artifacts, and the
predictor's scores, metadata and metric. The measurement is injected where a test asserts a
choice, so no assertion depends on this machine's speed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from predictor_artifacts import build_artifact, request_records

from leadscore.engines import BATCH, MODEL_ONNX, SINGLE, TOLERANCE, choose, compiled
from leadscore.engines.choice import Measure, load_parity_rows
from leadscore.engines.members import FASTER, NATIVE, NUMPY, ONNXRUNTIME, Loader, Margin
from leadscore.predictor import metrics
from leadscore.predictor.config import PredictorSettings
from leadscore.predictor.engine import SMALL_BATCH, OnnxScorer
from leadscore.predictor.model import LeadScoreModel
from leadscore.published import PublishedArtifact
from leadscore.uncertainty import Table

pytestmark = pytest.mark.integration

MEMBERS = ("xgboost", "lightgbm", "catboost", "lr")


@pytest.fixture(scope="module", params=[("sigmoid", 11), ("isotonic", 13)], ids=["sigmoid", "isotonic"])
def artifact(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> PublishedArtifact:
    """Every algorithm blended (members under 2% weight dropped), with stored parity rows. The seeds
    ship three members each: XGBoost, CatBoost and LR, then LightGBM, CatBoost and LR."""
    method, seed = request.param
    path = build_artifact(tmp_path_factory.mktemp("engines") / "v7", "v7", algorithms=MEMBERS, rows=2400, seed=seed,
                          parity_rows=True, method=method)
    artifact = PublishedArtifact.open(str(path))
    assert len(artifact.card.members) == 3
    return artifact


@pytest.fixture(scope="module")
def onnx(artifact: PublishedArtifact) -> OnnxScorer:
    """model.onnx as the ensemble's predictor opens it: the probability and the members' margins."""
    return OnnxScorer(artifact.onnx_path, device="cpu", threads=2, members=True)


def _members(artifact: PublishedArtifact) -> list[str]:
    return [m.algorithm for m in artifact.card.members]


def _plain(member: str) -> str:
    """The member's engine that needs no optional extra: numpy for the baseline, else native."""
    return NUMPY if member == "lr" else NATIVE


def favouring(*fast: str) -> Measure:
    """A measurement under which the engines named in ``fast`` (and the composed members) win."""
    def measure(key: tuple[str, ...], scorer: object, x: np.ndarray) -> float:
        return 1.0 if key[-1] in fast or key[-1] == "members" else 2.0
    return measure


def _fresh_rows(artifact: PublishedArtifact, n: int) -> np.ndarray:
    return artifact.feature_spec.transform_records(request_records(n, seed=303))


def test_members_on_their_engines_score_as_model_onnx_in_both_classes(
    artifact: PublishedArtifact, onnx: OnnxScorer
) -> None:
    engines = choose(artifact.path, artifact.card, onnx.predict_members, threads=2, small=SMALL_BATCH,
                     measure=favouring(NATIVE, NUMPY))
    expected = {m: _plain(m) for m in _members(artifact)}
    assert engines.routes[SINGLE].engines == expected
    assert engines.routes[BATCH].engines == expected
    assert engines.notes == []
    for x in (_fresh_rows(artifact, 1), _fresh_rows(artifact, 300), load_parity_rows(artifact.path)):
        (probability, margins), (expected, expected_margins) = engines.scored(x), onnx.predict_members(x)
        assert np.max(np.abs(probability - expected)) <= TOLERANCE
        assert margins is not None and expected_margins is not None and margins.shape == expected_margins.shape
        assert np.max(np.abs(margins - expected_margins)) <= TOLERANCE  # what agreement is computed from


def test_without_member_margins_from_model_onnx_the_engines_answer_none(artifact: PublishedArtifact) -> None:
    """A version without agreement (no uncertainty.json): neither route computes margins nobody reads."""
    plain = OnnxScorer(artifact.onnx_path, device="cpu", threads=2)
    engines = choose(artifact.path, artifact.card, plain.predict_members, threads=2, small=SMALL_BATCH,
                     measure=favouring(NATIVE, NUMPY))
    assert engines.routes[BATCH].engines == {m: _plain(m) for m in _members(artifact)}
    x = _fresh_rows(artifact, 50)
    probability, margins = engines.scored(x)
    assert margins is None and np.max(np.abs(probability - plain.predict(x))) <= TOLERANCE


def test_member_margins_that_differ_from_model_onnx_are_refused_even_when_the_probability_matches(
    artifact: PublishedArtifact, onnx: OnnxScorer
) -> None:
    """The reference's margins shifted by 1e-3: every candidate (onnxruntime's sub-graphs too) now
    disagrees on the margins, so model.onnx scores both classes."""
    def shifted(x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        probability, margins = onnx.predict_members(x)
        return probability, None if margins is None else margins + 1e-3

    engines = choose(artifact.path, artifact.card, shifted, threads=2, small=SMALL_BATCH,
                     measure=favouring(NATIVE, NUMPY))
    assert {route.label for route in engines.routes.values()} == {MODEL_ONNX}
    assert all("onnxruntime margins through the numpy blend and calibration differ" in n for n in engines.notes)


def test_members_all_fastest_on_onnxruntime_leave_the_class_to_model_onnx(
    artifact: PublishedArtifact, onnx: OnnxScorer
) -> None:
    engines = choose(artifact.path, artifact.card, onnx.predict_members, threads=2, small=SMALL_BATCH,
                     measure=favouring(ONNXRUNTIME))
    assert {route.label for route in engines.routes.values()} == {MODEL_ONNX}
    assert engines.notes == [f"{c}: every member is fastest on onnxruntime: model.onnx (the same trees in one graph) "
                             "scores this class" for c in (SINGLE, BATCH)]


def test_the_choice_is_per_member_and_per_class_and_model_onnx_wins_unless_clearly_slower(
    artifact: PublishedArtifact, onnx: OnnxScorer
) -> None:
    members = _members(artifact)
    slow_member = members[0]

    def measure(key: tuple[str, ...], scorer: object, x: np.ndarray) -> float:
        batch_class, what = key[0], key[1]
        if what == MODEL_ONNX:
            return 1.05 if batch_class == SINGLE else 100.0  # one lead: a little slower, not enough to switch
        if what == "members":
            return 1.0
        engine = key[2]
        if what == slow_member:  # this member's faster engine loses in both classes
            return 1.0 if engine == ONNXRUNTIME else 2.0
        return 2.0 if engine == ONNXRUNTIME else 1.0

    engines = choose(artifact.path, artifact.card, onnx.predict_members, threads=2, small=SMALL_BATCH, measure=measure)
    assert engines.routes[SINGLE].label == MODEL_ONNX
    assert engines.routes[SINGLE].engines == {}
    assert engines.routes[BATCH].engines == _chosen(members, slow_member)
    assert [n for n in engines.notes if n.startswith("single: ")] == [
        f"single: the members on {engines.routes[SINGLE].timings and _chosen(members, slow_member)} (1000000 us per "
        "call) were not 1.1x faster than model.onnx (1050000 us): model.onnx scores this class"]
    x = _fresh_rows(artifact, 2)
    assert np.array_equal(engines.predict(x), onnx.predict(x))  # the single class is model.onnx itself


def _chosen(members: list[str], slow_member: str) -> dict[str, str]:
    return {m: ONNXRUNTIME if m == slow_member else _plain(m) for m in members}


def _broken(load: Loader, damage: str) -> Loader:
    def loader(path: Path, threads: int) -> Margin:
        margin = load(path, threads)
        if damage == "perturbed":
            return lambda x: margin(x) + 1e-3
        if damage == "shape":
            return lambda x: margin(x)[:-1]

        def fail(x: np.ndarray) -> np.ndarray:
            raise RuntimeError("simulated engine failure")
        return fail
    return loader


@pytest.mark.parametrize("damage", ["perturbed", "shape", "raises"])
def test_an_engine_that_does_not_match_model_onnx_is_refused_and_onnxruntime_scores_the_member(
    artifact: PublishedArtifact, onnx: OnnxScorer, damage: str
) -> None:
    victim = _members(artifact)[0]
    engine = _plain(victim)
    faster = {**FASTER, victim: {engine: _broken(FASTER[victim][engine], damage)}}
    engines = choose(artifact.path, artifact.card, onnx.predict_members, threads=2, small=SMALL_BATCH, faster=faster,
                     measure=favouring(NATIVE, NUMPY))
    for batch_class in (SINGLE, BATCH):
        route = engines.routes[batch_class]
        assert route.engines[victim] == ONNXRUNTIME
        assert all(e != ONNXRUNTIME for m, e in route.engines.items() if m != victim)
        assert engine not in route.timings[victim]
        refusal = [n for n in engines.notes if n.startswith(f"{batch_class}: {victim} on {engine}")]
        assert len(refusal) == 1 and refusal[0].endswith("refused, onnxruntime scores it")
        why = {"perturbed": "differs from model.onnx by", "shape": "answered shape", "raises": "failed"}[damage]
        assert why in refusal[0]
    x = _fresh_rows(artifact, 200)
    assert np.max(np.abs(engines.predict(x) - onnx.predict(x))) <= TOLERANCE


def test_an_engine_whose_native_file_is_missing_is_refused_with_the_reason(
    artifact: PublishedArtifact, onnx: OnnxScorer, tmp_path: Path
) -> None:
    import shutil

    copy = Path(shutil.copytree(artifact.path, tmp_path / "v7"))
    victim = artifact.card.members[0]
    (copy / victim.native_file).unlink()
    engines = choose(copy, artifact.card, onnx.predict_members, threads=2, small=SMALL_BATCH,
                     measure=favouring(NATIVE, NUMPY))
    assert engines.routes[BATCH].engines[victim.algorithm] == ONNXRUNTIME
    assert any(n.startswith(f"batch: {victim.algorithm} on {_plain(victim.algorithm)} could not load")
               for n in engines.notes)


def test_an_artifact_without_parity_rows_scores_with_model_onnx_and_says_why(artifact_v1: Path) -> None:
    old = PublishedArtifact.open(str(artifact_v1))
    scorer = OnnxScorer(old.onnx_path, device="cpu", threads=2)
    engines = choose(old.path, old.card, scorer.predict_members, threads=2, small=SMALL_BATCH)
    assert {route.label for route in engines.routes.values()} == {MODEL_ONNX}
    assert engines.notes == ["parity_rows.npy is missing (the artifact predates per-member engines), so nothing "
                             "can be verified: model.onnx scores every lead"]


def _served(uri: str, name: str) -> LeadScoreModel:
    model = LeadScoreModel(name, PredictorSettings(model_uri=uri, device="cpu", threads=2))
    model.load()
    return model


@pytest.mark.parametrize("size", [1, 5, 40])
def test_the_predictor_scores_as_model_onnx_and_names_its_engines(
    artifact: PublishedArtifact, onnx: OnnxScorer, size: int
) -> None:
    model = _served(str(artifact.path), f"engines-{artifact.card.calibration.method}-{size}")
    leads = request_records(size, seed=404)
    answer = model.postprocess(model.predict(model.preprocess({"instances": leads})))
    served = np.array([p["probability"] for p in answer["predictions"]])
    probability, margins = onnx.predict_members(artifact.feature_spec.transform_records(leads))
    assert np.max(np.abs(served - np.round(probability, 6))) <= TOLERANCE
    assert artifact.uncertainty is not None
    agreement = Table(artifact.uncertainty).agreement(margins)
    assert agreement is not None
    served_agreement = np.array([p["agreement"] for p in answer["predictions"]], dtype=np.float64)
    assert np.max(np.abs(served_agreement - np.round(agreement, 6))) <= TOLERANCE
    described = model.info()["versions"][0]["engines"]
    arm = model.arms[0]
    for batch_class in (SINGLE, BATCH):
        route = arm.engines.routes[batch_class]
        assert described[batch_class]["engine"] == route.label
        for member, engine in (route.engines or {"all": MODEL_ONNX}).items():
            labels = {"model_name": model.name, "model_version": "v7", "batch_class": batch_class,
                      "member": member, "engine": engine}
            assert metrics.REGISTRY.get_sample_value("leadscore_scoring_engine", labels) == 1.0


def test_the_predictor_still_serves_an_artifact_from_before_engines(
    artifact_v1: Path, leads: list[dict[str, object]]
) -> None:
    model = _served(str(artifact_v1), "engines-old")
    answer = model.postprocess(model.predict(model.preprocess({"instances": leads})))
    assert len(answer["predictions"]) == len(leads)
    described = model.info()["versions"][0]["engines"]
    assert described[SINGLE]["engine"] == described[BATCH]["engine"] == MODEL_ONNX
    assert "parity_rows.npy is missing" in described["notes"][0]


# ---- LightGBM compiled by lleaves (the optional ``fast`` extra) ----------------------------


@pytest.fixture(scope="module")
def lightgbm_artifact(tmp_path_factory: pytest.TempPathFactory) -> PublishedArtifact:
    """LightGBM and the baseline, with stored parity rows."""
    path = build_artifact(tmp_path_factory.mktemp("lleaves") / "v8", "v8", algorithms=("lightgbm", "lr"), rows=1600,
                          seed=7, parity_rows=True)
    artifact = PublishedArtifact.open(str(path))
    assert "lightgbm" in _members(artifact)
    return artifact


@pytest.fixture(scope="module")
def engine_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One compile cache for the module: the first test compiles, the others load the object."""
    return tmp_path_factory.mktemp("engine-cache")


def test_lleaves_is_a_lightgbm_candidate_only_when_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    from leadscore.engines import members

    monkeypatch.setattr(compiled, "available", lambda: False)
    assert set(members._faster()["lightgbm"]) == {NATIVE}
    monkeypatch.setattr(compiled, "available", lambda: True)
    assert set(members._faster()["lightgbm"]) == {NATIVE, compiled.LLEAVES}
    assert (compiled.LLEAVES in FASTER["lightgbm"]) == compiled.available()


def test_lleaves_scores_lightgbm_when_fastest_matching_model_onnx_from_a_cache_keyed_by_the_model_file(
    lightgbm_artifact: PublishedArtifact, engine_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("lleaves")
    monkeypatch.setenv(compiled.CACHE_ENV, str(engine_cache))
    onnx = OnnxScorer(lightgbm_artifact.onnx_path, device="cpu", threads=2, members=True)
    engines = choose(lightgbm_artifact.path, lightgbm_artifact.card, onnx.predict_members, threads=2,
                     small=SMALL_BATCH, measure=favouring(compiled.LLEAVES, NUMPY))
    for batch_class in (SINGLE, BATCH):
        assert engines.routes[batch_class].engines["lightgbm"] == compiled.LLEAVES
        assert engines.routes[batch_class].max_diff is not None
        assert engines.routes[batch_class].max_diff <= TOLERANCE
    booster = lightgbm_artifact.path / next(m.native_file for m in lightgbm_artifact.card.members
                                            if m.algorithm == "lightgbm")
    cached = engine_cache / f"lleaves-{compiled.cache_key(booster)}.o"
    assert [p.name for p in engine_cache.iterdir()] == [cached.name]  # compiled once for both classes
    for x in (_fresh_rows(lightgbm_artifact, 1), _fresh_rows(lightgbm_artifact, 300)):
        assert np.max(np.abs(engines.predict(x) - onnx.predict(x))) <= TOLERANCE


def test_the_lleaves_cache_key_follows_the_model_file(lightgbm_artifact: PublishedArtifact, tmp_path: Path) -> None:
    pytest.importorskip("lleaves")
    booster = next(lightgbm_artifact.path / m.native_file for m in lightgbm_artifact.card.members
                   if m.algorithm == "lightgbm")
    copy = tmp_path / "model.txt"
    copy.write_bytes(booster.read_bytes())
    assert compiled.cache_key(copy) == compiled.cache_key(booster)
    copy.write_bytes(booster.read_bytes() + b"\n")
    assert compiled.cache_key(copy) != compiled.cache_key(booster)


@pytest.mark.parametrize("damage", ["perturbed", "raises"])
def test_a_broken_lleaves_engine_is_refused_and_the_reason_noted(
    lightgbm_artifact: PublishedArtifact, engine_cache: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    pytest.importorskip("lleaves")
    monkeypatch.setenv(compiled.CACHE_ENV, str(engine_cache))
    onnx = OnnxScorer(lightgbm_artifact.onnx_path, device="cpu", threads=2, members=True)
    faster = {**FASTER, "lightgbm": {compiled.LLEAVES: _broken(compiled.lleaves_margin, damage)}}
    engines = choose(lightgbm_artifact.path, lightgbm_artifact.card, onnx.predict_members, threads=2,
                     small=SMALL_BATCH, faster=faster, measure=favouring(compiled.LLEAVES, NUMPY))
    why = {"perturbed": "differs from model.onnx by", "raises": "failed"}[damage]
    for batch_class in (SINGLE, BATCH):
        assert engines.routes[batch_class].engines == {"lightgbm": ONNXRUNTIME, "lr": NUMPY}
        refusal = [n for n in engines.notes if n.startswith(f"{batch_class}: lightgbm on {compiled.LLEAVES}")]
        assert len(refusal) == 1 and why in refusal[0] and refusal[0].endswith("refused, onnxruntime scores it")
