"""Artifact store: local directories and ``s3://`` prefixes behind one small API.

A model version is immutable and must never be visible half-written. Locally a finished
directory is renamed into place (atomic on one filesystem). On S3, where nothing renames,
every file is uploaded first and ``result.json`` last: readers (the operator, the
predictor) treat a version without ``result.json`` as absent, and a failed upload removes
what it wrote.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from leadscore.api.artifact import COMMIT_MARKER
from leadscore.errors import StorageError
from leadscore.store import s3
from leadscore.store.s3 import S3Location, is_s3_uri


def join(base: str, *parts: str) -> str:
    """Join path parts onto a local path or an s3:// prefix."""
    if is_s3_uri(base):
        return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
    return str(Path(base, *parts))


def _local_files(directory: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            yield path, path.relative_to(directory).as_posix()


def _s3_keys(location: S3Location) -> list[str]:
    prefix = location.key.rstrip("/") + "/" if location.key else ""
    try:
        return [o.object_name for o in s3.client().list_objects(location.bucket, prefix=prefix, recursive=True)]
    except Exception as exc:  # minio raises S3Error, urllib3 errors, ...
        raise StorageError(f"cannot list {location}: {exc}") from exc


def exists(uri: str) -> bool:
    """True when a file, a directory, an object or a non-empty prefix is there."""
    if not is_s3_uri(uri):
        return Path(uri).exists()
    location = S3Location.parse(uri)
    try:
        s3.client().stat_object(location.bucket, location.key)
        return True
    except Exception:
        return bool(_s3_keys(location))


def publish_directory(local_dir: Path, target: str) -> str:
    """Copy a finished artifact directory to ``target`` all-or-nothing; returns ``target``.

    Refuses to overwrite an existing version: versions are immutable.
    """
    files = list(_local_files(local_dir))
    if not any(rel == COMMIT_MARKER for _, rel in files):
        raise StorageError(f"{local_dir} has no {COMMIT_MARKER}; refusing to publish an unfinished artifact")
    if is_s3_uri(target):
        _publish_s3(files, S3Location.parse(target))
    else:
        _publish_local(local_dir, Path(target))
    return target


def _publish_local(local_dir: Path, target: Path) -> None:
    if target.exists() and any(target.iterdir()):
        raise StorageError(f"{target} already exists and is not empty; versions are immutable")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        shutil.copytree(local_dir, staging)
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise StorageError(f"cannot write {target}: {exc}") from exc


def _publish_s3(files: list[tuple[Path, str]], location: S3Location) -> None:
    if _s3_keys(location):
        raise StorageError(f"{location} already holds objects; versions are immutable")
    client = s3.client()
    ordered = sorted(files, key=lambda item: item[1] == COMMIT_MARKER)  # marker last
    written: list[str] = []
    try:
        if not client.bucket_exists(location.bucket):
            client.make_bucket(location.bucket)
        for path, rel in ordered:
            key = location.child(rel).key
            client.fput_object(location.bucket, key, str(path))
            written.append(key)
    except Exception as exc:
        for key in written:  # best effort: the marker was never written, so readers ignore leftovers
            with contextlib.suppress(Exception):
                client.remove_object(location.bucket, key)
        raise StorageError(f"upload to {location} failed, nothing published: {exc}") from exc


def confined(destination: Path, relative_key: str) -> Path:
    """Where a listed object's key lands under ``destination``; StorageError for a key that
    would land outside it. S3 allows keys such as ``prefix//etc/cron.d/x`` or ``prefix/../x``
    (MinIO refuses them, AWS does not); joined naively the first is an absolute path."""
    parts = relative_key.split("/")
    if any(part in ("", ".", "..") for part in parts):  # also an empty key and a leading "/"
        raise StorageError(f"refusing object key {relative_key[:120]!r}: it would be written outside {destination}")
    target = destination.joinpath(*parts)
    if not target.resolve().is_relative_to(destination.resolve()):
        raise StorageError(f"refusing object key {relative_key[:120]!r}: it would be written outside {destination}")
    return target


def fetch_directory(source: str, destination: Path | None = None) -> Path:
    """A local directory holding ``source``: the path itself, or a download of the prefix.

    Local paths are used as they are, symlinks followed: whoever passes a local path chooses
    what it points to (KServe mounts ``/mnt/models`` through links). Downloaded keys are
    confined to ``destination`` (``confined``), all checked before the first byte is written.
    """
    if not is_s3_uri(source):
        path = Path(source)
        if not path.is_dir():
            raise StorageError(f"artifact directory not found: {source}")
        return path
    location = S3Location.parse(source)
    keys = _s3_keys(location)
    if not keys:
        raise StorageError(f"nothing stored under {source}")
    destination = destination or Path(tempfile.mkdtemp(prefix="leadscore-artifact-"))
    prefix = location.key.rstrip("/") + "/" if location.key else ""
    objects = [key for key in keys if not key.endswith("/")]  # a "folder/" marker object holds nothing
    targets = [(key, confined(destination, key[len(prefix):])) for key in objects]
    client = s3.client()
    try:
        for key, target in targets:
            client.fget_object(location.bucket, key, str(target))
    except Exception as exc:
        raise StorageError(f"cannot download {source}: {exc}") from exc
    return destination


def read_bytes(uri: str) -> bytes:
    """One file or object, whole."""
    if not is_s3_uri(uri):
        try:
            return Path(uri).read_bytes()
        except OSError as exc:
            raise StorageError(f"cannot read {uri}: {exc.strerror or exc}") from exc
    location = S3Location.parse(uri)
    try:
        response = s3.client().get_object(location.bucket, location.key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()
    except Exception as exc:
        raise StorageError(f"cannot read {uri}: {exc}") from exc


def list_files(uri: str) -> list[str]:
    """Every file under a local directory or an ``s3://`` prefix, as URIs, sorted; a single file
    or object is itself. Nothing there is an empty list."""
    if not is_s3_uri(uri):
        path = Path(uri)
        if path.is_file():
            return [str(path)]
        return [str(file) for file, _ in _local_files(path)] if path.is_dir() else []
    location = S3Location.parse(uri)
    if location.key and not location.key.endswith("/") and exists(uri) and not _s3_keys(location):
        return [uri]
    return sorted(f"s3://{location.bucket}/{key}" for key in _s3_keys(location) if not key.endswith("/"))


def put_file(uri: str, local: Path) -> None:
    """A finished local file moved to ``uri`` whole: renamed into place locally (``local`` must be on
    the same filesystem, e.g. a temp file beside ``uri``), uploaded in one object put on S3 (then
    ``local`` is removed). Readers never see part of it."""
    if not is_s3_uri(uri):
        os.replace(local, uri)
        return
    location = S3Location.parse(uri)
    client = s3.client()
    try:
        if not client.bucket_exists(location.bucket):
            client.make_bucket(location.bucket)
        client.fput_object(location.bucket, location.key, str(local))
    except Exception as exc:
        raise StorageError(f"cannot write {uri}: {exc}") from exc
    finally:
        local.unlink(missing_ok=True)


def write_bytes(uri: str, data: bytes) -> None:
    """One file or object, replaced atomically (temp file + rename locally)."""
    if is_s3_uri(uri):
        import io

        location = S3Location.parse(uri)
        client = s3.client()
        try:
            if not client.bucket_exists(location.bucket):
                client.make_bucket(location.bucket)
            client.put_object(location.bucket, location.key, io.BytesIO(data), len(data))
        except Exception as exc:
            raise StorageError(f"cannot write {uri}: {exc}") from exc
        return
    path = Path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def delete_file(uri: str) -> None:
    """Remove one file or object; nothing to do when it is absent."""
    if not is_s3_uri(uri):
        try:
            Path(uri).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {uri}: {exc.strerror or exc}") from exc
        return
    location = S3Location.parse(uri)
    try:
        s3.client().remove_object(location.bucket, location.key)
    except Exception as exc:
        raise StorageError(f"cannot delete {uri}: {exc}") from exc


def delete_tree(uri: str) -> int:
    """Remove a version directory or prefix; returns how many files went."""
    if not is_s3_uri(uri):
        path = Path(uri)
        if not path.exists():
            return 0
        count = sum(1 for _ in _local_files(path))
        shutil.rmtree(path)
        return count
    location = S3Location.parse(uri)
    keys = _s3_keys(location)
    client = s3.client()
    for key in keys:
        client.remove_object(location.bucket, key)
    return len(keys)
