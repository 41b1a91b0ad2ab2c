"""``leadscore train`` / ``evaluate`` / ``score`` end to end on a small synthetic dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
from trainer_helpers import FAST, run_leadscore

from leadscore.api.artifact import ServingCard
from leadscore.api.leadscoringmodel import ScoringSpec, TierCutoff
from leadscore.api.results import TrainingResult
from leadscore.scoring import resolved_tiers
from leadscore.trainer import onnx_graph

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def trained(leads_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One training shared by the module's tests: LR + LightGBM, two trials each; ``inquiry`` declared text."""
    work = tmp_path_factory.mktemp("train")
    output = work / "models" / "v1"
    process = run_leadscore(
        "train", "--data", str(leads_csv), "--target", "converted", "--id-col", "lead_id",
        "--time-col", "created_at", "--text-col", "inquiry", *FAST, "--model-name", "unit-leads", "--version", "v1",
        "--mlflow-uri", str(work / "mlruns"), "--termination-path", str(work / "termination.json"),
        "--output", str(output), cwd=work)
    assert process.returncode == 0, process.stderr[-3000:]
    return {"work": work, "output": output, "stdout": process.stdout, "stderr": process.stderr}


def test_train_publishes_the_artifact_contract_when_data_is_good(trained: dict) -> None:
    output: Path = trained["output"]
    names = {p.relative_to(output).as_posix() for p in output.rglob("*") if p.is_file()}
    assert {"model.onnx", "feature_spec.json", "model_card.json", "result.json"} <= names
    card = json.loads((output / "model_card.json").read_text())
    for member in card["members"]:
        assert (output / member["native_file"]).is_file()
    assert card["version"] == "v1"
    assert card["scoring"]["high"]["topPercent"] == 5
    assert card["data"]["split"]["strategy"] == "time"
    assert card["data"]["fingerprint"].startswith("sha256:")
    assert "true_probability" not in card["feature_names"]
    assert card["training"]["parity_max_abs_diff"] <= onnx_graph.PARITY_TOLERANCE
    assert card["calibration"]["method"] in ("sigmoid", "isotonic")
    assert {a["algorithm"] for a in card["algorithms"]} == {"lr", "lightgbm"}
    served = ServingCard.model_validate(card)  # the slice the predictor and `leadscore score` read
    assert (served.version, served.threshold, served.scoring) == ("v1", card["threshold"], ScoringSpec())
    assert [m.native_file for m in served.members] == [m["native_file"] for m in card["members"]]


def test_declared_text_is_encoded_into_model_onnx_and_both_serving_paths_agree(trained: dict,
                                                                              leads_csv: Path) -> None:
    """The inquiry's TF-IDF terms, flags and amounts are plain inputs of model.onnx; records = columns."""
    from leadscore.data import load_dataset
    from leadscore.features.spec import frame_columns
    from leadscore.features.text import TextTermsEncoder
    from leadscore.published import PublishedArtifact

    output: Path = trained["output"]
    card = json.loads((output / "model_card.json").read_text())
    assert sum(name.startswith("inquiry__tfidf=") for name in card["feature_names"]) == 50
    assert {"inquiry__kw=price", "inquiry__has_phone", "inquiry__amount"} <= set(card["feature_names"])
    assert card["training"]["parity_max_abs_diff"] <= onnx_graph.PARITY_TOLERANCE
    spec = PublishedArtifact.open(str(output)).feature_spec
    assert [type(e) for e in spec.encoders].count(TextTermsEncoder) == 1
    frame = load_dataset(str(leads_csv)).head(300)
    records = json.loads(frame.to_json(orient="records", date_format="iso"))
    by_records = spec.transform_records(records)
    by_columns = spec.transform_columns(frame_columns(frame), len(frame))
    assert np.array_equal(by_records, by_columns, equal_nan=True)
    session = onnx_graph.session(str(output / "model.onnx"))
    assert np.array_equal(onnx_graph.predict(session, by_records), onnx_graph.predict(session, by_columns))


