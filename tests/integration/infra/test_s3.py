"""The S3 fixtures give a real S3 endpoint that leadscore's store and plain clients both reach."""

from __future__ import annotations

import pytest

from leadscore.store import artifacts
from support.s3 import S3Server

pytestmark = pytest.mark.integration


def test_s3_env_round_trips_an_object_when_written_through_the_store(s3_bucket: str) -> None:
    uri = f"s3://{s3_bucket}/infra/object.bin"
    payload = bytes(range(256)) * 64

    artifacts.write_bytes(uri, payload)

    assert artifacts.exists(uri)
    assert artifacts.read_bytes(uri) == payload


def test_s3_server_lists_what_the_store_wrote_when_read_by_another_client(
    s3_env: S3Server, s3_bucket: str
) -> None:
    artifacts.write_bytes(f"s3://{s3_bucket}/a/one.txt", b"1")
    artifacts.write_bytes(f"s3://{s3_bucket}/a/two.txt", b"2")

    listed = s3_env.client().list_objects(s3_bucket, prefix="a/", recursive=True)
    names = sorted(o.object_name for o in listed)

    assert names == ["a/one.txt", "a/two.txt"]


def test_s3_server_refuses_requests_when_the_secret_is_wrong(s3_server: S3Server) -> None:
    from minio import Minio
    from minio.error import S3Error

    intruder = Minio(s3_server.endpoint.removeprefix("http://"), access_key="leadscore-test",
                     secret_key="wrong-secret", secure=False, region="us-east-1")

    with pytest.raises(S3Error) as caught:
        intruder.list_buckets()
    assert caught.value.code == "SignatureDoesNotMatch"


def test_s3_bucket_is_a_new_empty_bucket_when_requested_twice(s3_server: S3Server) -> None:
    first, second = s3_server.create_bucket(), s3_server.create_bucket()

    assert first != second
    assert list(s3_server.client().list_objects(second)) == []
