"""``leadscore score --engine ray`` on a real local Ray cluster: the shards' scores are the ones
``leadscore score`` writes for the same rows, and a cluster or shard that fails leaves no output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from trainer_helpers import FAST, run_leadscore, synthetic_leads

from support.ray_cluster import RayCluster

pytestmark = [pytest.mark.integration, pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A published version (LR + LightGBM, ensembled) and 1,500 leads it never saw."""
    root = tmp_path_factory.mktemp("ray-score")
    synthetic_leads(2000, seed=21).to_csv(root / "train.csv", index=False)
    done = run_leadscore("train", "--data", str(root / "train.csv"), "--target", "converted", "--id-col", "lead_id",
                         "--time-col", "created_at", *FAST, "--output", str(root / "model"), "--version", "v1",
                         cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    fresh = synthetic_leads(1500, seed=22).drop(columns=["converted"])
    fresh.to_csv(root / "fresh.csv", index=False)
    return root / "model", root / "fresh.csv"


def _shards(fresh: Path, directory: Path) -> Path:
    """The leads as three shards named in the file's order: two CSV, and one Parquet holding the
    columns as pandas reads them from CSV (what the single node scores)."""
    frame = pd.read_csv(fresh)
    directory.mkdir()
    parts = [frame.iloc[rows].reset_index(drop=True) for rows in np.array_split(np.arange(len(frame)), 3)]
    parts[0].to_csv(directory / "part-0.csv", index=False)
    parts[1].to_csv(directory / "part-1.csv", index=False)
    parts[2].to_parquet(directory / "part-2.parquet", index=False)
    (directory / "_SUCCESS").write_text("")  # a marker file is not a shard
    return directory


def test_ray_scores_every_shard_as_the_single_node_scores_the_file(trained: tuple[Path, Path], tmp_path: Path,
                                                                  ray_cluster: RayCluster) -> None:
    model, fresh = trained
    single = run_leadscore("score", "--model", str(model), "--data", str(fresh), "--output", "single.csv",
                           cwd=tmp_path)
    assert single.returncode == 0, single.stderr[-3000:]
    shards = _shards(fresh, tmp_path / "shards")
    ray = run_leadscore("score", "--engine", "ray", "--ray-address", ray_cluster.address, "--model", str(model),
                        "--data", str(shards), "--output", "out/ray.csv", "--json", cwd=tmp_path, timeout=600,
                        env=ray_cluster.env)
    assert ray.returncode == 0, ray.stderr[-3000:]
    assert "scoring: 3/3 shards (1,500 leads)" in ray.stderr
    expected, got = pd.read_csv(tmp_path / "single.csv"), pd.read_csv(tmp_path / "out/ray.csv")
    assert list(got.columns) == list(expected.columns)
    assert got["lead_id"].tolist() == expected["lead_id"].tolist()  # every lead once, in the file's order
    assert np.abs(got["probability"].to_numpy() - expected["probability"].to_numpy()).max() <= 1e-6
    for column in ("score", "tier", "action", "prediction", "model_version"):
        assert got[column].tolist() == expected[column].tolist(), column
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["ray.csv"]  # the temp file was renamed, not left


def test_ray_writes_parquet_too(trained: tuple[Path, Path], tmp_path: Path, ray_cluster: RayCluster) -> None:
    model, fresh = trained
    done = run_leadscore("score", "--engine", "ray", "--ray-address", ray_cluster.address, "--model", str(model),
                         "--data", str(fresh), "--output", "ray.parquet", cwd=tmp_path, timeout=600,
                         env=ray_cluster.env)
    assert done.returncode == 0, done.stderr[-3000:]
    scored = pd.read_parquet(tmp_path / "ray.parquet")
    assert len(scored) == 1500 and scored["probability"].between(0, 1).all()


def test_an_unreachable_ray_address_is_one_line_and_exit_9_with_no_output(trained: tuple[Path, Path],
                                                                         tmp_path: Path) -> None:
    from support.processes import free_port

    model, fresh = trained
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    done = run_leadscore("score", "--engine", "ray", "--ray-address", address, "--model", str(model),
                         "--data", str(fresh), "--output", "out/scores.csv", cwd=tmp_path, timeout=120)
    assert done.returncode == 9, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: --ray-address: cannot reach the Ray cluster at {address} (Connection refused within "
                      "10 s); is its head running (ray start --head, or the RayJob's head pod)?"]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_corrupt_shard_fails_the_run_naming_it_and_writes_nothing(trained: tuple[Path, Path], tmp_path: Path,
                                                                   ray_cluster: RayCluster) -> None:
    model, fresh = trained
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "a.csv").write_bytes(fresh.read_bytes())
    (shards / "b.parquet").write_bytes(b"PAR1 this is not parquet")
    (tmp_path / "out").mkdir()
    done = run_leadscore("score", "--engine", "ray", "--ray-address", ray_cluster.address, "--model", str(model),
                         "--data", str(shards), "--output", "out/scores.csv", cwd=tmp_path, timeout=600,
                         env=ray_cluster.env)
    assert done.returncode == 3, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"dataset {shards / 'b.parquet'}: not a readable Parquet file" in errors[0], errors
    assert list((tmp_path / "out").iterdir()) == []  # neither the output nor its temp file
