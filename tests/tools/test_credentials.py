"""Tool credentials on SQLite and PostgreSQL: what verifies, what is refused and why, revocation, quotas, keys."""

from __future__ import annotations

import base64
import json
import logging
import os
import pickle
import stat
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import keel.tools
from keel.errors import ConfigError, CredentialError, CredentialQuotaExceeded, UsageError
from keel.store import Store, open_store
from keel.testing import SkippingClock
from keel.tools.credentials import (
    KEY_FILE_ENV,
    Claims,
    CredentialBroker,
    Verifier,
    bind_scope,
    default_key_file,
    key_id,
    load_signing_key,
    set_default_verifier,
)

ORG = "123"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url, migrate=True)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def clock() -> SkippingClock:
    return SkippingClock()


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def broker(store: Store, key: Ed25519PrivateKey, clock: SkippingClock) -> CredentialBroker:
    return CredentialBroker(store, key=key, clock=clock)


def mint(broker: CredentialBroker, org: str = ORG, scopes: tuple[str, ...] = ("read:orders",), **kw: Any) -> str:
    return broker.mint("orders", list(scopes), org_id=org, run_id="run-1", step=kw.pop("step", 3), **kw)


def refused(call: Any, *args: Any, **kwargs: Any) -> CredentialError:
    with pytest.raises(CredentialError) as caught:
        call(*args, **kwargs)
    return caught.value


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims_of(token: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(unb64(token.split(".")[1]))
    return result


def forge(key: Ed25519PrivateKey, claims: dict[str, Any] | bytes, version: str = "v1") -> str:
    """A token signed by `key` over whatever claims (or raw payload bytes) a test wants."""
    payload = b64(claims if isinstance(claims, bytes) else json.dumps(claims).encode())
    signed = f"{version}.{payload}"
    return f"{signed}.{b64(key.sign(signed.encode()))}"


# -- a valid token ------------------------------------------------------------------------------------


def test_a_fresh_token_verifies_and_carries_its_claims(broker: CredentialBroker, clock: SkippingClock) -> None:
    token = broker.mint("orders", ["read:orders", "write:orders", "read:orders"], org_id=ORG, run_id="r-9", step=4)
    assert token.startswith("v1.") and token.count(".") == 2
    claims = broker.verify(token, "read:orders")
    assert claims == Claims(
        iss="keel",
        kid=broker.kid,
        jti=claims.jti,
        org=ORG,
        run="r-9",
        step=4,
        tool="orders",
        scopes=("read:orders:org:123", "write:orders:org:123"),  # bound to the org, deduplicated
        iat=clock.now,
        nbf=clock.now,
        exp=clock.now + 45,
        gen=0,
        ogen=0,
    )
    assert str(uuid.UUID(claims.jti)) == claims.jti
    # The scope may be asked for bare, bound, or with the org named separately.
    assert broker.verify(token, "write:orders:org:123") == claims
    assert broker.verify(token, "read:orders", org_id=ORG) == claims
    assert claims.grants("read:orders") and claims.grants("read:orders:org:123")
    assert not claims.grants("read:orders:org:456") and not claims.grants("delete:orders")
    # Every call gets a token of its own.
    assert broker.verify(mint(broker), "read:orders").jti != claims.jti


def test_the_ttl_is_configurable_within_30_to_60_seconds(store: Store, key: Ed25519PrivateKey, clock) -> None:
    for ttl in (30, 60):
        token = CredentialBroker(store, key=key, clock=clock, ttl_s=ttl).mint("t", [], org_id=ORG, run_id="r", step=0)
        assert claims_of(token)["exp"] - claims_of(token)["iat"] == ttl
    for ttl in (29.9, 60.1):
        with pytest.raises(ConfigError, match=r"ttl_s must be within \[30, 60\]"):
            CredentialBroker(store, key=key, clock=clock, ttl_s=ttl)
    broker = CredentialBroker(store, key=key, clock=clock)
    assert claims_of(mint(broker, ttl_s=31))["exp"] == clock.now + 31  # per call, e.g. for a long tool
    with pytest.raises(ConfigError, match="ttl_s"):
        mint(broker, ttl_s=120)
    # Other bounds can be configured (a test wanting a 1 s token), up to the verifiers' 300 s cap.
    short = CredentialBroker(store, key=key, clock=clock, ttl_s=1, min_ttl_s=1)
    assert claims_of(mint(short))["exp"] == clock.now + 1
    with pytest.raises(ConfigError, match="min_ttl_s <= max_ttl_s <= 300"):
        CredentialBroker(store, key=key, clock=clock, max_ttl_s=301)


def test_bad_mint_arguments_are_usage_errors(broker: CredentialBroker) -> None:
    bad: list[tuple[dict[str, Any], str]] = [
        ({"scopes": ["read orders"]}, "invalid scope"),
        ({"scopes": [""]}, "invalid scope"),
        ({"scopes": ["read:orders:org:456"]}, "reserved"),  # no binding to another org by hand
        ({"scopes": "read:orders"}, "not one string"),
        ({"org_id": "a:b"}, "invalid org id"),
        ({"org_id": ""}, "invalid org id"),
        ({"step": -1}, "invalid step"),
        ({"run_id": ""}, "invalid run id"),
        ({"tool": ""}, "invalid tool name"),
    ]
    for override, message in bad:
        args = {"tool": "orders", "scopes": ["read:orders"], "org_id": ORG, "run_id": "r", "step": 0, **override}
        with pytest.raises(UsageError, match=message):
            broker.mint(args.pop("tool"), args.pop("scopes"), **args)
    assert bind_scope("exec:sandbox:timeout=30s", "acme") == "exec:sandbox:timeout=30s:org:acme"


async def test_async_mint_and_verify(broker: CredentialBroker) -> None:
    token = await broker.amint("orders", ["read:orders"], org_id=ORG, run_id="r", step=1)
    assert (await broker.verifier.averify(token, "read:orders")).step == 1
    with pytest.raises(CredentialError, match="scope"):
        await broker.verifier.averify(token, "write:orders")


# -- refusals -----------------------------------------------------------------------------------------


def test_an_expired_token_is_refused(broker: CredentialBroker, clock: SkippingClock) -> None:
    token = mint(broker)
    start = clock.now
    clock.now = start + 44.999
    broker.verify(token, "read:orders")
    clock.now = start + 45  # exp is exclusive
    err = refused(broker.verify, token, "read:orders")
    assert err.reason == "expired" and err.code == "tool.credential_refused"


def test_a_token_from_the_future_is_refused_beyond_the_leeway(store: Store, broker: CredentialBroker) -> None:
    token = mint(broker)
    behind = SkippingClock(broker.clock.time() - 4.9)  # a verifier whose clock lags by less than 5 s
    Verifier(store, clock=behind).verify(token, "read:orders")
    behind.advance(-0.2)
    assert refused(Verifier(store, clock=behind).verify, token, "read:orders").reason == "not_yet_valid"


def test_a_scope_not_granted_is_refused(broker: CredentialBroker) -> None:
    token = mint(broker, scopes=("read:orders",))
    for scope in ("write:orders", "read", "read:orders:lines", "read:order"):
        assert refused(broker.verify, token, scope).reason == "scope"


def test_another_orgs_token_is_refused(broker: CredentialBroker) -> None:
    token = mint(broker, org="456")
    assert refused(broker.verify, token, "read:orders:org:123").reason == "org"
    assert refused(broker.verify, token, "read:orders", org_id=ORG).reason == "org"
    # Asked bare, a scope is checked against the token's own org: the service reads claims.org.
    assert broker.verify(token, "read:orders").org == "456"
    with pytest.raises(UsageError, match="another org"):
        broker.verify(token, "read:orders:org:456", org_id=ORG)


def test_a_tampered_payload_is_refused(broker: CredentialBroker) -> None:
    token = mint(broker, org="456")
    version, payload, signature = token.split(".")
    for change in ({"org": ORG, "scopes": ["read:orders:org:123"]}, {"scopes": ["admin:all:org:456"]}, {"exp": 9e9}):
        claims = {**claims_of(token), **change}
        tampered = f"{version}.{b64(json.dumps(claims).encode())}.{signature}"
        assert refused(broker.verify, tampered, "read:orders").reason == "signature"
    # Same claims, re-serialised differently: the signature covers the bytes, not their meaning.
    respaced = f"{version}.{b64(json.dumps(claims_of(token), indent=1).encode())}.{signature}"
    assert refused(broker.verify, respaced, "read:orders").reason == "signature"
    # The version prefix is signed too.
    assert refused(broker.verify, f"v2.{payload}.{signature}", "read:orders").reason == "malformed"


def test_a_tampered_signature_is_refused(broker: CredentialBroker) -> None:
    version, payload, signature = mint(broker).split(".")
    raw = bytearray(unb64(signature))
    for i in (0, 31, 63):
        flipped = raw.copy()
        flipped[i] ^= 0x01
        assert refused(broker.verify, f"{version}.{payload}.{b64(bytes(flipped))}", "read:orders").reason == "signature"


def test_a_token_signed_by_another_key_is_refused(broker: CredentialBroker, clock: SkippingClock) -> None:
    intruder = Ed25519PrivateKey.generate()
    claims = claims_of(mint(broker))
    # With our key's id, the signature does not match our key.
    err = refused(broker.verify, forge(intruder, claims), "read:orders")
    assert (err.reason, err.message) == (
        "signature",
        "tool credential refused (signature): the signature does not match",
    )
    # With its own key id, the key is unknown: never published, so never trusted.
    err = refused(broker.verify, forge(intruder, {**claims, "kid": key_id(intruder.public_key())}), "read:orders")
    assert (err.reason, err.message) == ("signature", "tool credential refused (signature): signed by an unknown key")
    err = refused(broker.verify, forge(intruder, {**claims, "kid": "no-such-kid"}), "read:orders")
    assert err.reason == "signature"


def test_a_token_from_another_issuer_or_with_an_overlong_life_is_refused(
    broker: CredentialBroker, key: Ed25519PrivateKey
) -> None:
    claims = claims_of(mint(broker))
    assert refused(broker.verify, forge(key, {**claims, "iss": "not-keel"}), "read:orders").reason == "signature"
    # Even signed by the right key: no broker mints a token for an hour, so none is accepted.
    long_lived = {**claims, "exp": claims["iat"] + 3600}
    assert refused(broker.verify, forge(key, long_lived), "read:orders").reason == "malformed"


def test_a_revoked_token_is_refused_and_others_are_not(broker: CredentialBroker) -> None:
    token, other = mint(broker), mint(broker)
    broker.revoke(broker.verify(token, "read:orders").jti)
    assert refused(broker.verify, token, "read:orders").reason == "revoked"
    broker.verify(other, "read:orders")
    broker.revoke(claims_of(token)["jti"])  # revoking twice is harmless
    assert refused(broker.verify, token, "read:orders").reason == "revoked"


def test_revoke_all_is_immediate_across_brokers_and_verifiers_on_one_database(db_url: str, clock) -> None:
    # Two stores on one database: two processes, as far as the database can tell.
    first, second = open_store(db_url), open_store(db_url)
    try:
        a = CredentialBroker(first, key=Ed25519PrivateKey.generate(), clock=clock)
        b = CredentialBroker(second, key=Ed25519PrivateKey.generate(), clock=clock)
        service = Verifier(second, clock=clock)  # trusts only what the database publishes
        tokens = [mint(a), mint(a, org="456"), mint(b)]
        for token in tokens:
            for verifier in (a.verifier, b.verifier, service):
                verifier.verify(token, "read:orders")

        assert b.revoke_all() == 1
        for token in tokens:
            for verifier in (a.verifier, b.verifier, service):
                assert refused(verifier.verify, token, "read:orders").reason == "revoked"
        # Minting goes on, and what is minted after the revocation is valid.
        fresh = mint(a)
        assert service.verify(fresh, "read:orders").gen == 1
        assert a.revoke_all() == 2
        assert refused(service.verify, fresh, "read:orders").reason == "revoked"
    finally:
        first.close()
        second.close()


def test_revoke_all_of_one_org_leaves_the_others(broker: CredentialBroker) -> None:
    ours, theirs = mint(broker), mint(broker, org="456")
    assert broker.revoke_all(org_id=ORG) == 1
    assert refused(broker.verify, ours, "read:orders").reason == "revoked"
    assert broker.verify(theirs, "read:orders").ogen == 0
    assert broker.verify(mint(broker), "read:orders").ogen == 1


def test_a_retired_key_signs_nothing_valid(store: Store, broker: CredentialBroker, clock: SkippingClock) -> None:
    old = mint(broker)
    rotated = CredentialBroker(store, key=Ed25519PrivateKey.generate(), clock=clock)
    new = mint(rotated)
    broker.retire_key(broker.kid)
    for verifier in (broker.verifier, rotated.verifier, Verifier(store, clock=clock)):
        assert refused(verifier.verify, old, "read:orders").reason == "revoked"
        verifier.verify(new, "read:orders")


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (None, "no token"),
        ("", "no token"),
        ("garbage", "three dot-separated parts"),
        ("v1.a.b.c", "three dot-separated parts"),
        ("v2.e30." + b64(bytes(64)), "unsupported token version"),
        ("V1.e30." + b64(bytes(64)), "unsupported token version"),
        ("v1.e30=." + b64(bytes(64)), "not base64url"),  # padding
        ("v1.e3+." + b64(bytes(64)), "not base64url"),  # the standard alphabet
        ("v1.e31." + b64(bytes(64)), "not canonical"),
        ("v1.é." + b64(bytes(64)), "not base64url"),
        ("v1.e30.AAAA", "64 bytes"),
        ("v1." + "A" * 9000 + "." + b64(bytes(64)), "too long"),
    ],
)
def test_malformed_tokens_are_refused(broker: CredentialBroker, token: Any, why: str) -> None:
    err = refused(broker.verify, token, "read:orders")
    assert err.reason == "malformed" and why in err.message


