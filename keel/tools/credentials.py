"""Per-invocation tool credentials: short-lived, scoped to one org, signed with Ed25519, revocable at once.

For every tool call the `CredentialBroker` mints a token that lives 30-60 s (45 by default) and
carries the tool's scopes bound to the run's org (`read:orders` for org 123 becomes
`read:orders:org:123`), the run, the step and a unique id. The services the tool calls check it
with `verify(token, scope)`: signature, issuer, expiry, org, scope and revocation.

Token: ``v1.<claims>.<signature>``, both parts base64url without padding. The claims are a JSON
object with exactly the keys `iss kid jti org run step tool scopes iat nbf exp gen ogen`; the
signature is Ed25519 over the ASCII bytes ``v1.<claims>``. The version prefix is signed too, so a
token cannot be replayed under another format's rules. Anything off this shape is refused as
"malformed" before any key is looked up.

Keys. The private key never enters the database: it is a PEM file (PKCS#8, mode 0600), at
KEEL_TOOL_SIGNING_KEY_FILE or, by default, `tool-signing-key.pem` beside the SQLite database
(`.keel/` for PostgreSQL), created on first use. Its public half is published in
`keel_tool_keys` under a key id derived from it (`kid`), so a verifier in any process finds it,
several workers may each sign with their own key, and rotation is: point the workers at a new
file, then retire the old `kid` once its last tokens have expired (a minute later).

Revocation is read from the database on every verification (one primary-key read of at most four
rows), so it is immediate in every process: `revoke(jti)` refuses one credential; `revoke_all()`
bumps a generation counter (for all orgs, or one org), and every credential minted under an older
generation is refused. A counter, not a timestamp: with a clock a second ahead, a worker would
mint credentials that outlive a time-based kill switch. Keeping the check uncached costs one read
per verification (see bench/credentials.py), and caching it is what would break "immediately".

Tokens are bearer secrets: nothing here logs one, and errors never quote one.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import math
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from keel.config import resolve_database_url
from keel.errors import ConfigError, CredentialError, CredentialQuotaExceeded, UsageError
from keel.store import Store, open_store
from keel.types import Clock, SystemClock

log = logging.getLogger("keel.tools.credentials")

VERSION = "v1"
ISSUER = "keel"
ALGORITHM = "Ed25519"
KEY_FILE_ENV = "KEEL_TOOL_SIGNING_KEY_FILE"
KEY_FILE_NAME = "tool-signing-key.pem"
DEFAULT_TTL_S = 45.0
MIN_TTL_S = 30.0
MAX_TTL_S = 60.0
# A verifier refuses any token whose claimed life is longer, whatever signed it: no broker mints one.
MAX_LIFETIME_S = 300.0
# Skew allowed between the minting worker's clock and the verifier's for `nbf` (never for `exp`).
DEFAULT_LEEWAY_S = 5.0
_MAX_TOKEN_CHARS = 8192
_MAX_FIELD_CHARS = 200
_SIGNATURE_BYTES = 64

_CLAIM_KEYS = frozenset(
    {"iss", "kid", "jti", "org", "run", "step", "tool", "scopes", "iat", "nbf", "exp", "gen", "ogen"}
)
# A scope is colon-separated segments; "org" is reserved for the binding the broker appends.
_SCOPE = re.compile(r"[A-Za-z0-9_.=/+-]+(?::[A-Za-z0-9_.=/+-]+)*")
# An org id ends a bound scope, so it may not contain ":" (nor whitespace).
_ORG = re.compile(r"[^\s:]{1,200}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


# -- claims and scopes ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified tool credential says: for whom it was minted, what it grants, until when."""

    iss: str
    kid: str
    jti: str
    org: str
    run: str
    step: int
    tool: str
    scopes: tuple[str, ...]  # each bound to `org`: "read:orders:org:123"
    iat: float
    nbf: float
    exp: float
    gen: int  # the revoke-all generation of every org when minted
    ogen: int  # ... and of this org

    def grants(self, scope: str) -> bool:
        """Whether this credential holds `scope` (bare, as `read:orders`, or bound, as `read:orders:org:123`)."""
        base, org = _split_scope(scope)
        return (org is None or org == self.org) and bind_scope(base, self.org) in self.scopes

    def as_dict(self) -> dict[str, Any]:
        """The claims as the token's JSON object."""
        return {
            "iss": self.iss,
            "kid": self.kid,
            "jti": self.jti,
            "org": self.org,
            "run": self.run,
            "step": self.step,
            "tool": self.tool,
            "scopes": list(self.scopes),
            "iat": self.iat,
            "nbf": self.nbf,
            "exp": self.exp,
            "gen": self.gen,
            "ogen": self.ogen,
        }