def test_card_records_default_share_tiers_resolved_on_the_held_out_scores(trained: dict) -> None:
    """The default tiers are shares of leads (5 / 20 / 50 % cumulative): resolved on the test rows."""
    card = json.loads((trained["output"] / "model_card.json").read_text())
    histogram = card["score_histogram"]
    assert len(histogram) == 101 and sum(histogram) == card["data"]["split"]["test"]
    tiers = [TierCutoff.model_validate(t) for t in card["tiers"]]
    assert tiers == resolved_tiers(ScoringSpec(), histogram)
    assert [t.tier for t in tiers] == ["high", "medium", "low", "very_low"]
    assert tiers[0].min_score > tiers[1].min_score > tiers[2].min_score > 0
    mix = [t.held_out_percent for t in tiers]
    assert abs(sum(mix) - 100) < 0.05
    assert abs(mix[0] - 5) < 2.5 and abs(mix[0] + mix[1] - 20) < 5 and abs(sum(mix[:3]) - 50) < 8, mix


def test_train_writes_result_and_termination_message_when_it_succeeds(trained: dict) -> None:
    result = TrainingResult.model_validate_json((trained["output"] / "result.json").read_text())
    message = TrainingResult.model_validate_json((trained["work"] / "termination.json").read_text())
    assert result.status == message.status == "Succeeded"
    assert result.mlflow_run_id and result.mlflow_model_version == "1"
    card = json.loads((trained["output"] / "model_card.json").read_text())
    assert [t.model_dump() for t in result.tiers] == [t.model_dump() for t in message.tiers] == [
        TierCutoff.model_validate(t).model_dump() for t in card["tiers"]]  # what the operator puts in status
    assert 0.5 < result.metrics["roc_auc"] <= 1.0
    assert result.metrics["baseline_roc_auc"] > 0.5


def test_train_prints_a_summary_table_when_it_succeeds(trained: dict) -> None:
    assert "shipped:" in trained["stdout"]
    assert "lightgbm" in trained["stdout"]


def test_model_onnx_maps_features_to_probability_vector(trained: dict) -> None:
    model = onnx.load(str(trained["output"] / "model.onnx"))
    card = json.loads((trained["output"] / "model_card.json").read_text())
    assert [i.name for i in model.graph.input] == ["features"]
    ensemble = len(card["members"]) > 1  # an ensemble also answers its members' margins (agreement)
    assert [o.name for o in model.graph.output] == ["probability"] + (["member_margins"] if ensemble else [])
    width = len(card["feature_names"])
    session = onnx_graph.session(str(trained["output"] / "model.onnx"))
    out = session.run(None, {"features": np.full((3, width), np.nan, dtype=np.float32)})[0]
    assert out.shape == (3,) and out.dtype == np.float32
    assert np.all((out > 0) & (out < 1))


def test_evaluate_json_reports_headline_metrics(trained: dict, leads_csv: Path, run_cli) -> None:
    process = run_cli("evaluate", "--model", str(trained["output"]), "--data", str(leads_csv),
                      "--target", "converted", "--json")
    assert process.returncode == 0, process.stderr
    report = json.loads(process.stdout)
    assert report["rows"] == 2000
    assert 0.6 < report["roc_auc"] <= 1.0
    assert {"pr_auc", "brier", "log_loss"} <= set(report)


def test_score_writes_id_probability_score_and_tier(trained: dict, leads_csv: Path, run_cli, tmp_path: Path) -> None:
    process = run_cli("score", "--model", str(trained["output"]), "--data", str(leads_csv),
                      "--output", str(tmp_path / "scores.csv"), "--batch-size", "700")
    assert process.returncode == 0, process.stderr
    assert "rows/s" in process.stdout
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert list(scores.columns) == ["lead_id", "probability", "prediction", "score", "tier", "action", "sla",
                                    "priority", "interval_low", "interval_high", "confidence", "agreement",
                                    "model_version", "model_type"]
    assert (scores["interval_low"] <= scores["interval_high"]).all()
    assert np.allclose(scores["confidence"], 1 - (scores["interval_high"] - scores["interval_low"]), atol=2e-6)
    assert len(scores) == 2000 and scores["lead_id"].is_unique
    assert scores["score"].between(0, 100).all()
    card = json.loads((trained["output"] / "model_card.json").read_text())
    low = {t["tier"]: t["minScore"] for t in card["tiers"]}
    assert (scores.loc[scores["score"] >= low["high"], "tier"] == "high").all()
    assert (scores.loc[scores["score"] < low["low"], "action"] == "archive").all()
    assert set(scores["tier"]) <= {"high", "medium", "low", "very_low"}


