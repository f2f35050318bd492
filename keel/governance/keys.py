"""The audit log's signing key: Ed25519, from KEEL_AUDIT_KEY, KEEL_AUDIT_KEY_FILE, or a file beside SQLite.

The key is the 32-byte Ed25519 private seed, base64 (`openssl rand -base64 32`). It never enters the
database; its public half does (`keel_audit_keys`, under its key id), so every verifier finds it and
entries signed by a retired key still verify after a rotation.

The resolution is the guard vault's (keel.config.KeySource), with its own variables and file.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from keel.config import KeySource, decode_key, default_key_path, resolve_key
from keel.config import load_or_create_key_file as load_or_create
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


AUDIT_KEY = KeySource(
    env=KEY_ENV,
    file_env=KEY_FILE_ENV,
    file_name=KEY_FILE_NAME,
    label="audit key",
    needed_by="the audit log needs a signing key",
    created_warning="created the audit log's signing key at {path}: whoever can read it can sign audit entries",
    event_type="audit.key_created",
    logger="keel.governance.keys",
    size=SEED_BYTES,
)


def decode_seed(text: str, source: str, variable: str = KEY_ENV) -> bytes:
    """The 32 bytes `text` encodes in base64 (standard or URL-safe); ConfigError naming `source` otherwise."""
    return decode_key(AUDIT_KEY, text, source, variable)


def default_key_file(database_url: str) -> Path | None:
    """`audit.key` beside a SQLite database file; None for an in-memory SQLite database or PostgreSQL."""
    return default_key_path(AUDIT_KEY, database_url)


def resolve_signer(database_url: str) -> Signer:
    """The audit signing key for a log on `database_url` (see keel.config.KeySource)."""
    seed, source = resolve_key(AUDIT_KEY, database_url)
    if seed is None:  # an in-memory database: its log dies with it, and so may its key
        return Signer.generate()
    return Signer.from_seed(seed, source)


def load_or_create_key_file(path: str | os.PathLike[str]) -> bytes:
    """The seed in the file at `path`, created (mode 0600, with a warning) if there is none yet."""
    return load_or_create(AUDIT_KEY, path)


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
