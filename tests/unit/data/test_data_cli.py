"""``leadscore data synth`` and ``leadscore data profile`` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from leadscore.cli import main


def test_data_synth_writes_csv_and_parquet_that_load_back_identically(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv, parquet = tmp_path / "leads.csv", tmp_path / "leads.parquet"
    assert main(["data", "synth", "--vertical", "commercial", "--rows", "250", "--seed", "3",
                 "--output", str(csv)]) == 0
    assert main(["data", "synth", "--vertical", "commercial", "--rows", "250", "--seed", "3",
                 "--output", str(parquet)]) == 0
    assert "wrote 250 commercial leads" in capsys.readouterr().out
    from_csv, from_parquet = pd.read_csv(csv), pd.read_parquet(parquet)
    assert len(from_csv) == len(from_parquet) == 250
    assert from_csv["lead_id"].tolist() == from_parquet["lead_id"].tolist()
    assert from_csv["converted"].tolist() == from_parquet["converted"].tolist()


@pytest.mark.parametrize(("args", "message"), [
    (["--vertical", "auto"], "Invalid value for '--vertical': Value error, 'auto' is not one of 'pc', 'health', "
                             "'commercial', 'generic'."),  # a closed set is a choice: the usage error names it
    (["--output", "leads.xlsx"], "error: --output must end in .csv or .parquet, got 'leads.xlsx'"),
])
def test_data_synth_refuses_bad_options_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    options = {"--vertical": "pc", "--output": str(tmp_path / "x.csv")}
    options.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = ["data", "synth", "--rows", "10"] + [part for item in options.items() for part in item]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].removeprefix("Error: ").removeprefix("error: ") \
        == message.removeprefix("error: ")
    assert not list(tmp_path.iterdir())


def test_data_profile_prints_schema_and_leak_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "leads.csv"
    assert main(["data", "synth", "--rows", "600", "--seed", "1", "--output", str(path)]) == 0
    frame = pd.read_csv(path)
    frame["closed_reason"] = frame["converted"].map({1: "won", 0: "lost"})  # filled after the outcome
    frame.to_csv(path, sep=";", index=False)
    capsys.readouterr()
    assert main(["data", "profile", "--data", str(path), "--target", "converted", "--id-col", "lead_id",
                 "--time-col", "created_at", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    roles = {c["name"]: c["role"] for c in report["schema"]["columns"]}
    assert roles["lead_id"] == "id" and roles["true_probability"] == "excluded"
    assert report["leakage"][0]["column"] == "closed_reason" and report["leakage"][0]["refused"]


def test_data_profile_prints_table_with_verdicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "leads.csv"
    main(["data", "synth", "--rows", "300", "--seed", "2", "--output", str(path)])
    capsys.readouterr()
    assert main(["data", "profile", "--data", str(path), "--target", "converted",
                 "--post-outcome", "appointments"]) == 0
    out = capsys.readouterr().out
    assert "300 rows, target 'converted'" in out
    assert "appointments is declared post-outcome" in out and "REFUSED unless --allow-leaky" in out


def test_data_profile_exits_with_dataset_code_when_file_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "profile", "--data", str(tmp_path / "none.csv"), "--target", "y"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: dataset ") and "cannot read the file" in err and err.count("\n") == 1


def test_data_profile_refuses_threshold_at_chance_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["data", "profile", "--data", str(tmp_path / "x.csv"), "--target", "y", "--leak-threshold", "0.4"])
    assert code == 2
    assert capsys.readouterr().err == "error: --leak-threshold: Input should be greater than 0.5 (got 0.4)\n"


def test_profile_takes_exclude_like_train_does_comma_separated_and_repeatable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = tmp_path / "leads.csv"
    assert main(["data", "synth", "--rows", "400", "--output", str(leads)]) == 0
    capsys.readouterr()
    assert main(["data", "profile", "--data", str(leads), "--target", "converted", "--id-col", "lead_id", "--json",
                 "--exclude", "true_probability,source", "--exclude", "browser"]) == 0
    roles = {c["name"]: c["role"] for c in json.loads(capsys.readouterr().out)["schema"]["columns"]}
    assert roles["true_probability"] == roles["source"] == roles["browser"] == "excluded"