def test_scheduled_rescoring_takes_a_window_and_a_vertical_and_overwrites_its_s3_output(
    trained: dict, leads_csv: Path, run_cli, s3_bucket: str, s3_server, tmp_path: Path,
) -> None:
    """What the chart's re-scoring CronJob runs: leads of a time window and one vertical, read from
    and written to MinIO; a rerun replaces the same object; progress on stderr, metrics as JSON."""
    leads = pd.read_csv(leads_csv)
    leads["vertical"] = np.where(np.arange(len(leads)) % 3 == 0, "health", "pc")
    source = tmp_path / "all-leads.parquet"
    leads.to_parquet(source, index=False)
    s3_server.client().fput_object(s3_bucket, "leads/all.parquet", str(source))
    times = pd.to_datetime(leads["created_at"], utc=True)
    start, end = times.quantile(0.5).floor("D"), times.quantile(0.9).floor("D")
    wanted = leads.loc[(times >= start) & (times < end) & (leads["vertical"] == "pc"), "lead_id"]
    output = f"s3://{s3_bucket}/scores/nightly.parquet"

    def rescore(*window: str) -> tuple[dict, pd.DataFrame, str]:
        process = run_cli("score", "--model", str(trained["output"]), "--data", f"s3://{s3_bucket}/leads/all.parquet",
                          "--output", output, "--batch-size", "100", "--time-column", "created_at",
                          "--vertical", "pc", "--json", *window, env=s3_server.env)
        assert process.returncode == 0, process.stderr[-3000:]
        local = tmp_path / "got.parquet"
        s3_server.client().fget_object(s3_bucket, "scores/nightly.parquet", str(local))
        return json.loads(process.stdout.strip().splitlines()[-1]), pd.read_parquet(local), process.stderr

    metrics, scores, stderr = rescore("--from", start.date().isoformat(), "--to", end.date().isoformat())
    assert sorted(scores["lead_id"]) == sorted(wanted) and len(wanted) > 100
    assert {"tier", "action", "sla", "priority", "model_version", "prediction"} <= set(scores.columns)
    assert (metrics["rows"], metrics["datasetRows"], metrics["modelVersion"]) == (len(wanted), 2000, "v1")
    assert metrics["tiers"] == {t: int((scores["tier"] == t).sum()) for t in ("high", "medium", "low", "very_low")}
    assert metrics["durationSeconds"] >= metrics["scoringSeconds"] > 0
    progress = [line for line in stderr.splitlines() if line.startswith("scoring: ")]
    assert progress[-1] == f"scoring: {len(wanted):,}/{len(wanted):,} leads (100%)" and len(progress) > 1

    # a rerun over another window replaces the object whole: the earlier rows are gone
    later, _, _ = rescore("--from", end.date().isoformat())
    _, again, _ = rescore("--from", end.date().isoformat())
    listed = [o.object_name for o in s3_server.client().list_objects(s3_bucket, prefix="scores/", recursive=True)]
    assert listed == ["scores/nightly.parquet"]
    assert set(again["lead_id"]) == set(leads.loc[(times >= end) & (leads["vertical"] == "pc"), "lead_id"])
    assert later["rows"] == len(again) and not set(again["lead_id"]) & set(wanted)


def test_rescoring_to_a_path_replaces_the_file_and_leaves_no_temporary_one(
    trained: dict, leads_csv: Path, run_cli, tmp_path: Path,
) -> None:
    output = tmp_path / "out" / "scores.csv"
    for since in ("2000-01-01", "2999-01-01"):  # everything, then nothing
        process = run_cli("score", "--model", str(trained["output"]), "--data", str(leads_csv), "--output",
                          str(output), "--since", since, "--time-column", "created_at", "--json")
        assert process.returncode == 0, process.stderr[-3000:]
    assert [p.name for p in output.parent.iterdir()] == ["scores.csv"]
    assert json.loads(process.stdout.strip().splitlines()[-1])["rows"] == 0
    assert pd.read_csv(output).empty and "tier" in pd.read_csv(output).columns


