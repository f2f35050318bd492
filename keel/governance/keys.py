"""The audit log's signing key: Ed25519, from KEEL_AUDIT_KEY, KEEL_AUDIT_KEY_FILE, or a file beside SQLite.

The key is the 32-byte Ed25519 private seed, base64 (`openssl rand -base64 32`). It never enters the
database; its public half does (`keel_audit_keys`, under its key id), so every verifier finds it and
entries signed by a retired key still verify after a rotation.

The resolution mirrors the guard vault's master key (keel.guard.vault.resolve_master_key), copied
rather than imported because services never import each other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import secrets
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from keel.errors import ConfigError

log = logging.getLogger("keel.governance.keys")

KEY_ENV = "KEEL_AUDIT_KEY"
KEY_FILE_ENV = "KEEL_AUDIT_KEY_FILE"
KEY_FILE_NAME = "audit.key"
SEED_BYTES = 32
ALGORITHM = "Ed25519"


def public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """A key's id: the first 16 bytes of the SHA-256 of its raw public key, in hex."""
    return hashlib.sha256(public_bytes(public_key)).hexdigest()[:32]


class Signer:
    """An Ed25519 private key with its id: signs entry hashes and checkpoints."""

    __slots__ = ("key_id", "private_key", "public_hex", "public_key", "source")

    def __init__(self, private_key: Ed25519PrivateKey, source: str = "given") -> None:
        self.private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)
        self.public_hex = public_bytes(self.public_key).hex()
        self.source = source

    @classmethod
    def from_seed(cls, seed: bytes, source: str = "given") -> Signer:
        if len(seed) != SEED_BYTES:
            raise ConfigError(f"an Ed25519 seed is {SEED_BYTES} bytes, got {len(seed)}", key=KEY_ENV)
        return cls(Ed25519PrivateKey.from_private_bytes(seed), source)

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate(), "generated")

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


def decode_seed(text: str, source: str, variable: str = KEY_ENV) -> bytes:
    """The 32 bytes `text` encodes in base64 (standard or URL-safe); ConfigError naming `source` otherwise."""
    compact = "".join(text.split()).replace("-", "+").replace("_", "/")
    try:
        seed = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            f"{source} is not valid base64: it must encode a {SEED_BYTES}-byte Ed25519 seed "
            "(`openssl rand -base64 32`)",
            key=variable,
        ) from None
    if len(seed) != SEED_BYTES:
        raise ConfigError(
            f"{source} must encode {SEED_BYTES} bytes, it encodes {len(seed)} (`openssl rand -base64 32` makes one)",
            key=variable,
        )
    return seed


def default_key_file(database_url: str) -> Path | None:
    """`audit.key` beside a SQLite database file; None for an in-memory SQLite database or PostgreSQL."""
    if not database_url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url  # only to parse the URL as the store does

    database = make_url(database_url).database
    if not database or database == ":memory:":
        return None
    return Path(os.path.abspath(database)).parent / KEY_FILE_NAME


def resolve_signer(database_url: str) -> Signer:
    """The audit signing key for a log on `database_url`.

    KEEL_AUDIT_KEY, else the file KEEL_AUDIT_KEY_FILE names, else (SQLite only) `audit.key` beside
    the database, created on first use. PostgreSQL needs one of the two variables: every writer of a
    shared log should sign with a key an operator chose and keeps, not one a worker invented.
    """
    raw = os.environ.get(KEY_ENV, "").strip()
    file = os.environ.get(KEY_FILE_ENV, "").strip()
    if raw and file:
        raise ConfigError(f"set {KEY_ENV} or {KEY_FILE_ENV}, not both", key=KEY_ENV)
    if raw:
        return Signer.from_seed(decode_seed(raw, KEY_ENV), KEY_ENV)
    if file:
        try:
            return Signer.from_seed(_read_key_file(Path(file), KEY_FILE_ENV), f"{KEY_FILE_ENV} ({file})")
        except FileNotFoundError:
            raise ConfigError(f"{KEY_FILE_ENV} names {file}, which does not exist", key=KEY_FILE_ENV) from None
    if database_url.startswith("sqlite"):
        path = default_key_file(database_url)
        if path is None:  # an in-memory database: its log dies with it, and so may its key
            return Signer.generate()
        return Signer.from_seed(load_or_create_key_file(path), f"the key file {path}")
    raise ConfigError(
        f"the audit log needs a signing key on PostgreSQL: set {KEY_ENV} (base64 of a 32-byte Ed25519 seed, "
        f"`openssl rand -base64 32`) or {KEY_FILE_ENV}",
        key=KEY_ENV,
    )


def load_or_create_key_file(path: str | os.PathLike[str]) -> bytes:
    """The seed in the file at `path`, created (mode 0600, with a warning) if there is none yet."""
    path = Path(path)
    try:
        return _read_key_file(path, KEY_ENV)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Written whole under a temporary name, then linked into place: two processes starting at
    # once never read a half-written key, and the loser of the race uses the winner's.
    fd, tmp = tempfile.mkstemp(prefix=".audit-key-", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(base64.b64encode(secrets.token_bytes(SEED_BYTES)) + b"\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read_key_file(path, KEY_ENV)
    finally:
        os.unlink(tmp)
    seed = _read_key_file(path, KEY_ENV)
    log.warning(
        f"created the audit log's signing key at {path}: whoever can read it can sign audit entries; "
        f"in production set {KEY_ENV} (or {KEY_FILE_ENV}) from your secret store",
        extra={"event_type": "audit.key_created", "path": str(path)},
    )
    return seed


def _read_key_file(path: Path, variable: str) -> bytes:
    with open(path, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if mode & 0o077:
            raise ConfigError(
                f"the audit key file {path} is accessible to other users (mode {mode & 0o777:o}): "
                "chmod 600 it (a Kubernetes secret: defaultMode 0400)",
                key=variable,
            )
        data = f.read()
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ConfigError(f"the audit key file {path} is not base64 text", key=variable) from None
    return decode_seed(text, f"the audit key file {path}", variable)


def load_public_key(public_hex: str) -> Ed25519PublicKey:
    """A published public key (raw, hex) as an Ed25519 key; ValueError if it is not one."""
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))


__all__ = [
    "ALGORITHM",
    "KEY_ENV",
    "KEY_FILE_ENV",
    "KEY_FILE_NAME",
    "Signer",
    "decode_seed",
    "default_key_file",
    "key_id",
    "load_or_create_key_file",
    "load_public_key",
    "public_bytes",
    "resolve_signer",
]
