"""The S3 Object Lock sink against moto's real HTTP server on loopback, through the real boto3 client."""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

boto3 = pytest.importorskip("boto3", reason="the dev extra installs boto3")
moto_server = pytest.importorskip("moto.server", reason="the dev extra installs moto[server]")

from keel.governance import Actor, AuditError, AuditEvent, AuditLog, CheckpointPolicy, Signer  # noqa: E402
from keel.governance.audit import verify_segments  # noqa: E402
from keel.governance.sinks import S3ObjectLockSink, SinkError, sink_for  # noqa: E402
from keel.store import Store, open_store  # noqa: E402

SEED = bytes(range(32))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    # boto3's standard environment, as `keel audit export --to s3://...` reads it.
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return boto3.client("s3")


@pytest.fixture
def log(sqlite_url: str) -> Iterator[AuditLog]:
    store: Store = open_store(sqlite_url, migrate=True)
    audit = AuditLog(store, signer=Signer.from_seed(SEED), policy=CheckpointPolicy(every=10, seconds=1e12))
    for start in range(0, 25, 5):
        audit.append_many_sync(
            [
                AuditEvent("tool.call", Actor("agent", "a1"), f"tool:t{i}", data={"i": i})
                for i in range(start, start + 5)
            ]
        )
    yield audit
    store.close()


def _bucket(s3: Any, name: str, *, lock: bool = True) -> str:
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=lock)
    return name


def _segments(s3: Any, bucket: str, prefix: str) -> dict[str, dict[str, bytes]]:
    found: dict[str, dict[str, bytes]] = {}
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "/")
    for obj in listed.get("Contents", []):
        segment, name = obj["Key"].rsplit("/", 2)[-2:]
        found.setdefault(segment, {})[name] = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return found


def test_export_to_object_lock_bucket(s3: Any, log: AuditLog) -> None:
    bucket = _bucket(s3, "audit-worm")
    sink = sink_for(f"s3://{bucket}/keel/audit", retain_days=30)
    assert isinstance(sink, S3ObjectLockSink) and sink.name == "s3://audit-worm/keel/audit"
    report = log.export(sink)
    assert report.written == ["segment-000000000001-000000000010", "segment-000000000011-000000000020"]
    assert report.unsealed == 5 and report.sink == "s3://audit-worm/keel/audit"
    assert set(log.store.audit_exports()) == {(1, 10), (11, 20)}

    segments = _segments(s3, bucket, "keel/audit")
    assert sorted(segments) == report.written
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=29)
    for segment, files in segments.items():
        assert set(files) == {"checkpoint.json", "entries.jsonl", "keys.json", "manifest.json"}
        for name in files:
            head = s3.head_object(Bucket=bucket, Key=f"keel/audit/{segment}/{name}")
            assert head["ObjectLockMode"] == "COMPLIANCE"
            assert head["ObjectLockRetainUntilDate"] > soon
    # The segments read back from the bucket verify on their own, from entry 1.
    assert verify_segments([segments[name] for name in sorted(segments)]) is None
    keys = log.public_keys()
    assert verify_segments([segments[name] for name in sorted(segments)], trusted_keys=keys) is None

    # Again: idempotent, nothing rewritten (one version per object).
    again = log.export(sink)
    assert again.written == [] and again.existing == report.written
    versions = s3.list_object_versions(Bucket=bucket, Prefix="keel/audit/")["Versions"]
    assert len(versions) == 8

    # An object that differs is refused, and nothing is written over it.
    other = sink_for(f"s3://{bucket}/forged", retain_days=1)
    key = "forged/segment-000000000001-000000000010/entries.jsonl"
    s3.put_object(Bucket=bucket, Key=key, Body=b"{}\n")
    with pytest.raises(AuditError, match="refusing to overwrite"):
        log.export(other)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"{}\n"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="forged/")["Contents"]
    assert [o["Key"] for o in listed] == [key]

    # A tampered copy fails offline verification.
    tampered = {name: dict(files) for name, files in segments.items()}
    first = tampered["segment-000000000001-000000000010"]
    first["entries.jsonl"] = first["entries.jsonl"].replace(b"tool:t3", b"tool:t9", 1)
    assert "manifest" in (verify_segments([tampered[n] for n in sorted(tampered)]) or "")


def test_a_bucket_without_object_lock_is_refused(s3: Any, log: AuditLog) -> None:
    bucket = _bucket(s3, "plain-bucket", lock=False)
    sink = S3ObjectLockSink(bucket, "audit", s3)
    with pytest.raises(SinkError, match="does not have S3 Object Lock enabled"):
        sink.check_object_lock()
    with pytest.raises(AuditError, match="Object Lock"):
        log.export(sink)
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert log.store.audit_exports() == {}


def test_the_cli_exports_to_s3_without_printing_credentials(
    s3: Any, log: AuditLog, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from keel.cli import main

    bucket = _bucket(s3, "cli-worm")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value-never-printed")
    # The CLI configures logging for the whole process: put it back, or later tests' caplog sees nothing.
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        with pytest.raises(SystemExit) as exit_info:
            main(["--database-url", sqlite_url, "audit", "export", "--to", f"s3://{bucket}/a", "--retain-days", "3"])
    finally:
        root.setLevel(level)
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
    out = capsys.readouterr()
    assert exit_info.value.code == 0, out.err
    assert "wrote s3://cli-worm/a/segment-000000000001-000000000010" in out.out
    assert "s3cr3t" not in out.out + out.err
    head = s3.head_object(Bucket=bucket, Key="a/segment-000000000011-000000000020/checkpoint.json")
    assert head["ObjectLockRetainUntilDate"] < dt.datetime.now(dt.UTC) + dt.timedelta(days=4)