def test_rescoring_refuses_a_window_without_its_time_column_and_an_unknown_vertical_column(
    trained: dict, leads_csv: Path, run_cli, tmp_path: Path,
) -> None:
    base = ("score", "--model", str(trained["output"]), "--data", str(leads_csv), "--output", str(tmp_path / "s.csv"))
    process = run_cli(*base, "--since", "7d")
    assert process.returncode != 0 and "needs --time-column" in process.stderr
    process = run_cli(*base, "--vertical", "pc", "--vertical-column", "line_of_business")
    assert process.returncode != 0 and "column 'line_of_business' is not in the dataset" in process.stderr
    process = run_cli(*base, "--since", "last week", "--time-column", "created_at")
    assert process.returncode != 0 and "--since: expected a date" in process.stderr
    assert not (tmp_path / "s.csv").exists()


def test_train_refuses_to_overwrite_a_published_version(trained: dict, leads_csv: Path, run_cli) -> None:
    process = run_cli("train", "--data", str(leads_csv), "--target", "converted", "--id-col", "lead_id",
                      "--algorithms", "lr", "--trials", "1", "--mlflow-uri", "mlruns",
                      "--output", str(trained["output"]))
    assert process.returncode != 0
    assert "immutable" in process.stderr


def test_card_ranks_what_drives_the_score_and_the_summary_says_it(trained: dict) -> None:
    from leadscore.features import FeatureSpec

    output: Path = trained["output"]
    card = json.loads((output / "model_card.json").read_text())
    ranked = card["feature_importance"]
    assert 0 < len(ranked) <= 20
    values = [f["mean_abs_contribution"] for f in ranked]
    assert values == sorted(values, reverse=True) and values[0] > 0
    assert {f["feature"] for f in ranked} <= set(card["feature_names"])
    spec = FeatureSpec.model_validate_json((output / "feature_spec.json").read_text())
    # a raw lead field, or the derived feature itself (contact completeness, inbound share)
    assert {f["field"] for f in ranked} <= {i.name for i in spec.inputs} | set(card["feature_names"])
    assert f"what drives the score: {ranked[0]['field']}" in trained["stdout"]


def test_retraining_scores_the_serving_version_on_its_own_test_rows(trained: dict, leads_csv: Path, run_cli) -> None:
    output = trained["work"] / "models" / "v2"
    process = run_cli(
        "train", "--data", str(leads_csv), "--target", "converted", "--id-col", "lead_id",
        "--time-col", "created_at", "--text-col", "inquiry", *FAST, "--model-name", "unit-leads", "--version", "v2",
        "--mlflow-uri", str(trained["work"] / "mlruns"), "--champion", str(trained["output"]),
        "--output", str(output))
    assert process.returncode == 0, process.stderr[-3000:]
    card = json.loads((output / "model_card.json").read_text())
    champion = card["champion"]
    assert (champion["version"], champion["error"]) == ("v1", None)
    assert 0.5 < champion["metrics"]["roc_auc"] <= 1.0
    result = TrainingResult.model_validate_json((output / "result.json").read_text())
    assert result.metrics["champion_roc_auc"] == champion["metrics"]["roc_auc"]
    # same data, same seed, same split: the retrained model is the champion, so the AUCs agree
    assert abs(result.metrics["roc_auc"] - champion["metrics"]["roc_auc"]) < 0.02
    assert "vs serving version v1 on the same test rows" in process.stdout


def test_a_champion_that_cannot_be_read_is_reported_not_fatal(tmp_path: Path) -> None:
    from leadscore.trainer.champion import score_champion

    rows = pd.DataFrame({"lead_id": ["a", "b"], "source": ["web", "partner"]})
    champion = score_champion(str(tmp_path / "missing"), rows, np.array([0, 1]), 0.5)
    assert champion.metrics is None
    assert champion.error and "missing" in champion.error


def test_artifact_carries_the_reference_profile_of_the_held_out_rows(trained: dict) -> None:
    from leadscore.monitoring.profile import PROFILE_FILE, ReferenceProfile

    profile = ReferenceProfile.model_validate_json((trained["output"] / PROFILE_FILE).read_text())
    card = json.loads((trained["output"] / "model_card.json").read_text())
    assert profile.rows == card["data"]["split"]["test"]
    kinds = {f.name: f.kind for f in profile.fields}
    assert kinds["pages_visited"] == "numeric" and kinds["source"] == "categorical"
    assert kinds["requested_quote"] == "boolean"
    assert "lead_id" not in kinds and "created_at" not in kinds and "converted" not in kinds
    for field in profile.fields:
        assert abs(sum(field.shares) - 1) < 1e-9 and field.bins[-1] == "missing"
    assert abs(sum(profile.score.shares) - 1) < 1e-9 and len(profile.score.edges) >= 5