def bind_scope(scope: str, org_id: str) -> str:
    """`scope` bound to one org: ``bind_scope("read:orders", "123") == "read:orders:org:123"``."""
    _check_scope(scope)
    _check_org(org_id)
    return f"{scope}:org:{org_id}"


def _check_scope(scope: object) -> str:
    if not isinstance(scope, str) or len(scope) > _MAX_FIELD_CHARS or not _SCOPE.fullmatch(scope):
        raise UsageError(f"invalid scope {scope!r}: colon-separated segments of letters, digits and _.=/+-")
    if "org" in scope.split(":"):
        raise UsageError(f"invalid scope {scope!r}: the segment 'org' is reserved for the org binding Keel adds")
    return scope


def _check_org(org_id: object) -> str:
    if not isinstance(org_id, str) or not _ORG.fullmatch(org_id):
        raise UsageError(f"invalid org id {org_id!r}: 1-200 characters, no ':' and no whitespace")
    return org_id


def _split_scope(scope: str) -> tuple[str, str | None]:
    """(bare scope, org) of a scope a service asks for; org None when it is bare."""
    if isinstance(scope, str) and ":org:" in scope:
        base, _, org = scope.rpartition(":org:")
        return _check_scope(base), _check_org(org)
    return _check_scope(scope), None


