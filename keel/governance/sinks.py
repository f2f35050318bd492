"""Where `AuditLog.export` writes sealed segments: a local directory, or S3 with Object Lock.

A sink takes one segment at a time (its name and files) and either writes it, finds it already
there and identical, or refuses (AuditError) when something of that name differs: a sink never
overwrites. `name` is how the export is recorded in the database (`keel_audit_exports`), which is
what lets retention purge a segment: only segments some sink holds.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from keel.errors import ConfigError, KeelError, UsageError

# Written last: a reader that finds a segment's checkpoint finds all of its entries.
CHECKPOINT_FILE = "checkpoint.json"
LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")


class SinkError(KeelError):
    """A sink refused a segment: something of that name differs, or the storage is not write-once."""

    code = "governance.audit"


class Sink(Protocol):
    """Write-once storage for sealed segments."""

    @property
    def name(self) -> str:
        """How exports to this sink are recorded ("dir:PATH", "s3://bucket/prefix")."""
        ...

    def put_segment(self, segment: str, files: Mapping[str, bytes]) -> bool:
        """Write the segment; False when it is already there, identical. SinkError when it differs."""
        ...


def _ordered(files: Mapping[str, bytes]) -> list[str]:
    return sorted(files, key=lambda n: (n == CHECKPOINT_FILE, n))


class DirectorySink:
    """Segments as read-only directories `segment-<first>-<last>` under `root` (files 0444, directory 0555)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @property
    def name(self) -> str:
        return f"dir:{self.root.absolute()}"

    def put_segment(self, segment: str, files: Mapping[str, bytes]) -> bool:
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / segment
        if target.exists():
            if not _same_files(target, files):
                raise SinkError(f"{target} exists and differs from the log's segment: refusing to overwrite it")
            return False
        _write_sealed(self.root, segment, files)
        return True


def _same_files(directory: Path, files: Mapping[str, bytes]) -> bool:
    try:
        present = {p.name for p in directory.iterdir()}
        return present == set(files) and all((directory / n).read_bytes() == data for n, data in files.items())
    except OSError:
        return False


def _write_sealed(root: Path, name: str, files: Mapping[str, bytes]) -> None:
    # Built under a temporary name and renamed into place: a reader (or a crash) never sees half a segment.
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        for filename in _ordered(files):
            path = staging / filename
            with open(path, "xb") as out:
                out.write(files[filename])
                out.flush()
                os.fsync(out.fileno())
            path.chmod(0o444)
        staging.chmod(0o555)
        # The caller saw no segment of this name; a non-empty one appearing meanwhile makes this fail.
        staging.rename(root / name)
    except BaseException:
        if staging.exists():
            staging.chmod(0o755)
            for child in staging.iterdir():
                child.unlink()
            staging.rmdir()
        raise
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3ObjectLockSink:
    """Segments as objects `<prefix>/segment-<first>-<last>/<file>` in a bucket with Object Lock enabled.

    Every object is written with a retention (`mode`, until now + `retain_days`) and a SHA-256
    checksum the server checks. `client` is a boto3 S3 client (endpoint, region and credentials
    from boto3's usual environment). A bucket without Object Lock is refused: its objects could be
    deleted or replaced by anyone with write access.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str,
        client: Any,
        *,
        mode: str = "COMPLIANCE",
        retain_days: int = 2557,
        now: dt.datetime | None = None,
    ) -> None:
        if mode not in LOCK_MODES:
            raise UsageError(f"the Object Lock mode must be one of {', '.join(LOCK_MODES)}, got {mode!r}")
        if retain_days < 1:
            raise UsageError(f"the retention must be at least 1 day, got {retain_days}")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client
        self.mode = mode
        self.retain_days = retain_days
        self._now = now
        self._checked = False

    @property
    def name(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def _key(self, segment: str, filename: str) -> str:
        return "/".join(p for p in (self.prefix, segment, filename) if p)

    def check_object_lock(self) -> None:
        """SinkError unless the bucket has Object Lock enabled."""
        from botocore.exceptions import ClientError

        try:
            config = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("ObjectLockConfigurationNotFoundError", "InvalidRequest"):
                config = {}
            else:
                raise SinkError(
                    f"cannot read the Object Lock configuration of bucket {self.bucket!r}: {code}"
                ) from None
        enabled = config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
        if enabled != "Enabled":
            raise SinkError(
                f"bucket {self.bucket!r} does not have S3 Object Lock enabled: its objects could be overwritten or "
                "deleted; create the bucket with Object Lock (ObjectLockEnabledForBucket) to export the audit log there"
            )
        self._checked = True

    def _existing(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        data: bytes = response["Body"].read()
        return data

    def put_segment(self, segment: str, files: Mapping[str, bytes]) -> bool:
        if not self._checked:
            self.check_object_lock()
        present = {name: self._existing(self._key(segment, name)) for name in files}
        for name, data in present.items():
            if data is not None and data != files[name]:
                raise SinkError(
                    f"{self.name}/{segment}/{name} exists and differs from the log's segment: refusing to overwrite it"
                )
        missing = [n for n in _ordered(files) if present[n] is None]
        if not missing:
            return False
        now = self._now or dt.datetime.now(dt.UTC)
        until = now + dt.timedelta(days=self.retain_days)
        for name in missing:
            data = files[name]
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(segment, name),
                Body=data,
                ContentType="application/json",
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=base64.b64encode(hashlib.sha256(data).digest()).decode(),
                ObjectLockMode=self.mode,
                ObjectLockRetainUntilDate=until,
            )
        return True


def sink_for(target: str | os.PathLike[str], *, retain_days: int = 2557, mode: str = "COMPLIANCE") -> Sink:
    """A sink from a `--to` value: `s3://bucket/prefix` (boto3 from its standard environment) or a directory."""
    text = os.fspath(target)
    if not text.startswith("s3://"):
        return DirectorySink(text)
    bucket, _, prefix = text[len("s3://") :].partition("/")
    if not bucket:
        raise UsageError(f"{text!r} names no bucket: use s3://BUCKET/PREFIX")
    try:
        import boto3
    except ImportError:
        raise ConfigError("exporting to S3 needs boto3: pip install 'keel[s3]'", key="--to") from None
    client = boto3.client("s3")
    return S3ObjectLockSink(bucket, prefix, client, mode=mode, retain_days=retain_days)


__all__ = ["CHECKPOINT_FILE", "DirectorySink", "S3ObjectLockSink", "Sink", "SinkError", "sink_for"]