def test_monitor_drift_prints_the_contract_and_flags_a_shifted_field(trained: dict, leads_csv: Path, run_cli,
                                                                       tmp_path: Path) -> None:
    frame = pd.read_csv(leads_csv)
    same = run_cli("monitor", "drift", "--model", str(trained["output"]), "--data", str(leads_csv), "--json")
    assert same.returncode == 0, same.stderr
    report = json.loads(same.stdout)
    assert set(report) == {"fields", "score_psi", "drifted"}
    assert {tuple(sorted(f)) for f in report["fields"]} == {("drifted", "name", "p_value", "psi")}
    assert "pages_visited" not in report["drifted"]
    frame["pages_visited"] = frame["pages_visited"] + 10
    frame.to_csv(tmp_path / "shifted.csv", index=False)
    moved = run_cli("monitor", "drift", "--model", str(trained["output"]), "--data", str(tmp_path / "shifted.csv"),
                    "--json")
    assert moved.returncode == 0, moved.stderr
    shifted = json.loads(moved.stdout)
    assert "pages_visited" in shifted["drifted"]
    field = next(f for f in shifted["fields"] if f["name"] == "pages_visited")
    assert field["psi"] >= 0.2 and field["p_value"] < 0.01
    table = run_cli("monitor", "drift", "--model", str(trained["output"]), "--data", str(tmp_path / "shifted.csv"))
    assert table.returncode == 0 and "DRIFTED" in table.stdout and "score PSI" in table.stdout


def test_monitor_drift_refuses_a_sample_below_the_minimum(trained: dict, leads_csv: Path, run_cli,
                                                         tmp_path: Path) -> None:
    pd.read_csv(leads_csv).head(200).to_csv(tmp_path / "few.csv", index=False)
    process = run_cli("monitor", "drift", "--model", str(trained["output"]), "--data", str(tmp_path / "few.csv"))
    assert process.returncode == 8
    assert "at least 500 leads" in process.stderr and "got 200" in process.stderr


def test_a_time_split_selects_on_its_validation_slice_and_ships_models_fitted_on_all_non_test_rows(
        trained: dict) -> None:
    card = json.loads((trained["output"] / "model_card.json").read_text())
    split, final_fit = card["data"]["split"], card["training"]["final_fit"]
    assert final_fit["rows"] == split["train"] + split["valid"]
    assert final_fit["selection"] == "validation"  # never shuffled folds across time
    assert final_fit["selection_rows"] == split["valid"]
    assert set(final_fit["rounds"]) == {"lightgbm"}
    assert "refitting the tuned models on all" in trained["stderr"]


def test_a_log_gets_one_plain_line_per_stage_and_trial(trained: dict) -> None:
    log = trained["stderr"]  # a pipe, not a terminal: no progress bars
    for line in ("tuning lr 1/2", "tuning lr 2/2", "tuning lightgbm 1/2", "tuning lightgbm 2/2", "exporting "):
        assert line in log, log[-2000:]
    assert "\x1b[" not in log  # no terminal escape codes in a Job's log
def test_score_cuts_the_cards_share_tiers_at_the_held_out_cutoffs(trained: dict, leads_csv: Path, run_cli,
                                                                   tmp_path: Path) -> None:
    process = run_cli("score", "--model", str(trained["output"]), "--data", str(leads_csv),
                      "--output", str(tmp_path / "scores.csv"))
    assert process.returncode == 0, process.stderr
    scores = pd.read_csv(tmp_path / "scores.csv")
    card = json.loads((trained["output"] / "model_card.json").read_text())
    low = {t["tier"]: t["minScore"] for t in card["tiers"]}
    expected = np.select([scores["score"] >= low["high"], scores["score"] >= low["medium"],
                          scores["score"] >= low["low"]], ["high", "medium", "low"], "very_low")
    assert (scores["tier"] == expected).all()
    assert set(scores["tier"]) == {"high", "medium", "low", "very_low"}
    sla = {"high": "30m", "medium": "4h", "low": "24h"}
    assert (scores["sla"].fillna("none") == scores["tier"].map(sla).fillna("none")).all()
    priority = {"high": "P0", "medium": "P1", "low": "P2", "very_low": "P3"}
    assert (scores["priority"] == scores["tier"].map(priority)).all()
    assert (scores["prediction"] == (scores["probability"] >= card["threshold"])).all()
    assert set(scores["model_version"]) == {"v1"} and set(scores["model_type"]) == {card["shipped"]}