# -- encoding ---------------------------------------------------------------------------------


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    # Strict: the URL-safe alphabet only, no padding, and the canonical encoding (the unused low
    # bits of the last character zero), so each token has exactly one spelling.
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        _refuse("malformed", "the token is not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64encode(data) != text:
        _refuse("malformed", "the token is not canonical base64url")
    return data


def _refuse(reason: str, why: str, claims: Claims | None = None) -> NoReturn:
    # The token itself is never quoted: it is a bearer secret. Once its signature holds, its id
    # and tool are safe and useful to name (for the audit of refusals).
    details: dict[str, Any] = {"reason": reason}
    if claims is not None:
        details.update(jti=claims.jti, tool=claims.tool, org_id=claims.org)
    raise CredentialError(f"tool credential refused ({reason}): {why}", **details)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _string(raw: Mapping[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value or len(value) > _MAX_FIELD_CHARS:
        _refuse("malformed", f"claim {key!r} must be a non-empty string")
    return value


def _integer(raw: Mapping[str, Any], key: str) -> int:
    value = raw[key]
    if type(value) is not int or value < 0:
        _refuse("malformed", f"claim {key!r} must be a non-negative integer")
    return value


def _number(raw: Mapping[str, Any], key: str) -> float:
    value = raw[key]
    if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
        _refuse("malformed", f"claim {key!r} must be a time in epoch seconds")
    return float(value)


def _parse(token: object) -> tuple[Claims, bytes, bytes]:
    """(claims, signed bytes, signature) of a token of the right shape; CredentialError("malformed") otherwise."""
    if not isinstance(token, str) or not token:
        _refuse("malformed", "no token")
    if len(token) > _MAX_TOKEN_CHARS:
        _refuse("malformed", "the token is too long")
    parts = token.split(".")
    if len(parts) != 3:
        _refuse("malformed", "a token has three dot-separated parts")
    version, payload, signature = parts
    if version != VERSION:
        _refuse("malformed", f"unsupported token version (expected {VERSION})")
    signature_bytes = _b64decode(signature)
    if len(signature_bytes) != _SIGNATURE_BYTES:
        _refuse("malformed", "an Ed25519 signature is 64 bytes")
    try:
        raw = json.loads(_b64decode(payload), object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        _refuse("malformed", "the claims are not a JSON object")
    if not isinstance(raw, dict):
        _refuse("malformed", "the claims are not a JSON object")
    if raw.keys() != _CLAIM_KEYS:
        _refuse("malformed", "the claims do not have the expected keys")
    org = _string(raw, "org")
    if not _ORG.fullmatch(org):
        _refuse("malformed", "claim 'org' is not an org id")
    scopes = raw["scopes"]
    suffix = f":org:{org}"
    if not isinstance(scopes, list) or not all(
        isinstance(s, str) and s.endswith(suffix) and _SCOPE.fullmatch(s[: -len(suffix)]) for s in scopes
    ):
        _refuse("malformed", "claim 'scopes' must list scopes bound to the token's org")
    jti = _string(raw, "jti")
    try:
        canonical = str(uuid.UUID(jti)) == jti
    except ValueError:
        canonical = False
    if not canonical:
        _refuse("malformed", "claim 'jti' must be a UUID")
    claims = Claims(
        iss=_string(raw, "iss"),
        kid=_string(raw, "kid"),
        jti=jti,
        org=org,
        run=_string(raw, "run"),
        step=_integer(raw, "step"),
        tool=_string(raw, "tool"),
        scopes=tuple(scopes),
        iat=_number(raw, "iat"),
        nbf=_number(raw, "nbf"),
        exp=_number(raw, "exp"),
        gen=_integer(raw, "gen"),
        ogen=_integer(raw, "ogen"),
    )
    if not claims.iat <= claims.nbf < claims.exp:
        _refuse("malformed", "the token's times are not iat <= nbf < exp")
    return claims, f"{version}.{payload}".encode("ascii"), signature_bytes


# -- keys -------------------------------------------------------------------------------------


def key_id(public_key: Ed25519PublicKey) -> str:
    """A key's id: derived from its public half, so publishing the same key twice is one row."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _b64encode(hashlib.sha256(raw).digest()[:16])


def _public_text(public_key: Ed25519PublicKey) -> str:
    return _b64encode(public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def default_key_file(database_url: str) -> Path | None:
    """Where the signing key lives: KEEL_TOOL_SIGNING_KEY_FILE, else beside the SQLite database,
    else `.keel/` (PostgreSQL). None for an in-memory SQLite database: its key lives in memory too."""
    configured = os.environ.get(KEY_FILE_ENV)
    if configured:
        return Path(configured)
    if database_url.startswith("sqlite"):
        from sqlalchemy.engine import make_url  # only to parse the URL as the store does

        database = make_url(database_url).database
        if not database or database == ":memory:":
            return None
        return Path(os.path.abspath(database)).parent / KEY_FILE_NAME
    return Path(".keel") / KEY_FILE_NAME


def load_signing_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file at `path`, created (mode 0600) if there is none yet.

    A key file that others than its owner may read is refused, as ssh refuses one: the key signs
    credentials for every org.
    """
    path = Path(path)
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Written whole under a temporary name, then linked into place: two processes starting at
    # once never read a half-written file, and the loser of the race uses the winner's key.
    fd, tmp = tempfile.mkstemp(prefix=".tool-key-", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read_key(path)
    finally:
        os.unlink(tmp)
    log.info(
        "tool credential signing key created",
        extra={"event_type": "tool.signing_key_created", "path": str(path), "kid": key_id(key.public_key())},
    )
    return key


def _read_key(path: Path) -> Ed25519PrivateKey:
    with open(path, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if mode & 0o077:
            raise ConfigError(
                f"tool signing key file {path} is accessible to other users (mode {mode & 0o777:o}): "
                "chmod 600 it (a Kubernetes secret: defaultMode 0400)",
                key=KEY_FILE_ENV,
            )
        data = f.read()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"tool signing key file {path} is not an unencrypted PEM private key", key=KEY_FILE_ENV
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"tool signing key file {path} holds a {type(key).__name__}, not Ed25519", key=KEY_FILE_ENV)
    return key


# -- verification -----------------------------------------------------------------------------


class Verifier:
    """Checks tool credentials for the services a tool calls, against Keel's database.

    Public keys come from `keel_tool_keys` (cached per kid: a kid's key never changes), unless
    `keys` pins the only ones to trust, for a service that takes its keys from its own
    configuration rather than from the database. Revocation is read on every call.
    """

    def __init__(
        self,
        store: Store,
        *,
        keys: Mapping[str, Ed25519PublicKey] | None = None,
        clock: Clock | None = None,
        issuer: str = ISSUER,
        leeway_s: float = DEFAULT_LEEWAY_S,
        max_lifetime_s: float = MAX_LIFETIME_S,
    ) -> None:
        if not 0 <= leeway_s <= 60:
            raise ConfigError(f"leeway_s must be within [0, 60], got {leeway_s}", key="leeway_s")
        if not max_lifetime_s > 0:
            raise ConfigError(f"max_lifetime_s must be positive, got {max_lifetime_s}", key="max_lifetime_s")
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.issuer = issuer
        self.leeway_s = leeway_s
        self.max_lifetime_s = max_lifetime_s
        self._pinned = keys is not None
        self._keys: dict[str, Ed25519PublicKey] = dict(keys or {})

    def trust(self, public_key: Ed25519PublicKey) -> str:
        """Trust `public_key` without reading it from the database (its own broker's key); returns its kid."""
        kid = key_id(public_key)
        self._keys[kid] = public_key
        return kid

    def _public_key(self, kid: str) -> Ed25519PublicKey | None:
        key = self._keys.get(kid)
        if key is not None or self._pinned:
            return key
        found = self.store.credential_public_key(kid)
        if found is None or found[0] != ALGORITHM:
            return None  # not cached: a worker starting now may publish it in a moment
        try:
            key = Ed25519PublicKey.from_public_bytes(_b64decode(found[1]))
        except (CredentialError, ValueError):
            log.warning("unreadable published tool key", extra={"event_type": "tool.key_unreadable", "kid": kid})
            return None
        self._keys[kid] = key
        return key

    def verify(self, token: str, scope: str, *, org_id: str | None = None) -> Claims:
        """The claims of `token` if it grants `scope`; else CredentialError, whose `reason` says why.

        `scope` is bare (`read:orders`: the token's own org is used) or bound
        (`read:orders:org:123`: the token must be org 123's). `org_id` also demands an org.
        The cheap checks come first, the database read for revocation last.
        """
        base, bound_org = _split_scope(scope)
        if org_id is not None:
            _check_org(org_id)
            if bound_org is not None and bound_org != org_id:
                raise UsageError(f"scope {scope!r} is bound to another org than org_id {org_id!r}")
        want_org = bound_org or org_id
        claims, signed, signature = _parse(token)
        public_key = self._public_key(claims.kid)
        if public_key is None:
            _refuse("signature", "signed by an unknown key")
        try:
            public_key.verify(signature, signed)
        except InvalidSignature:
            _refuse("signature", "the signature does not match")
        if claims.iss != self.issuer:
            _refuse("signature", "issued by someone else", claims)
        if claims.exp - claims.iat > self.max_lifetime_s:
            _refuse("malformed", f"claims a life over {self.max_lifetime_s:g} s", claims)
        now = self.clock.time()
        if now >= claims.exp:
            _refuse("expired", "expired", claims)
        if now + self.leeway_s < claims.nbf:
            _refuse("not_yet_valid", "not valid yet", claims)
        if want_org is not None and claims.org != want_org:
            _refuse("org", "minted for another org", claims)
        if bind_scope(base, claims.org) not in claims.scopes:
            _refuse("scope", f"does not grant {base!r}", claims)
        every, this_org, revoked = self.store.credential_revocation(org_id=claims.org, jti=claims.jti, kid=claims.kid)
        if revoked or claims.gen < every or claims.ogen < this_org:
            _refuse("revoked", "revoked", claims)
        return claims

    async def averify(self, token: str, scope: str, *, org_id: str | None = None) -> Claims:
        """`verify` for async services (the database read happens off the event loop)."""
        return await asyncio.to_thread(self.verify, token, scope, org_id=org_id)


# -- minting ----------------------------------------------------------------------------------


class CredentialBroker:
    """Mints the credential of each tool call; checks, revokes and rate-limits them.

    `key`: the signing key; None loads (or creates) the key file (see `default_key_file`), or
    `key_file` when given. `ttl_s` must lie within [`min_ttl_s`, `max_ttl_s`] (30-60 s by default).
    `quota`: credentials per org per `quota_window_s`, counted in the database so every worker
    shares it; None for no quota (and no write per mint).
    """

    def __init__(
        self,
        store: Store,
        *,
        key: Ed25519PrivateKey | None = None,
        key_file: str | os.PathLike[str] | None = None,
        ttl_s: float = DEFAULT_TTL_S,
        min_ttl_s: float = MIN_TTL_S,
        max_ttl_s: float = MAX_TTL_S,
        clock: Clock | None = None,
        quota: int | None = None,
        quota_window_s: float = 60.0,
        issuer: str = ISSUER,
    ) -> None:
        if not 0 < min_ttl_s <= max_ttl_s <= MAX_LIFETIME_S:
            raise ConfigError(
                f"credential TTL bounds must satisfy 0 < min_ttl_s <= max_ttl_s <= {MAX_LIFETIME_S:g}, "
                f"got [{min_ttl_s}, {max_ttl_s}]",
                key="max_ttl_s",
            )
        if quota is not None and (type(quota) is not int or quota < 1):
            raise ConfigError(f"quota must be a positive integer or None, got {quota!r}", key="quota")
        if not quota_window_s > 0:
            raise ConfigError(f"quota_window_s must be positive, got {quota_window_s}", key="quota_window_s")
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.min_ttl_s, self.max_ttl_s = float(min_ttl_s), float(max_ttl_s)
        self.ttl_s = self._ttl(ttl_s, "ttl_s")
        self.quota = quota
        self.quota_window_s = float(quota_window_s)
        self.issuer = issuer
        if key is None:
            path = Path(key_file) if key_file is not None else default_key_file(store.url)
            key = load_signing_key(path) if path is not None else Ed25519PrivateKey.generate()
        self._key = key
        self.verifier = Verifier(store, clock=self.clock, issuer=issuer)
        self.kid = self.verifier.trust(key.public_key())
        self._published = False
        self._publish_lock = threading.Lock()

    def _ttl(self, ttl_s: float, name: str) -> float:
        if not self.min_ttl_s <= ttl_s <= self.max_ttl_s:
            raise ConfigError(
                f"{name} must be within [{self.min_ttl_s:g}, {self.max_ttl_s:g}] seconds, got {ttl_s}", key=name
            )
        return float(ttl_s)

    def _publish(self) -> None:
        # Once per broker, before its first token leaves: a verifier elsewhere must find the key.
        if self._published:
            return
        with self._publish_lock:
            if not self._published:
                public = self._key.public_key()
                self.store.credential_publish_key(
                    self.kid, _public_text(public), algorithm=ALGORITHM, now=self.clock.time()
                )
                self._published = True

    def _prepare(
        self, tool: str, scopes: Iterable[str], org_id: str, run_id: str, step: int, ttl_s: float | None
    ) -> tuple[list[str], float, float, float]:
        if not isinstance(tool, str) or not tool or len(tool) > _MAX_FIELD_CHARS:
            raise UsageError(f"invalid tool name {tool!r}")
        if not isinstance(run_id, str) or not run_id or len(run_id) > _MAX_FIELD_CHARS:
            raise UsageError(f"invalid run id {run_id!r}")
        if type(step) is not int or step < 0:
            raise UsageError(f"invalid step {step!r}: a non-negative integer")
        if isinstance(scopes, str):
            raise UsageError("scopes is a list of scopes, not one string")
        _check_org(org_id)
        bound = list(dict.fromkeys(bind_scope(s, org_id) for s in scopes))
        ttl = self.ttl_s if ttl_s is None else self._ttl(ttl_s, "ttl_s")
        now = self.clock.time()
        return bound, now, ttl, math.floor(now / self.quota_window_s) * self.quota_window_s

    def _sign(
        self,
        tool: str,
        bound: list[str],
        org_id: str,
        run_id: str,
        step: int,
        now: float,
        ttl: float,
        gens: tuple[int, int],
    ) -> str:
        iat = round(now, 3)
        claims = Claims(
            iss=self.issuer,
            kid=self.kid,
            jti=str(uuid.uuid4()),
            org=org_id,
            run=run_id,
            step=step,
            tool=tool,
            scopes=tuple(bound),
            iat=iat,
            nbf=iat,
            exp=round(iat + ttl, 3),
            gen=gens[0],
            ogen=gens[1],
        )
        payload = _b64encode(json.dumps(claims.as_dict(), separators=(",", ":"), sort_keys=True).encode())
        signed = f"{VERSION}.{payload}"
        return f"{signed}.{_b64encode(self._key.sign(signed.encode('ascii')))}"

    def _over_quota(self, org_id: str, now: float, window_start: float) -> NoReturn:
        retry_after = max(0.0, window_start + self.quota_window_s - now)
        log.warning(
            "tool credential quota exceeded",
            extra={"event_type": "tool.credential_quota", "org_id": org_id, "quota": self.quota},
        )
        raise CredentialQuotaExceeded(
            f"org {org_id!r} has minted its {self.quota} tool credentials for this "
            f"{self.quota_window_s:g} s window; the next window opens in {retry_after:.1f} s",
            org_id=org_id,
            quota=self.quota,
            window_s=self.quota_window_s,
            window_start=window_start,
            retry_after_s=round(retry_after, 3),
        )

    def mint(
        self,
        tool: str,
        scopes: Iterable[str],
        *,
        org_id: str,
        run_id: str,
        step: int,
        ttl_s: float | None = None,
    ) -> str:
        """A fresh credential for one call of `tool`: `scopes` bound to `org_id`, for `ttl_s` (or the broker's TTL).

        Raises CredentialQuotaExceeded when the org has used its quota for the current window.
        """
        bound, now, ttl, window_start = self._prepare(tool, scopes, org_id, run_id, step, ttl_s)
        self._publish()
        gens = self.store.credential_mint(org_id, quota=self.quota, window_start=window_start, now=now)
        if gens is None:
            self._over_quota(org_id, now, window_start)
        return self._sign(tool, bound, org_id, run_id, step, now, ttl, gens)

    async def amint(
        self,
        tool: str,
        scopes: Iterable[str],
        *,
        org_id: str,
        run_id: str,
        step: int,
        ttl_s: float | None = None,
    ) -> str:
        """`mint` for async callers: the quota's write is committed off the event loop."""
        bound, now, ttl, window_start = self._prepare(tool, scopes, org_id, run_id, step, ttl_s)
        if not self._published:
            await asyncio.to_thread(self._publish)
        gens = await self.store.acredential_mint(org_id, quota=self.quota, window_start=window_start, now=now)
        if gens is None:
            self._over_quota(org_id, now, window_start)
        return self._sign(tool, bound, org_id, run_id, step, now, ttl, gens)

    def verify(self, token: str, scope: str, *, org_id: str | None = None) -> Claims:
        """See `Verifier.verify`."""
        return self.verifier.verify(token, scope, org_id=org_id)

    def revoke(self, jti: str) -> None:
        """Refuse the credential whose id is `jti` from now on, everywhere."""
        now = self.clock.time()
        # Its row is needed only while the credential could still be valid somewhere.
        self.store.credential_revoke(jti=jti, now=now, expires_at=now + MAX_LIFETIME_S + DEFAULT_LEEWAY_S)

    def revoke_all(self, *, org_id: str | None = None) -> int:
        """Refuse every credential minted so far, of one org or (None) of all: at the next verification
        in every process. Credentials minted afterwards are valid. Returns the new generation."""
        if org_id is not None:
            _check_org(org_id)
        generation = self.store.credential_revoke_all(org_id=org_id, now=self.clock.time())
        log.warning(
            "tool credentials revoked",
            extra={"event_type": "tool.credentials_revoked", "org_id": org_id or "*", "generation": generation},
        )
        return generation

    def retire_key(self, kid: str) -> None:
        """Refuse, from now on and for good, every credential signed by the key `kid` (after a rotation, or a leak)."""
        self.store.credential_revoke(kid=kid, now=self.clock.time())


# -- the module-level verify ----------------------------------------------------------------------

_default: Verifier | None = None
_default_store: Store | None = None  # opened by `default_verifier`, so closed when replaced
_default_lock = threading.Lock()


def default_verifier() -> Verifier:
    """The verifier `verify` uses: the one set with `set_default_verifier`, else one over the
    database at KEEL_DATABASE_URL (the service checking credentials reads Keel's database)."""
    global _default, _default_store
    with _default_lock:
        if _default is None:
            _default_store = open_store(resolve_database_url())
            _default = Verifier(_default_store)
        return _default


def set_default_verifier(verifier: Verifier | None) -> None:
    """Make `verify` use `verifier` (None: build one from KEEL_DATABASE_URL again on next use)."""
    global _default, _default_store
    with _default_lock:
        if _default_store is not None:
            _default_store.close()
        _default, _default_store = verifier, None


def verify(token: str, scope: str, *, org_id: str | None = None) -> Claims:
    """Check a tool credential for `scope` (see `Verifier.verify`) with the default verifier."""
    return default_verifier().verify(token, scope, org_id=org_id)


async def averify(token: str, scope: str, *, org_id: str | None = None) -> Claims:
    """`verify` for async services."""
    return await default_verifier().averify(token, scope, org_id=org_id)


__all__ = [
    "ALGORITHM",
    "Claims",
    "CredentialBroker",
    "KEY_FILE_ENV",
    "Verifier",
    "averify",
    "bind_scope",
    "default_key_file",
    "default_verifier",
    "key_id",
    "load_signing_key",
    "set_default_verifier",
    "verify",
]
