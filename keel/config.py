"""Settings from KEEL_* environment variables, validated; errors name the variable."""

from __future__ import annotations

import os
from dataclasses import dataclass

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
