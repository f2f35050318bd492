"""Settings from KEEL_* environment variables, validated; errors name the variable."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from keel.errors import ConfigError

DEFAULT_SQLITE_PATH = ".keel/keel.db"


def _float(name: str, default: float, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}", key=name) from None
    if value <= minimum:
        raise ConfigError(f"{name} must be greater than {minimum}, got {raw!r}", key=name)
    return value


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}", key=name) from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {raw!r}", key=name)
    return value


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}", key=name)


def resolve_database_url(database_url: str | None = None) -> str:
    """The explicit URL, else KEEL_DATABASE_URL, else the embedded SQLite file ./.keel/keel.db."""
    url = database_url or os.environ.get("KEEL_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
    if not (url.startswith("sqlite") or url.startswith("postgresql") or url.startswith("postgres://")):
        raise ConfigError(
            f"unsupported database URL scheme in {url.split(':', 1)[0]!r}: use sqlite:///PATH or postgresql://...",
            key="KEEL_DATABASE_URL",
        )
    return url


@dataclass(frozen=True)
class EngineSettings:
    """Tunables of the engine; each maps to one KEEL_* variable."""

    lease_ttl_s: float = 15.0
    poll_interval_s: float = 0.2
    blob_threshold_bytes: int = 256 * 1024

    @classmethod
    def from_env(cls) -> EngineSettings:
        return cls(
            lease_ttl_s=_float("KEEL_LEASE_TTL_S", cls.lease_ttl_s),
            poll_interval_s=_float("KEEL_POLL_INTERVAL_S", cls.poll_interval_s),
            blob_threshold_bytes=_int("KEEL_BLOB_THRESHOLD_BYTES", cls.blob_threshold_bytes),
        )


@dataclass(frozen=True)
class TraceSettings:
    """What Keel traces: spans into its own database (KEEL_TRACING), prompts on spans (KEEL_TRACE_CONTENT).

    Export to a collector is configured with the standard OTEL_* variables (OTEL_TRACES_EXPORTER,
    OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...).
    """

    enabled: bool = True
    content: bool = False

    @classmethod
    def from_env(cls) -> TraceSettings:
        return cls(enabled=_bool("KEEL_TRACING", cls.enabled), content=_bool("KEEL_TRACE_CONTENT", cls.content))


@dataclass(frozen=True)
class ToolSettings:
    """How tools run: warm sandboxes per tool in a worker (KEEL_TOOL_POOL_SIZE), credentials minted
    per org per minute (KEEL_TOOL_MINT_QUOTA, 0 = no quota), and the sandbox's isolation mechanism
    (KEEL_SANDBOX_ISOLATION: auto, bubblewrap or namespaces; auto takes bubblewrap when it works)."""

    ISOLATIONS = ("auto", "bubblewrap", "namespaces")  # not a field: unannotated

    pool_size: int = 1
    mint_quota: int = 0
    isolation: str = "auto"

    @classmethod
    def from_env(cls) -> ToolSettings:
        settings = cls(
            pool_size=_int("KEEL_TOOL_POOL_SIZE", cls.pool_size, minimum=0),
            mint_quota=_int("KEEL_TOOL_MINT_QUOTA", cls.mint_quota, minimum=0),
            isolation=cls.isolation_from_env(),
        )
        if settings.pool_size > 16:
            raise ConfigError("KEEL_TOOL_POOL_SIZE must be from 0 to 16", key="KEEL_TOOL_POOL_SIZE")
        return settings

    @classmethod
    def isolation_from_env(cls) -> str:
        """KEEL_SANDBOX_ISOLATION alone: the sandbox reads it at every call, whatever the other settings say."""
        raw = os.environ.get("KEEL_SANDBOX_ISOLATION")
        if raw is None or raw.strip() == "":
            return cls.isolation
        value = raw.strip().lower()
        if value not in cls.ISOLATIONS:
            raise ConfigError(
                f"KEEL_SANDBOX_ISOLATION must be one of {', '.join(cls.ISOLATIONS)}, got {raw!r}",
                key="KEEL_SANDBOX_ISOLATION",
            )
        return value


@dataclass(frozen=True)
class GuardSettings:
    """The guard over model calls: on unless KEEL_GUARD=false; KEEL_GUARD_NER=false finds names and
    addresses by patterns only (no NER model to load: small machines, tests)."""

    enabled: bool = True
    ner: bool = True

    @classmethod
    def from_env(cls) -> GuardSettings:
        return cls(enabled=_bool("KEEL_GUARD", cls.enabled), ner=_bool("KEEL_GUARD_NER", cls.ner))


@dataclass(frozen=True)
class GovernanceSettings:
    """Policy and risk before every tool call: on when KEEL_GOVERNANCE=true, or when keel.toml (or
    the file KEEL_CONFIG names) has a `[governance]` table, unless KEEL_GOVERNANCE=false.

    `table` is that `[governance]` table as parsed; keel.governance.risk checks it (weights in
    `[governance.risk]`, resources in `[governance.resources.TOOL]`, roles in `[governance.roles]`).
    KEEL_RISK_REVIEW_AT and KEEL_RISK_BLOCK_AT override the thresholds in it.
    """

    enabled: bool = False
    table: dict[str, object] | None = None
    source: str | None = None  # the file the table came from, for error messages

    @classmethod
    def from_env(cls, path: str | Path | None = None) -> GovernanceSettings:
        import tomllib

        file = Path(path) if path is not None else Path(os.environ.get("KEEL_CONFIG") or "keel.toml")
        table: dict[str, object] | None = None
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read the [governance] table of {file}: {exc}", key="governance") from None
        raw = data.get("governance")
        if raw is not None:
            if not isinstance(raw, dict):
                raise ConfigError(f"governance: must be a table (in {file})", key="governance")
            table = raw
        enabled = _bool("KEEL_GOVERNANCE", table is not None and bool(table.get("enabled", True)))
        return cls(enabled=enabled, table=table, source=str(file) if table is not None else None)


# -- secret keys from the environment, a file, or a file beside the SQLite database ---------------


@dataclass(frozen=True)
class KeySource:
    """Where one of Keel's 32-byte secret keys comes from: `env` (base64), else the file `file_env`
    names, else (SQLite only) `file_name` beside the database, created on first use. PostgreSQL
    needs one of the variables: every worker sharing the database must hold the same key."""

    env: str  # KEEL_GUARD_KEY
    file_env: str  # KEEL_GUARD_KEY_FILE
    file_name: str  # guard.key
    label: str  # "guard key": how files and errors name it
    needed_by: str  # "the guard vault needs a master key" (the PostgreSQL error's opening)
    created_warning: str  # logged once, with the path, when the default file is created
    event_type: str  # of that warning
    logger: str  # whose log the warning goes to
    size: int = 32


def decode_key(source: KeySource, text: str, where: str, variable: str | None = None) -> bytes:
    """The `source.size` bytes `text` encodes in base64 (standard or URL-safe); ConfigError naming `where`."""
    import base64
    import binascii

    variable = variable or source.env
    compact = "".join(text.split()).replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            f"{where} is not valid base64: it must encode {source.size} random bytes (`openssl rand -base64 32`)",
            key=variable,
        ) from None
    if len(key) != source.size:
        raise ConfigError(
            f"{where} must encode {source.size} bytes, it encodes {len(key)} (`openssl rand -base64 32` makes one)",
            key=variable,
        )
    return key


def default_key_path(source: KeySource, database_url: str) -> Path | None:
    """`source.file_name` beside a SQLite database file; None for in-memory SQLite or PostgreSQL."""
    if not database_url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url  # only to parse the URL as the store does

    database = make_url(database_url).database
    if not database or database == ":memory:":
        return None
    return Path(os.path.abspath(database)).parent / source.file_name


def resolve_key(source: KeySource, database_url: str) -> tuple[bytes | None, str]:
    """(key, where it came from); (None, "in-memory") for an in-memory SQLite database, whose data and
    so whose key die with the process (the caller makes one)."""
    raw = os.environ.get(source.env, "").strip()
    file = os.environ.get(source.file_env, "").strip()
    if raw and file:
        raise ConfigError(f"set {source.env} or {source.file_env}, not both", key=source.env)
    if raw:
        return decode_key(source, raw, source.env), source.env
    if file:
        try:
            return read_key_file(source, Path(file), source.file_env), f"{source.file_env} ({file})"
        except FileNotFoundError:
            raise ConfigError(f"{source.file_env} names {file}, which does not exist", key=source.file_env) from None
    if database_url.startswith("sqlite"):
        path = default_key_path(source, database_url)
        if path is None:
            return None, "in-memory"
        return load_or_create_key_file(source, path), f"the key file {path}"
    raise ConfigError(
        f"{source.needed_by} on PostgreSQL: set {source.env} (base64 of {source.size} random bytes, "
        f"`openssl rand -base64 32`) or {source.file_env}, the same for every worker sharing the database",
        key=source.env,
    )


def load_or_create_key_file(source: KeySource, path: str | os.PathLike[str]) -> bytes:
    """The key in the file at `path`, created (mode 0600, with a warning) if there is none yet."""
    import base64
    import logging
    import secrets
    import tempfile

    path = Path(path)
    try:
        return read_key_file(source, path, source.env)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Written whole under a temporary name, then linked into place: two processes starting at
    # once never read a half-written key, and the loser of the race uses the winner's.
    fd, tmp = tempfile.mkstemp(prefix=f".{source.file_name}-", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(base64.b64encode(secrets.token_bytes(source.size)) + b"\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return read_key_file(source, path, source.env)
    finally:
        os.unlink(tmp)
    logging.getLogger(source.logger).warning(
        f"{source.created_warning.format(path=path)}; in production set {source.env} (or {source.file_env}) "
        "from your secret store",
        extra={"event_type": source.event_type, "path": str(path)},
    )
    return read_key_file(source, path, source.env)


def read_key_file(source: KeySource, path: Path, variable: str) -> bytes:
    """The key in a file that only its owner may read (ConfigError otherwise); FileNotFoundError passes."""
    # A file the operator configured is named by its variable too; the default file by its path only.
    where = f"the {source.label} file {path}" + (f" ({variable})" if variable == source.file_env else "")
    with open(path, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if mode & 0o077:
            raise ConfigError(
                f"{where} is accessible to other users (mode {mode & 0o777:o}): "
                "chmod 600 it (a Kubernetes secret: defaultMode 0400)",
                key=variable,
            )
        data = f.read()
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ConfigError(f"{where} is not base64 text", key=variable) from None
    return decode_key(source, text, where, variable)


# -- retention -------------------------------------------------------------------------------------

RETENTION_KINDS = ("audit_days", "runs_days", "journal_days")


@dataclass(frozen=True)
class RetentionSettings:
    """How long Keel keeps what it stores, in days (0: forever), globally and per org.

    KEEL_RETENTION_AUDIT_DAYS (default 2557, 7 years), KEEL_RETENTION_RUNS_DAYS and
    KEEL_RETENTION_JOURNAL_DAYS (default 0: kept forever), KEEL_RETENTION_BATCH (runs per purge
    transaction, default 500), and KEEL_RETENTION_FILE: a TOML file whose `[retention]` table sets
    the same keys and whose `[retention.orgs.ORG]` tables override them for one org. The variables
    win over the file's `[retention]` table. It is not keel.toml, whose tables the gateway checks.
    """

    audit_days: int = 2557
    runs_days: int = 0
    journal_days: int = 0
    batch: int = 500
    orgs: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = ()  # (org, ((kind, days), ...)), sorted

    @classmethod
    def from_env(cls) -> RetentionSettings:
        file = os.environ.get("KEEL_RETENTION_FILE", "").strip()
        table: dict[str, object] = {}
        if file:
            table = _retention_file(Path(file).expanduser())
        base = {k: _days(table.get(k), f"[retention] {k}", getattr(cls, k)) for k in RETENTION_KINDS}
        orgs_raw = table.get("orgs", {})
        if not isinstance(orgs_raw, dict):
            raise ConfigError("[retention.orgs] must be a table of org tables", key="KEEL_RETENTION_FILE")
        orgs: list[tuple[str, tuple[tuple[str, int], ...]]] = []
        for org, limits in sorted(orgs_raw.items()):
            if not isinstance(limits, dict):
                raise ConfigError(f"[retention.orgs.{org}] must be a table", key="KEEL_RETENTION_FILE")
            unknown = sorted(set(limits) - set(RETENTION_KINDS))
            if unknown:
                raise ConfigError(f"[retention.orgs.{org}]: unknown key {unknown[0]!r}", key="KEEL_RETENTION_FILE")
            orgs.append(
                (str(org), tuple((k, _days(v, f"[retention.orgs.{org}] {k}", 0)) for k, v in sorted(limits.items())))
            )
        return cls(
            audit_days=_int("KEEL_RETENTION_AUDIT_DAYS", base["audit_days"], minimum=0),
            runs_days=_int("KEEL_RETENTION_RUNS_DAYS", base["runs_days"], minimum=0),
            journal_days=_int("KEEL_RETENTION_JOURNAL_DAYS", base["journal_days"], minimum=0),
            batch=_int("KEEL_RETENTION_BATCH", cls.batch, minimum=1),
            orgs=tuple(orgs),
        )


def _days(value: object, where: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where} must be a whole number of days (0: keep forever), got {value!r}", key=where)
    return value


def _retention_file(path: Path) -> dict[str, object]:
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"KEEL_RETENTION_FILE names {path}, which is missing", key="KEEL_RETENTION_FILE") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", key="KEEL_RETENTION_FILE") from None
    table = data.get("retention", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [retention] must be a table", key="KEEL_RETENTION_FILE")
    unknown = sorted(set(table) - {*RETENTION_KINDS, "orgs"})
    if unknown:
        raise ConfigError(f"{path}: [retention]: unknown key {unknown[0]!r}", key="KEEL_RETENTION_FILE")
    return table