def _valid_claims(broker: CredentialBroker) -> dict[str, Any]:
    return claims_of(mint(broker))


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"not json", "not a JSON object"),
        (b"\xff\xfe\x00", "not a JSON object"),
        (b"[1, 2]", "not a JSON object"),
        (b"[" * 2000 + b"]" * 2000, "not a JSON object"),  # deeper than the parser recurses
        (lambda c: {k: v for k, v in c.items() if k != "jti"}, "expected keys"),
        (lambda c: {**c, "admin": True}, "expected keys"),
        (lambda c: {**c, "step": "3"}, "'step'"),
        (lambda c: {**c, "step": True}, "'step'"),
        (lambda c: {**c, "step": -1}, "'step'"),
        (lambda c: {**c, "gen": 1.0}, "'gen'"),
        (lambda c: {**c, "exp": "soon"}, "'exp'"),
        (lambda c: {**c, "iat": None}, "'iat'"),
        (lambda c: {**c, "org": ""}, "'org'"),
        (lambda c: {**c, "org": 123}, "'org'"),
        (lambda c: {**c, "org": "a:b", "scopes": []}, "not an org id"),
        (lambda c: {**c, "run": ["r"]}, "'run'"),
        (lambda c: {**c, "scopes": "read:orders:org:123"}, "'scopes'"),
        (lambda c: {**c, "scopes": ["read:orders"]}, "'scopes'"),  # not bound
        (lambda c: {**c, "scopes": ["read:orders:org:456"]}, "'scopes'"),  # bound to another org
        (lambda c: {**c, "jti": "not-a-uuid"}, "'jti'"),
        (lambda c: {**c, "jti": c["jti"].upper()}, "'jti'"),
        (lambda c: {**c, "exp": c["iat"]}, "iat <= nbf < exp"),
        (lambda c: {**c, "nbf": c["iat"] - 1}, "iat <= nbf < exp"),
        (lambda c: json.dumps(c)[:-1].encode() + b', "org": "456"}', "not a JSON object"),  # duplicate key
        (lambda c: json.dumps(c).replace(f'"exp": {c["exp"]}', '"exp": NaN').encode(), "not a JSON object"),
    ],
)
def test_claims_of_the_wrong_shape_are_malformed_even_when_signed(
    broker: CredentialBroker, key: Ed25519PrivateKey, payload: Any, why: str
) -> None:
    claims = payload(_valid_claims(broker)) if callable(payload) else payload
    err = refused(broker.verify, forge(key, claims), "read:orders")
    assert err.reason == "malformed" and why in err.message