def test_score_applies_the_tiers_given_like_the_endpoint_does(trained: dict, leads_csv: Path, run_cli,
                                                              tmp_path: Path) -> None:
    from leadscore.api.leadscoringmodel import ScoringSpec

    tiers = ScoringSpec.model_validate({"high": {"minScore": 30, "action": "call_now"},
                                        "medium": {"minScore": 20, "action": "email"},
                                        "low": {"minScore": 10, "action": "drip"}})
    process = run_cli("score", "--model", str(trained["output"]), "--data", str(leads_csv),
                      "--output", str(tmp_path / "scores.csv"), "--scoring", tiers.to_json())
    assert process.returncode == 0, process.stderr
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert (scores.loc[scores["score"] >= 30, "action"] == "call_now").all()
    assert (scores.loc[scores["score"].between(20, 29), "tier"] == "medium").all()
    refused = run_cli("score", "--model", str(trained["output"]), "--data", str(leads_csv),
                      "--output", str(tmp_path / "x.csv"), "--scoring", '{"high": {"minScore": 101}}')
    assert refused.returncode == 2 and "--scoring" in refused.stderr


def test_score_runs_on_engines_verified_against_model_onnx(trained: dict, leads_csv: Path, run_cli,
                                                           tmp_path: Path) -> None:
    """The trainer stores the parity rows; `score` names its engines and answers what model.onnx answers."""
    from leadscore.api.artifact import PARITY_ROWS_FILE
    from leadscore.data import load_dataset
    from leadscore.features.spec import frame_columns
    from leadscore.published import PublishedArtifact

    output: Path = trained["output"]
    rows = np.load(output / PARITY_ROWS_FILE)
    card = json.loads((output / "model_card.json").read_text())
    assert rows.dtype == np.float32 and rows.shape == (min(1000, card["data"]["split"]["test"]),
                                                       len(card["feature_names"]))
    process = run_cli("score", "--model", str(output), "--data", str(leads_csv),
                      "--output", str(tmp_path / "scores.csv"), "--batch-size", "700")
    assert process.returncode == 0, process.stderr
    assert "single: " in process.stdout and "batch: " in process.stdout
    frame = load_dataset(str(leads_csv))
    artifact = PublishedArtifact.open(str(output))
    matrix = artifact.feature_spec.transform_columns(frame_columns(frame), len(frame))
    expected = onnx_graph.predict(onnx_graph.session(str(output / "model.onnx")), matrix).astype(np.float64)
    served = pd.read_csv(tmp_path / "scores.csv")["probability"].to_numpy()
    assert np.max(np.abs(served - expected)) <= 1e-5


def test_the_version_carries_its_intervals_and_the_card_and_summary_their_held_out_coverage(trained: dict) -> None:
    from leadscore.api.artifact import UNCERTAINTY_FILE, Uncertainty

    output = trained["output"]
    card = json.loads((output / "model_card.json").read_text())
    table = Uncertainty.model_validate_json((output / UNCERTAINTY_FILE).read_text())
    assert table.calibration_rows == card["training"]["final_fit"]["selection_rows"]  # the calibrator's rows
    assert len(table.p0_between) == len(table.scores) + 1 and len(table.p0_at) == len(table.scores)
    assert [m.algorithm for m in table.members] == ([m["algorithm"] for m in card["members"]]
                                                    if len(card["members"]) > 1 else [])
    interval = card["interval"]
    assert interval["rows"] == card["metrics"]["rows"] and interval["bins"] == 10
    assert 0 < interval["mean_width"] < 0.5 and interval["mean_p0"] <= interval["mean_p1"]
    assert (interval["mean_agreement"] is None) == (len(card["members"]) == 1)
    assert f"{interval['bins_within']}/10 deciles" in trained["stdout"]
