"""``leadscore experiment ...`` prints the documented JSON keys and refuses bad input in one line."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from leadscore.api.summary import ArmSummary, DailyArmCount, ExperimentSummary
from leadscore.cli.main import main

ANALYZE_KEYS = {"p_value", "lift", "lift_ci_low", "lift_ci_high", "srm_p_value", "decision", "reason"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_analyze_prints_the_documented_keys_when_json(capsys: pytest.CaptureFixture[str]) -> None:
    arms = ("--control", "1000,150", "--treatment", "1000,195")
    code, out, _ = run(capsys, "experiment", "analyze", *arms, "--fixed", "--json")
    result = json.loads(out)
    assert code == 0
    assert result.keys() >= ANALYZE_KEYS
    assert result["decision"] == "promote"
    assert result["lift"] == pytest.approx(0.3)
    assert result["p_value"] == pytest.approx(0.0077380, abs=1e-6)
    assert result["srm_p_value"] == pytest.approx(1.0)


def test_analyze_keeps_the_control_when_the_lift_is_below_the_minimum(capsys: pytest.CaptureFixture[str]) -> None:
    arms = ("--control", "1000,150", "--treatment", "1000,195", "--json")
    _, out, _ = run(capsys, "experiment", "analyze", *arms, "--fixed", "--minimum-lift", "0.5")
    result = json.loads(out)
    assert result["decision"] == "inconclusive"
    assert "by less than the +50.0% required to switch" in result["reason"]


def test_analyze_sequential_is_more_conservative_than_fixed(capsys: pytest.CaptureFixture[str]) -> None:
    arms = ("--control", "1000,150", "--treatment", "1000,195", "--json")
    _, fixed, _ = run(capsys, "experiment", "analyze", *arms, "--fixed")
    _, sequential, _ = run(capsys, "experiment", "analyze", *arms)
    assert json.loads(sequential)["p_value"] > json.loads(fixed)["p_value"]
    assert json.loads(sequential)["sequential"] is True


def test_analyze_halts_on_a_split_mismatch(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "experiment",
        "analyze",
        "--control",
        "5000,500",
        "--treatment",
        "5000,600",
        "--split",
        "20",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["decision"] == "halted"
    assert json.loads(out)["reason"].startswith("sample ratio mismatch")


def test_analyze_prints_a_table_without_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "experiment", "analyze", "--control", "1000,150", "--treatment", "1000,195", "--fixed")
    assert code == 0
    assert "Fixed-horizon analysis" in out
    assert "promote" in out


@pytest.mark.parametrize(
    ("control", "treatment", "message"),
    [
        ("1000,150", "100,195", "error: treatment.conversions: 195 exceeds exposures (100)"),
        ("-5,0", "100,10", "error: control.exposures: must not be negative, got -5"),
        ("0,0", "100,10", "error: control.exposures: the arm is empty (0 exposures)"),
        ("1000", "100,10", "error: --control: expected EXPOSURES,CONVERSIONS such as 1000,150, got '1000'"),
    ],
)
def test_analyze_refuses_bad_counts_in_one_line(
    capsys: pytest.CaptureFixture[str], control: str, treatment: str, message: str
) -> None:
    code, out, err = run(capsys, "experiment", "analyze", "--control", control, "--treatment", treatment, "--json")
    assert code == 2
    assert err.strip() == message
    assert out == ""


def test_plan_prints_per_arm(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "experiment", "plan", "--baseline", "0.1", "--mde", "0.1", "--json")
    assert code == 0
    assert json.loads(out)["per_arm"] == 14745


def test_simulate_prints_false_positive_rate_when_lift_is_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "experiment", "simulate", "--baseline", "0.1", "--lift", "0", "--per-arm", "2000",
        "--runs", "500", "--peek-every", "100", "--fixed", "--seed", "4", "--json",
    )  # fmt: skip
    result = json.loads(out)
    assert code == 0
    assert {"false_positive_rate", "mean_samples_to_decision"} <= result.keys()
    assert "power" not in result
    assert result["false_positive_rate"] > 0.1


def test_simulate_prints_power_when_lift_is_positive(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "experiment", "simulate", "--baseline", "0.1", "--lift", "0.3", "--per-arm", "2000",
        "--runs", "500", "--peek-every", "100", "--sequential", "--seed", "4", "--json",
    )  # fmt: skip
    result = json.loads(out)
    assert code == 0
    assert {"power", "mean_samples_to_decision"} <= result.keys()
    assert "false_positive_rate" not in result


def test_simulate_requires_choosing_sequential_or_fixed(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "experiment", "simulate", "--baseline", "0.1", "--lift", "0", "--per-arm", "100",
        "--runs", "10", "--peek-every", "10", "--json",
    )  # fmt: skip
    assert code == 2
    assert "--sequential" in err


def test_report_writes_html_and_png_from_a_summary_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    start = date(2026, 11, 1)
    daily = [
        DailyArmCount(day=start + timedelta(days=d), arm=arm, exposures=1000, conversions=conversions)
        for d in range(5)
        for arm, conversions in (("control", 100), ("treatment", 130))
    ]
    summary = ExperimentSummary(
        namespace="sales",
        experiment="v2-vs-v3",
        arms={
            "control": ArmSummary(model_version="v2", exposures=5000, conversions=500),
            "treatment": ArmSummary(model_version="v3", exposures=5000, conversions=650),
        },
        daily=daily,
    )
    source = tmp_path / "summary.json"
    source.write_text(summary.model_dump_json())
    output = tmp_path / "out" / "report.html"
    code, out, _ = run(capsys, "experiment", "report", "--summary", str(source), "--output", str(output), "--json")
    result = json.loads(out)
    assert code == 0
    assert result["decision"] == "promote"
    assert output.is_file() and (tmp_path / "out" / "report.png").is_file()
    assert result["png"] == str(tmp_path / "out" / "report.png")


def test_report_refuses_a_file_that_is_not_a_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = tmp_path / "summary.json"
    source.write_text('{"namespace": "sales"}')
    code, _, err = run(capsys, "experiment", "report", "--summary", str(source), "--output", str(tmp_path / "r.html"))
    assert code == 2
    assert err.strip() == (f"error: --summary: {source} is not an ExperimentSummary: experiment: Field required; "
                           "arms: Field required")


@pytest.mark.parametrize("command", ["analyze", "report"])
def test_cli_defaults_are_what_the_operator_decides_with_for_a_bare_cr(command: str) -> None:
    """`leadscore experiment` with default flags applies the settings of a CR that sets nothing."""
    import typer

    from leadscore.api.abexperiment import ABExperimentSpec
    from leadscore.cli.experiment import experiment_app
    from leadscore.experiments.settings import ExperimentSettings

    bare = ABExperimentSpec.model_validate({"modelRef": "m", "control": {"version": "v1"},
                                            "treatment": {"version": "v2"}})
    operator = ExperimentSettings.from_spec(bare)
    assert ExperimentSettings() == operator
    defaults = {p.name: p.default for p in typer.main.get_command(experiment_app).commands[command].params}
    cli = {"alpha": defaults["alpha"], "sequential": defaults["sequential"], "traffic_percent": defaults["split"],
           "minimum_detectable_effect": defaults["mde"], "minimum_lift": defaults["minimum_lift"],
           "min_samples_per_arm": defaults["min_samples"]}
    if command == "report":
        cli["max_duration"] = defaults["max_duration"]
    assert ExperimentSettings(**cli) == operator


def _leads_file(tmp_path: Path, rows: int = 4000, lift: float = 0.25) -> Path:
    import numpy as np

    rng = np.random.default_rng(12)
    path = tmp_path / "leads.csv"
    lines = ["arm,converted,score"]
    for arm, factor in (("control", 1.0), ("treatment", 1 + lift)):
        score = rng.beta(2, 8, size=rows)
        converted = rng.random(rows) < np.clip(score * factor, 0, 1)
        lines += [f"{arm},{int(c)},{s:.6f}" for c, s in zip(converted, score, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_analyze_adjusts_for_a_covariate_column(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    leads = str(_leads_file(tmp_path))
    _, raw_out, _ = run(capsys, "experiment", "analyze", "--leads", leads, "--json")
    code, out, _ = run(capsys, "experiment", "analyze", "--leads", leads, "--covariate", "score", "--json")
    raw, adjusted = json.loads(raw_out), json.loads(out)
    assert code == 0
    assert raw["variance_reduction"] == "off"
    assert adjusted["variance_reduction"] == "applied"
    assert 0.05 < adjusted["variance_reduction_share"] < 0.5
    assert adjusted["p_value"] < raw["p_value"]
    assert adjusted["control"]["exposures"] == 4000


def test_analyze_refuses_a_covariate_without_leads_and_a_bad_row(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "experiment", "analyze", "--control", "10,1", "--treatment", "10,2", "--covariate", "x")
    assert code == 2
    assert "--covariate: needs --leads" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("arm,converted,score\ncontrol,1,0.2\ntreatment,yes,0.3\n")
    code, _, err = run(capsys, "experiment", "analyze", "--leads", str(bad), "--covariate", "score")
    assert code == 2
    assert "--leads: line 3: converted must be a number, got 'yes'" in err


def test_plan_with_a_correlation_reports_adjusted_sizes_and_days(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "experiment", "plan", "--baseline", "0.12", "--mde", "0.1", "--correlation", "0.4",
        "--daily-exposures", "1000", "--json",
    )  # fmt: skip
    result = json.loads(out)
    assert code == 0
    assert result["variance_reduction"] == pytest.approx(0.16)
    assert result["fixed_per_arm"] == result["per_arm"]
    assert result["fixed_adjusted_per_arm"] == pytest.approx(result["per_arm_exact"] * 0.84, abs=1)
    assert result["sequential_adjusted_per_arm"] < result["sequential_per_arm"]
    assert result["sequential_per_arm"] > result["fixed_per_arm"]
    assert result["fixed_adjusted_days"] < result["fixed_days"] == pytest.approx(result["expected_days"])


def test_simulate_planned_spends_alpha_over_the_looks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "experiment", "simulate", "--baseline", "0.1", "--lift", "0", "--per-arm", "2000",
        "--runs", "1000", "--peek-every", "100", "--planned", "--spending", "pocock", "--seed", "4", "--json",
    )  # fmt: skip
    result = json.loads(out)
    assert code == 0
    assert result["test"] == "planned" and result["spending"] == "pocock"
    assert result["false_positive_rate"] <= 0.05 + 3 * result["monte_carlo_error"]


def test_simulate_adjusted_draws_scored_synthetic_leads(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "experiment", "simulate", "--baseline", "0.12", "--lift", "0.2", "--per-arm", "1000",
        "--runs", "200", "--peek-every", "100", "--sequential", "--adjusted", "--mde", "0.1", "--json",
    )  # fmt: skip
    result = json.loads(out)
    assert code == 0
    assert result["adjusted"] is True and result["mixing"] == "tuned"
    assert 0.1 < result["variance_reduction"] < 0.3


def test_report_reads_a_planned_design(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    summary = ExperimentSummary(
        namespace="sales",
        experiment="g",
        arms={
            "control": ArmSummary(exposures=4000, conversions=400),
            "treatment": ArmSummary(exposures=4000, conversions=520),
        },
    )
    path = tmp_path / "summary.json"
    path.write_text(summary.model_dump_json())
    code, out, _ = run(
        capsys, "experiment", "report", "--summary", str(path), "--output", str(tmp_path / "r.html"),
        "--alpha-spending", "pocock", "--expected-per-arm", "8000", "--json",
    )  # fmt: skip
    assert code == 0
    assert "repeated p" in json.loads(out)["reason"]
    code, _, err = run(capsys, "experiment", "report", "--summary", str(path), "--alpha-spending", "haybittle")
    assert code == 2
    assert "--alpha-spending: expected one of obrien-fleming, pocock" in err


def test_assign_places_leads_with_the_predictor_s_hash_and_the_operator_s_salt(
        capsys: pytest.CaptureFixture[str]) -> None:
    from leadscore.api.abexperiment import experiment_salt
    from leadscore.predictor.routing import assign_arm

    leads = [f"L-{i}" for i in range(200)]
    code, out, _ = run(capsys, "experiment", "assign", "-n", "sales", "--experiment", "x", "--split", "30",
                       "--json", *leads)
    arms = json.loads(out)["arms"]
    assert code == 0 and arms == {lead: assign_arm(lead, experiment_salt("sales", "x"), 30) for lead in leads}
    assert 30 < sum(arm == "treatment" for arm in arms.values()) < 90
    _, other, _ = run(capsys, "experiment", "assign", "-n", "other", "--experiment", "x", "--split", "30",
                      "--json", *leads)
    assert json.loads(other)["arms"] != arms  # the namespace is part of the salt: experiments are independent
    _, table, _ = run(capsys, "experiment", "assign", "-n", "sales", "--experiment", "x", "--split", "0", "L-1")
    assert table == "L-1\tcontrol\n"
