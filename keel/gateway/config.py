"""The gateway's configuration, ``keel.toml``: providers, models with prices, routes, budgets, the cache.

Everything is checked at load time so a bad file fails at start-up, never on the first model
call. Every problem is reported as ``dotted.key.path: message`` in one `ConfigError`.
Secrets are only referenced (an environment variable or a file) and read when asked for.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from keel.errors import ConfigError, UsageError

CONFIG_ENV = "KEEL_CONFIG"
DEFAULT_CONFIG_FILE = "keel.toml"
ANTHROPIC_BASE_URL = "https://api.anthropic.com"

ProviderKind = Literal["openai", "anthropic", "scripted"]
CacheBackend = Literal["database", "redis"]
REDIS_SCHEMES = ("redis", "rediss", "unix")
# Providers whose kind has an embeddings API (Anthropic has none).
EMBEDDING_KINDS = ("openai", "scripted")
Period = Literal["run", "day", "month"]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_DASHED_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_COMPACT_DATE = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)")
_TOML_POSITION = re.compile(r"line (\d+), column (\d+)")


class _Strict(BaseModel):
    # strict: TOML is typed, so "0.5" (a string) where a number belongs is a mistake, not a number.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _resolve(path: Path | None, info: ValidationInfo) -> Path | None:
    """A configured path, made absolute against the config file's directory when one is known."""
    if path is None:
        return None
    path = path.expanduser()
    base = (info.context or {}).get("base_dir")
    return path if path.is_absolute() or base is None else Path(base) / path


def is_pinned(model: str) -> bool:
    """Whether a model name names one fixed version (see docs/gateway.md, "Pinned models")."""
    lowered = model.lower()
    tag_sep = max(lowered.rfind("@"), lowered.rfind(":"))
    tag = lowered[tag_sep + 1 :] if tag_sep >= 0 else None
    if lowered.endswith("-latest") or tag == "latest":
        return False
    if tag:
        return True
    return _has_date_stamp(model)