def test_refusals_never_quote_the_token(broker: CredentialBroker, clock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = mint(broker)
    _, payload, signature = token.split(".")
    errors = [refused(broker.verify, token, "write:orders"), refused(broker.verify, token + "x", "read:orders")]
    broker.revoke_all()
    errors.append(refused(broker.verify, token, "read:orders"))
    for err in errors:
        text = f"{err} {err!r} {err.details} {pickle.loads(pickle.dumps(err)).details}"
        assert payload not in text and signature not in text
    assert pickle.loads(pickle.dumps(errors[0])).reason == "scope"
    assert errors[0].details == {"reason": "scope", "jti": claims_of(token)["jti"], "tool": "orders", "org_id": ORG}
    assert errors[1].details == {"reason": "malformed"}  # nothing from an unverified token
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert payload not in logged and signature not in logged


# -- quotas -------------------------------------------------------------------------------------------


def test_the_mint_quota_is_per_org_and_resets_each_window(store: Store, key, clock: SkippingClock) -> None:
    clock.now = 1_800_000_010.0  # 10 s into a minute
    broker = CredentialBroker(store, key=key, clock=clock, quota=3)
    for _ in range(3):
        mint(broker)
    with pytest.raises(CredentialQuotaExceeded) as caught:
        mint(broker)
    assert caught.value.code == "tool.credential_quota"
    assert caught.value.details == {
        "org_id": ORG,
        "quota": 3,
        "window_s": 60.0,
        "window_start": 1_800_000_000.0,
        "retry_after_s": 50.0,
    }
    mint(broker, org="456")  # another org has its own quota
    clock.now = 1_800_000_059.999
    with pytest.raises(CredentialQuotaExceeded):
        mint(broker)
    clock.now = 1_800_000_060.0  # the next window
    for _ in range(3):
        mint(broker)
    with pytest.raises(CredentialQuotaExceeded):
        mint(broker)


def test_the_quota_is_shared_by_brokers_on_one_database(db_url: str, clock: SkippingClock) -> None:
    first, second = open_store(db_url), open_store(db_url)
    try:
        brokers = [CredentialBroker(s, key=Ed25519PrivateKey.generate(), clock=clock, quota=4) for s in (first, second)]
        minted = refusals = 0
        for i in range(10):
            try:
                mint(brokers[i % 2])
                minted += 1
            except CredentialQuotaExceeded:
                refusals += 1
        assert (minted, refusals) == (4, 6)
    finally:
        first.close()
        second.close()


def test_bad_quota_settings_are_config_errors(store: Store, key) -> None:
    for quota in (0, -1, 1.5):
        with pytest.raises(ConfigError, match="quota"):
            CredentialBroker(store, key=key, quota=quota)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="quota_window_s"):
        CredentialBroker(store, key=key, quota=1, quota_window_s=0)


