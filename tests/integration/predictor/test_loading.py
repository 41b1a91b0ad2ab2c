"""Loading: an s3:// artifact serves; an incomplete one never turns ready and names what is missing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from predictor_servers import running_predictor

from leadscore.store.artifacts import publish_directory
from support.processes import free_port, http_ok, start_process, wait_until

pytestmark = pytest.mark.integration


def test_predictor_serves_the_version_when_loaded_from_an_s3_uri(
    artifact_v1: Path, s3_bucket: str, tmp_path: Path, leads: list[dict[str, object]]
) -> None:
    uri = publish_directory(artifact_v1, f"s3://{s3_bucket}/team-a/pc/v1")
    with running_predictor(uri, tmp_path, name="pc-s3") as server:
        response = httpx.post(f"{server.http}/v1/models/pc-s3:predict", json={"instances": leads[:2]})
    assert response.status_code == 200, response.text
    assert {p["model_version"] for p in response.json()["predictions"]} == {"v1"}


@pytest.mark.parametrize("missing", ["model.onnx", "feature_spec.json", "model_card.json"])
def test_predictor_exits_naming_the_file_when_the_artifact_lacks_it(
    artifact_v1: Path, tmp_path: Path, missing: str
) -> None:
    broken = tmp_path / "v1"
    shutil.copytree(artifact_v1, broken)
    (broken / missing).unlink()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "leadscore.predictor",
            "--model_name=pc",
            f"--model_dir={broken}",
            f"--http_port={free_port()}",
            f"--grpc_port={free_port()}",
            "--host=127.0.0.1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 7, result.stderr
    assert f"error: the artifact is incomplete, {broken / missing} is missing" in result.stderr


def test_leadscore_serve_cli_serves_strictly_on_loopback_when_asked(
    artifact_v1: Path, tmp_path: Path, leads: list[dict[str, object]]
) -> None:
    http_port, grpc_port = free_port(), free_port()
    process = start_process(
        "leadscore serve",
        [
            Path(sys.executable).with_name("leadscore"),
            "serve",
            "--model",
            str(artifact_v1),
            "--name",
            "cli",
            "--http-port",
            str(http_port),
            "--grpc-port",
            str(grpc_port),
            "--strict",
            "--max-batch",
            "3",
        ],
        tmp_path / "serve.log",
    )
    base = f"http://127.0.0.1:{http_port}"
    try:
        wait_until(
            lambda: http_ok(f"{base}/v2/models/cli/ready"), what="leadscore serve ready", timeout=120, process=process
        )
        ok = httpx.post(f"{base}/v1/models/cli:predict", json={"instances": leads[:3]})
        unknown = httpx.post(f"{base}/v1/models/cli:predict", json={"instances": [{**leads[0], "x": 1}]})
        too_many = httpx.post(f"{base}/v1/models/cli:predict", json={"instances": leads[:4]})
    finally:
        process.stop()
    assert ok.status_code == 200 and len(ok.json()["predictions"]) == 3
    assert unknown.status_code == 400 and "instances[0].x: unknown field (strict mode)" in unknown.json()["error"]
    assert too_many.status_code == 400 and "the limit is 3" in too_many.json()["error"]