def _has_date_stamp(model: str) -> bool:
    for pattern in (_DASHED_DATE, _COMPACT_DATE):
        for match in pattern.finditer(model):
            year, month, day = (int(part) for part in match.groups())
            # A real calendar date in a plausible range, so that a run of 8 digits in a hash is no stamp.
            if 2000 <= year <= 2099:
                try:
                    date(year, month, day)
                except ValueError:
                    continue
                return True
    return False


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ProviderConfig(_Strict):
    """One `[providers.NAME]` table: how to reach a provider, and where its key is kept."""

    kind: ProviderKind
    base_url: str | None = Field(default=None, validate_default=True)
    api_key_env: str | None = None
    api_key_file: Path | None = Field(default=None, strict=False, validate_default=True)
    timeout_s: float = Field(default=60.0, gt=0)
    fixtures: Path | None = Field(default=None, strict=False, validate_default=True)
    remote: bool | None = None

    # The table's key, set by GatewayConfig, so that api_key() errors can name the provider.
    _name: str = PrivateAttr(default="")

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if kind == "scripted":
            if value is not None:
                raise ValueError("not allowed for a scripted provider (it answers from its fixtures)")
            return None
        if value is None:
            if kind == "anthropic":
                return ANTHROPIC_BASE_URL
            if kind == "openai":
                raise ValueError("required for an openai provider (e.g. https://api.openai.com/v1)")
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _check_api_key_env(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        # The value is never echoed: someone may have pasted the key itself here.
        if not _ENV_NAME.fullmatch(value):
            raise ValueError("must be the name of an environment variable (letters, digits, _), not the key itself")
        if info.data.get("kind") == "scripted":
            raise ValueError("not allowed for a scripted provider (it needs no key)")
        return value

    @field_validator("api_key_file")
    @classmethod
    def _check_api_key_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        if info.data.get("kind") == "scripted":
            raise ValueError("not allowed for a scripted provider (it needs no key)")
        if info.data.get("api_key_env") is not None:
            raise ValueError("give either api_key_env or api_key_file, not both")
        return _resolve(value, info)

    @field_validator("fixtures")
    @classmethod
    def _check_fixtures(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        if info.data.get("kind") not in ("scripted", None):
            raise ValueError("only a scripted provider takes fixtures")
        return _resolve(value, info)

    @property
    def name(self) -> str:
        """The provider's key in `[providers]` (empty when built outside a GatewayConfig)."""
        return self._name

    @property
    def is_remote(self) -> bool:
        """Whether calls leave this machine: `remote` when set, else scripted or a loopback base_url is local."""
        if self.remote is not None:
            return self.remote
        if self.kind == "scripted":
            return False
        return self.base_url is None or not _is_loopback(self.base_url)

    def api_key(self) -> str | None:
        """The API key, read now from its environment variable or file; None when none is configured."""
        where = f"providers.{_key(self._name)}" if self._name else "provider"
        if self.api_key_env is not None:
            value = os.environ.get(self.api_key_env, "").strip()
            if not value:
                raise ConfigError(
                    f"{where}.api_key_env: environment variable {self.api_key_env} is not set or empty",
                    key=f"{where}.api_key_env",
                )
            return value
        if self.api_key_file is not None:
            try:
                value = self.api_key_file.read_bytes().decode("utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"{where}.api_key_file: cannot read {self.api_key_file}: {exc.strerror or type(exc).__name__}",
                    key=f"{where}.api_key_file",
                ) from None
            except UnicodeDecodeError:
                # The decode error would quote bytes of the file, which may be the key.
                raise ConfigError(
                    f"{where}.api_key_file: {self.api_key_file} is not UTF-8 text", key=f"{where}.api_key_file"
                ) from None
            if not value:
                raise ConfigError(f"{where}.api_key_file: {self.api_key_file} is empty", key=f"{where}.api_key_file")
            return value
        return None


class ModelConfig(_Strict):
    """One `[models."NAME"]` table; NAME is the model id as sent to the provider."""

    provider: str
    input_usd_per_mtok: float = Field(ge=0)
    output_usd_per_mtok: float = Field(ge=0)
    cached_input_usd_per_mtok: float | None = Field(default=None, ge=0)
    allow_alias: bool = False
    max_output_tokens: int | None = Field(default=None, gt=0)

    def cost_usd(self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0) -> float:
        """The price of one call in USD.

        `input_tokens` counts every input token, cached ones included (as OpenAI reports them and
        the OpenTelemetry gen_ai conventions count them); the `cached_input_tokens` among them are
        billed at the cached price when the model has one, else at the input price.
        """
        if min(input_tokens, output_tokens, cached_input_tokens) < 0:
            raise UsageError("token counts cannot be negative")
        if cached_input_tokens > input_tokens:
            raise UsageError(
                f"cached_input_tokens ({cached_input_tokens}) is part of input_tokens ({input_tokens}), "
                "so it cannot be larger"
            )
        cached_price = self.cached_input_usd_per_mtok
        if cached_price is None:
            cached_price = self.input_usd_per_mtok
        total = (
            (input_tokens - cached_input_tokens) * self.input_usd_per_mtok
            + cached_input_tokens * cached_price
            + output_tokens * self.output_usd_per_mtok
        )
        return total / 1_000_000


class RouteConfig(_Strict):
    """One `[routes.TASK]` table: the models to try in order, and the call's limits."""

    primary: str
    fallbacks: tuple[str, ...] = Field(default=(), strict=False)
    pii: Literal["any", "local-only"] = "any"
    timeout_s: float | None = Field(default=None, gt=0)
    max_latency_ms: float | None = Field(default=None, gt=0)
    max_cost_usd: float | None = Field(default=None, gt=0)
    # Exact cache, opt-in: an identical request (per org) within this many seconds gets the stored answer.
    cache_ttl_s: float | None = Field(default=None, gt=0)
    # Semantic cache, opt-in: a request whose embedding (by embedding_model) is at least this similar
    # (cosine) to a cached one of the same org and route gets that answer. Shares cache_ttl_s.
    semantic_threshold: float | None = Field(default=None, gt=0, le=1)
    embedding_model: str | None = None

    @property
    def models(self) -> tuple[str, ...]:
        """The primary, then the fallbacks: the order the gateway tries them in."""
        return (self.primary, *self.fallbacks)


class TagBudget(_Strict):
    """One `[budgets.tags.NAME]` table: a limit on everything carrying that tag, per period."""

    usd: float | None = Field(default=None, gt=0)
    tokens: int | None = Field(default=None, gt=0)
    period: Period

    @model_validator(mode="after")
    def _has_a_limit(self) -> TagBudget:
        if self.usd is None and self.tokens is None:
            raise ValueError("a tag budget needs usd, tokens or both")
        return self


class BudgetsConfig(_Strict):
    """The `[budgets]` table; every limit is optional, and only configured limits are enforced."""

    run_usd: float | None = Field(default=None, gt=0)
    run_tokens: int | None = Field(default=None, gt=0)
    # Max tokens per run of any workflow version; a `workflow:NAME@VERSION` tag budget with
    # period = "run" sets it for one version.
    workflow_version_max_tokens: int | None = Field(default=None, gt=0)
    user_daily_usd: float | None = Field(default=None, gt=0)
    user_daily_tokens: int | None = Field(default=None, gt=0)
    org_monthly_usd: float | None = Field(default=None, gt=0)
    org_monthly_tokens: int | None = Field(default=None, gt=0)
    tags: dict[str, TagBudget] = Field(default_factory=dict)
    # Fractions of a limit at which an alert fires, once per budget and period.
    alert_thresholds: tuple[float, ...] = Field(default=(0.5, 0.8, 0.95), strict=False, max_length=8)
    # POSTed a JSON body for every alert; signed with HMAC-SHA256 when the secret's variable is set.
    alert_webhook_url: str | None = None
    alert_webhook_secret_env: str | None = None

    @field_validator("alert_thresholds")
    @classmethod
    def _check_thresholds(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 < v < 1 for v in value):
            raise ValueError("each threshold is a fraction of the limit, between 0 and 1 (e.g. 0.8)")
        if list(value) != sorted(set(value)):
            raise ValueError("thresholds must be increasing, each listed once")
        return value

    @field_validator("alert_webhook_url")
    @classmethod
    def _check_webhook(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("alert_webhook_secret_env")
    @classmethod
    def _check_secret_env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.fullmatch(value):
            raise ValueError("must be the name of an environment variable (letters, digits, _), not the secret itself")
        return value

    @property
    def enforced(self) -> bool:
        """Whether any limit is set (else calls reserve nothing)."""
        return bool(
            self.tags
            or any(
                getattr(self, name) is not None
                for name in (
                    "run_usd",
                    "run_tokens",
                    "workflow_version_max_tokens",
                    "user_daily_usd",
                    "user_daily_tokens",
                    "org_monthly_usd",
                    "org_monthly_tokens",
                )
            )
        )


def _redis_url_problem(url: str) -> str | None:
    """What is wrong with a Redis URL, in words that never repeat it (it may hold a password)."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in REDIS_SCHEMES:
        return "must be a redis://, rediss:// or unix:// URL"
    if parts.scheme == "unix":
        if not parts.path:
            return "a unix:// URL needs the socket's path (unix:///run/redis.sock)"
    elif not parts.hostname:
        return "must name a host (redis://HOST:6379/0)"
    return None


def _has_password(url: str) -> bool:
    parts = urlsplit(url)
    return parts.password is not None or "password" in parse_qs(parts.query)


class CacheConfig(_Strict):
    """The `[cache]` table: where the gateway keeps its exact and semantic cache entries."""

    backend: CacheBackend = "database"
    # Only for backend = "redis". A URL with a password goes through redis_url_env, so that the
    # password is not written in keel.toml.
    redis_url: str | None = None
    redis_url_env: str | None = None
    # Socket timeout of each Redis command: a slow or unreachable cache is a miss, not a slow call.
    redis_timeout_s: float = Field(default=0.5, gt=0)
    # The semantic cache compares a request with this many of its route's newest entries, one by one.
    semantic_max_entries: int = Field(default=1000, gt=0, le=100_000)

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = _redis_url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        if _has_password(value):
            raise ValueError(
                "a password is not allowed in redis_url: put the whole URL in an environment variable "
                "and name it in redis_url_env"
            )
        return value

    @field_validator("redis_url_env")
    @classmethod
    def _check_redis_url_env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.fullmatch(value):
            raise ValueError("must be the name of an environment variable (letters, digits, _), not the URL itself")
        return value

    def redis_url_value(self) -> str:
        """The Redis URL: redis_url, or read now from redis_url_env. Errors never repeat the URL."""
        if self.redis_url is not None:
            return self.redis_url
        if self.redis_url_env is None:
            raise ConfigError('cache.redis_url: required with backend = "redis"', key="cache.redis_url")
        value = os.environ.get(self.redis_url_env, "").strip()
        if not value:
            raise ConfigError(
                f"cache.redis_url_env: environment variable {self.redis_url_env} is not set or empty",
                key="cache.redis_url_env",
            )
        problem = _redis_url_problem(value)
        if problem is not None:
            raise ConfigError(
                f"cache.redis_url_env: the value of {self.redis_url_env}: {problem}", key="cache.redis_url_env"
            )
        return value


class GatewayConfig(_Strict):
    """The whole of `keel.toml`, its cross-references checked."""

    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    routes: dict[str, RouteConfig] = Field(default_factory=dict)
    budgets: BudgetsConfig = Field(default_factory=BudgetsConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    # The governance layer's table in the same file, validated by its reader (keel.config.GovernanceSettings):
    # listed here so that the gateway's strict reading does not refuse it.
    governance: dict[str, Any] = Field(default_factory=dict)

    _source: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _cross_check(self, info: ValidationInfo) -> GatewayConfig:
        for name, provider in self.providers.items():
            provider._name = name
        # Raised as ConfigError directly (pydantic passes it through): each problem names its own
        # key path, which a ValueError raised here could not.
        problems = self._problems()
        if problems:
            raise _config_error(problems, (info.context or {}).get("source"))
        return self

    def _problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for name, model in self.models.items():
            if not model.allow_alias and not is_pinned(name):
                problems.append(
                    (
                        ("models", name),
                        f'"{name}" is a floating alias: use a pinned version (a date stamp such as '
                        "gpt-4o-2024-08-06, or a version tag such as name:8b) or set allow_alias = true",
                    )
                )
            if model.provider not in self.providers:
                problems.append((("models", name, "provider"), f'unknown provider "{model.provider}"'))
        for task, route in self.routes.items():
            entries: list[tuple[tuple[str | int, ...], str]] = [(("routes", task, "primary"), route.primary)]
            entries += [(("routes", task, "fallbacks", i), m) for i, m in enumerate(route.fallbacks)]
            seen: set[str] = set()
            for loc, model_name in entries:
                if model_name in seen:
                    what = "the primary" if model_name == route.primary else "listed twice"
                    problems.append((loc, f'"{model_name}" is {what}; a route tries each model once'))
                    continue
                seen.add(model_name)
                served_by = self.models.get(model_name)
                if served_by is None:
                    problems.append((loc, f'unknown model "{model_name}"'))
                    continue
                provider = self.providers.get(served_by.provider)
                if route.pii == "local-only" and provider is not None and provider.is_remote:
                    problems.append(
                        (
                            loc,
                            f'model "{model_name}" is served by remote provider "{served_by.provider}", '
                            'but the route is pii = "local-only"',
                        )
                    )
            problems += self._semantic_problems(task, route)
        problems += self._cache_problems()
        return problems

    def _semantic_problems(self, task: str, route: RouteConfig) -> list[tuple[tuple[str | int, ...], str]]:
        where: tuple[str | int, ...] = ("routes", task)
        if route.semantic_threshold is None and route.embedding_model is None:
            return []
        if route.embedding_model is None:
            return [((*where, "embedding_model"), "required with semantic_threshold: the model that embeds requests")]
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if route.semantic_threshold is None:
            problems.append(
                (
                    (*where, "semantic_threshold"),
                    "required with embedding_model: the cosine similarity (0 to 1) of a hit",
                )
            )
        if route.cache_ttl_s is None:
            problems.append(
                ((*where, "cache_ttl_s"), "required with the semantic cache: its entries expire after cache_ttl_s too")
            )
        name, loc = route.embedding_model, (*where, "embedding_model")
        model = self.models.get(name)
        provider = self.providers.get(model.provider) if model is not None else None
        if model is None:
            problems.append((loc, f'unknown model "{name}"'))
        elif provider is not None and provider.kind not in EMBEDDING_KINDS:
            problems.append(
                (
                    loc,
                    f'model "{name}" is served by {provider.kind} provider "{model.provider}", which has no '
                    "embeddings API: use a model of an openai or scripted provider",
                )
            )
        elif provider is not None and route.pii == "local-only" and provider.is_remote:
            problems.append(
                (
                    loc,
                    f'model "{name}" is served by remote provider "{model.provider}", '
                    'but the route is pii = "local-only" (its requests are embedded too)',
                )
            )
        return problems

    def _cache_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        cache = self.cache
        if cache.backend == "redis":
            if cache.redis_url is None and cache.redis_url_env is None:
                return [
                    (
                        ("cache", "redis_url"),
                        'required with backend = "redis" (or redis_url_env: an environment variable holding it)',
                    )
                ]
            if cache.redis_url is not None and cache.redis_url_env is not None:
                return [(("cache", "redis_url_env"), "give either redis_url or redis_url_env, not both")]
            return []
        for name in ("redis_url", "redis_url_env"):
            if getattr(cache, name) is not None:
                return [(("cache", name), 'only used with backend = "redis"')]
        return []

    @property
    def source(self) -> Path | None:
        """The file this configuration was loaded from, if any."""
        return self._source

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, base_dir: str | Path | None = None, source: str | None = None
    ) -> GatewayConfig:
        """Validate parsed TOML; relative paths resolve against `base_dir`. Raises ConfigError only.

        `source` names the file in error messages.
        """
        context = {"base_dir": Path(base_dir) if base_dir is not None else None, "source": source}
        try:
            return cls.model_validate(data, context=context)
        except ValidationError as exc:
            # `from None`: pydantic's own message shows each input, which may be a pasted key.
            raise _config_error([(tuple(e["loc"]), _message(e)) for e in exc.errors()], source) from None


def _key(part: str) -> str:
    return part if _BARE_KEY.fullmatch(part) else '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'


def key_path(loc: Sequence[str | int]) -> str:
    """A location as written in TOML: `routes.triage.fallbacks[0]`, `models."llama3.1:8b"`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + _key(part)
    return out


_MESSAGES = {
    "missing": "required",
    "extra_forbidden": "unknown key",
    "path_type": "must be a string (a file path)",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "string_type": "must be a string",
    "float_type": "must be a number",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
}


def _message(error: Any) -> str:
    loc, kind = tuple(error["loc"]), error["type"]
    if kind == "extra_forbidden" and len(loc) == 3 and loc[0] == "providers" and loc[2] == "api_key":
        return "a literal API key is not allowed here: use api_key_env (an environment variable) or api_key_file"
    if kind == "missing" and loc[:1] == ("models",) and str(loc[-1]).endswith("_usd_per_mtok"):
        return "required: every model needs a price (a model with no price is never a free call)"
    if kind in _MESSAGES:
        return str(_MESSAGES[kind])
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message.replace("Input should be", "must be")


def _config_error(problems: list[tuple[tuple[str | int, ...], str]], source: str | None) -> ConfigError:
    lines = [f"{key_path(loc) or '(top level)'}: {message}" for loc, message in problems]
    where = f" (in {source})" if source else ""
    if len(lines) == 1:
        message = lines[0] + where
    else:
        message = f"{len(lines)} problems in the gateway configuration{where}:\n  " + "\n  ".join(lines)
    return ConfigError(message, key=key_path(problems[0][0]), problems=lines)


def load_config(path: str | Path | None = None) -> GatewayConfig | None:
    """Load `path`, else $KEEL_CONFIG, else ./keel.toml; None when ./keel.toml does not exist.

    An explicit path or KEEL_CONFIG naming a missing file is an error: it was asked for.
    """
    key: str | None = None
    if path is None and os.environ.get(CONFIG_ENV):
        path, key = os.environ[CONFIG_ENV], CONFIG_ENV
    if path is None:
        file = Path(DEFAULT_CONFIG_FILE)
        if not file.exists():
            return None
    else:
        file = Path(path).expanduser()
    file = file.absolute()
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        via = f" (from {CONFIG_ENV})" if key else ""
        raise ConfigError(f"gateway config file {file} does not exist{via}", key=key) from None
    except OSError as exc:
        raise ConfigError(f"cannot read gateway config {file}: {exc.strerror or type(exc).__name__}", key=key) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{file} is not UTF-8 text", key=key) from None
    except tomllib.TOMLDecodeError as exc:
        position = _TOML_POSITION.search(str(exc))
        line = int(position.group(1)) if position else None
        where = f" at line {line}" if line is not None else ""
        detail = _TOML_POSITION.sub("", str(exc)).replace("(at )", "").strip().rstrip(".") or "invalid TOML"
        raise ConfigError(f"{file}: TOML syntax error{where}: {detail}", key=key, line=line) from None
    config = GatewayConfig.from_dict(data, base_dir=file.parent, source=str(file))
    config._source = file
    return config


__all__ = [
    "ANTHROPIC_BASE_URL",
    "CONFIG_ENV",
    "EMBEDDING_KINDS",
    "REDIS_SCHEMES",
    "BudgetsConfig",
    "CacheBackend",
    "CacheConfig",
    "GatewayConfig",
    "ModelConfig",
    "ProviderConfig",
    "RouteConfig",
    "TagBudget",
    "is_pinned",
    "key_path",
    "load_config",
]