# -- keys ---------------------------------------------------------------------------------------------


def test_the_key_file_is_created_0600_and_reused(store: Store, tmp_path: Path, clock) -> None:
    path = tmp_path / "secrets" / "tool.pem"
    first = CredentialBroker(store, key_file=path, clock=clock)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    second = CredentialBroker(store, key_file=path, clock=clock)
    assert second.kid == first.kid
    # A token of one verifies with the other: the same key, published once.
    second.verify(mint(first), "read:orders")
    assert [p.name for p in path.parent.iterdir()] == ["tool.pem"]  # no temporary file left behind


def test_the_default_key_file_is_beside_the_sqlite_database_or_where_the_env_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    assert default_key_file(f"sqlite:///{tmp_path}/data/keel.db") == tmp_path / "data" / "tool-signing-key.pem"
    assert default_key_file("sqlite:///:memory:") is None  # nothing to keep a key beside
    assert default_key_file("postgresql://h/db") == Path(".keel/tool-signing-key.pem")
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "k.pem"))
    assert default_key_file("postgresql://h/db") == tmp_path / "k.pem"


def test_a_broker_without_a_key_uses_the_default_key_file(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    store = open_store(sqlite_url)
    try:
        broker = CredentialBroker(store)
        path = tmp_path / "tool-signing-key.pem"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert broker.kid == key_id(load_signing_key(path).public_key())
    finally:
        store.close()


def test_unsafe_or_unusable_key_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    load_signing_key(path)
    os.chmod(path, 0o640)
    with pytest.raises(ConfigError, match="chmod 600") as caught:
        load_signing_key(path)
    assert caught.value.details == {"key": KEY_FILE_ENV}
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"not a key")
    os.chmod(garbage, 0o600)
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key"):
        load_signing_key(garbage)
    from cryptography.hazmat.primitives.asymmetric import ec

    other = tmp_path / "ec.pem"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    os.chmod(other, 0o600)
    with pytest.raises(ConfigError, match="not Ed25519"):
        load_signing_key(other)


def test_a_verifier_can_pin_its_keys_instead_of_reading_the_database(
    store: Store, broker: CredentialBroker, key: Ed25519PrivateKey, clock
) -> None:
    stranger = CredentialBroker(store, key=Ed25519PrivateKey.generate(), clock=clock)
    pinned = Verifier(store, keys={broker.kid: key.public_key()}, clock=clock)
    pinned.verify(mint(broker), "read:orders")
    # Published in the database, but not pinned: refused.
    assert refused(pinned.verify, mint(stranger), "read:orders").reason == "signature"


# -- the module-level verify, from another process --------------------------------------------------

_SERVICE = textwrap.dedent(
    """
    import sys
    import keel.tools
    from keel.errors import CredentialError

    for line in sys.stdin:
        token, scope = line.split()
        try:
            print("ok", keel.tools.verify(token, scope).jti, flush=True)
        except CredentialError as err:
            print("refused", err.reason, flush=True)
    """
)


def test_a_service_process_verifies_with_the_default_verifier_and_sees_revoke_all_at_once(
    db_url: str, store: Store, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    # Minted by a worker whose clock runs an hour ahead: not valid yet for the service.
    token = mint(CredentialBroker(store, key=key, clock=SkippingClock(time.time() + 3600)))
    # The service is configured by KEEL_DATABASE_URL alone (the same database as the workers).
    env = {**os.environ, "KEEL_DATABASE_URL": db_url}
    service = subprocess.Popen(
        [sys.executable, "-c", _SERVICE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert service.stdin is not None and service.stdout is not None

    def ask(token: str, scope: str) -> str:
        assert service.stdin is not None and service.stdout is not None
        service.stdin.write(f"{token} {scope}\n")
        service.stdin.flush()
        return service.stdout.readline().strip()

    try:
        assert ask(token, "read:orders") == "refused not_yet_valid"
        real = CredentialBroker(store, key=key)
        live = mint(real)
        assert ask(live, "read:orders") == f"ok {claims_of(live)['jti']}"
        assert ask(live, "write:orders") == "refused scope"
        real.revoke_all()
        assert ask(live, "read:orders") == "refused revoked"  # the very next verification
    finally:
        service.stdin.close()
        service.wait(timeout=30)
        service.stdout.close()
    assert service.returncode == 0


def test_set_default_verifier(broker: CredentialBroker) -> None:
    set_default_verifier(broker.verifier)
    try:
        token = mint(broker)
        assert keel.tools.verify(token, "read:orders").jti == claims_of(token)["jti"]
        assert keel.tools.credentials.default_verifier() is broker.verifier
    finally:
        set_default_verifier(None)
