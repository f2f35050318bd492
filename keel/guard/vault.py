"""The PII vault: typed placeholders for a run's PII, the values encrypted under per-subject keys.

The guard replaces PII in a prompt with placeholders such as ``{{PII_EMAIL_1}}``: stable within a
run (the same value always gets the same one, so the model can still refer to "the same person"),
numbered per run and type from 1. The vault keeps placeholder -> value, encrypted, so that an
output can be re-identified for a caller allowed to see it (deciding who is allowed is the
caller's business; the vault only offers the operation and never records a value in clear).

Key hierarchy:

- the master key (32 bytes): KEEL_GUARD_KEY (base64) or the file KEEL_GUARD_KEY_FILE names; with
  neither, and SQLite, a `guard.key` file (mode 0600) created beside the database. It never enters
  the database. Two keys are derived from it with HKDF-SHA256: one wraps data keys, one MACs values.
- a data key per subject (256 bits, random), stored in `keel_guard_keys` wrapped with AES-GCM under
  the master key (AAD: the subject), with the master key's id (the first 8 hex digits of its
  SHA-256), so a wrong master key is reported as such rather than as a failed decryption.
- each value: in `keel_guard_vault`, AES-GCM under its subject's data key (AAD: run, placeholder
  and subject, so a ciphertext moved to another row does not decrypt), next to an HMAC-SHA256 of
  (run, type, value) by which the vault finds a value's placeholder without decrypting anything.

Crypto-shredding: `forget_subject` deletes the subject's data key and wipes its values' MACs and
ciphertexts, so its values are unrecoverable from the database and from any copy of the vault
table made before (a backup holds ciphertexts only; the key is gone). A value is held under the
subject that first brought it into the run: the same value met later for another subject of the
same run gets the same placeholder and stays under the first subject.

Failures: a placeholder whose subject was forgotten, or which the run never had, stays as it is in
`reveal`. A value or wrapped key that fails authentication (altered in the database, or a row's
ciphertext swapped for another's) raises VaultIntegrityError naming the run and placeholder:
leaving the placeholder would make tampering look like a deletion. No error message or log line
ever holds a value or a key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keel.config import KeySource, decode_key, default_key_path, resolve_key
from keel.config import load_or_create_key_file as load_or_create
from keel.errors import ConfigError, KeelError, UsageError
from keel.store import Store
from keel.store.guard import Seal, SealedValue

log = logging.getLogger("keel.guard.vault")

KEY_ENV = "KEEL_GUARD_KEY"
KEY_FILE_ENV = "KEEL_GUARD_KEY_FILE"
KEY_FILE_NAME = "guard.key"
KEY_BYTES = 32
# Any placeholder the vault can have made; which ones a run holds is the database's answer.
PLACEHOLDER = re.compile(r"\{\{PII_[A-Z][A-Z0-9_]*_[1-9][0-9]*\}\}")
# Upper-case words joined by "_" (EMAIL, CREDIT_CARD), short enough for the placeholder column.
_PII_TYPE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")
_MAX_PII_TYPE = 40
_MAX_RUN_ID = 36
_MAX_SUBJECT = 200
_NONCE_BYTES = 12
# Domain separation: each derived key and each authenticated structure has its own label.
_LABEL = b"keel.guard.vault.v1"


class VaultIntegrityError(KeelError):
    """A vault value or data key failed authentication: altered or corrupted in the database."""

    code = "guard.vault_integrity"


@dataclass(frozen=True, slots=True)
class VaultEntry:
    """One placeholder of a run: which type of PII it stands for, and whose."""

    placeholder: str  # "{{PII_EMAIL_1}}"
    pii_type: str  # "EMAIL"
    subject: str


# -- the master key ---------------------------------------------------------------------------


def key_id(master_key: bytes) -> str:
    """The master key's id: the first 8 hex digits of its SHA-256 (`base64 -d | sha256sum`)."""
    return hashlib.sha256(master_key).hexdigest()[:8]


GUARD_KEY = KeySource(
    env=KEY_ENV,
    file_env=KEY_FILE_ENV,
    file_name=KEY_FILE_NAME,
    label="guard key",
    needed_by="the guard vault needs a master key",
    created_warning=(
        "created the guard vault's master key at {path}: anyone who can read it and the database can read "
        "the vault's PII"
    ),
    event_type="guard.vault_key_created",
    logger="keel.guard.vault",
    size=KEY_BYTES,
)


def decode_master_key(text: str, source: str, variable: str = KEY_ENV) -> bytes:
    """The 32 bytes `text` encodes in base64 (standard or URL-safe); ConfigError naming `source` otherwise."""
    return decode_key(GUARD_KEY, text, source, variable)


def default_key_file(database_url: str) -> Path | None:
    """`guard.key` beside a SQLite database file; None for an in-memory SQLite database or PostgreSQL."""
    return default_key_path(GUARD_KEY, database_url)


def resolve_master_key(database_url: str) -> tuple[bytes, str]:
    """(master key, where it came from) for a vault on `database_url` (see keel.config.KeySource)."""
    key, source = resolve_key(GUARD_KEY, database_url)
    if key is None:  # an in-memory database: its vault dies with it, and so may its key
        return secrets.token_bytes(KEY_BYTES), "an in-memory key"
    return key, source


def load_or_create_key_file(path: str | os.PathLike[str]) -> bytes:
    """The master key in the file at `path`, created (mode 0600, with a warning) if there is none yet."""
    return load_or_create(GUARD_KEY, path)


# -- encodings --------------------------------------------------------------------------------


def _fields(kind: bytes, *parts: str) -> bytes:
    """An unambiguous byte string of `parts` (each length-prefixed), labelled with what it is for."""
    out = bytearray(_LABEL + b"/" + kind)
    for part in parts:
        data = part.encode("utf-8")
        out += len(data).to_bytes(4, "big") + data
    return bytes(out)


def _derive(master_key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL + b"/" + purpose).derive(master_key)


class _Sealing:
    """The cryptography of one master key: MACs, data keys, values."""

    def __init__(self, master_key: bytes, source: str) -> None:
        self.key_id = key_id(master_key)
        self.source = source
        self._wrap = AESGCM(_derive(master_key, b"wrap"))
        self._mac_key = _derive(master_key, b"mac")

    def mac(self, run_id: str, pii_type: str, value: str) -> bytes:
        return hmac.new(self._mac_key, _fields(b"value-mac", run_id, pii_type, value), hashlib.sha256).digest()

    def new_key(self, subject: str) -> tuple[bytes, str]:
        """A fresh data key for `subject`, wrapped, with the master key's id."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        wrapped = self._wrap.encrypt(nonce, secrets.token_bytes(32), _fields(b"data-key", subject))
        return nonce + wrapped, self.key_id

    def check_key_id(self, found: str) -> None:
        if found != self.key_id:
            raise ConfigError(
                f"the guard vault's keys were wrapped with key id {found}, {self.source} is key id {self.key_id}: "
                "configure the master key the vault was created with",
                key=KEY_ENV,
                found_key_id=found,
                key_id=self.key_id,
            )

    def data_key(self, subject: str, wrapped: bytes, found_key_id: str, *, run_id: str, placeholder: str) -> AESGCM:
        self.check_key_id(found_key_id)
        try:
            raw = self._wrap.decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _fields(b"data-key", subject))
        except InvalidTag:
            raise VaultIntegrityError(
                f"the data key of the subject of {placeholder} (run {run_id}) failed its integrity check: "
                "it was altered or corrupted in the database; nothing was revealed",
                run_id=run_id,
                placeholder=placeholder,
            ) from None
        return AESGCM(raw)

    def seal(self, key: AESGCM, value: str, *, run_id: str, placeholder: str, subject: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        aad = _fields(b"value", run_id, placeholder, subject)
        return nonce + key.encrypt(nonce, value.encode("utf-8"), aad)

    def open_rows(self, rows: Sequence[SealedValue]) -> list[tuple[SealedValue, str]]:
        """Each row that can still be opened, with its value: rows of a forgotten subject are left out."""
        keys: dict[bytes, AESGCM] = {}
        opened: list[tuple[SealedValue, str]] = []
        for row in rows:
            if row.ciphertext is None or row.wrapped_key is None or row.key_id is None:
                continue
            key = keys.get(row.wrapped_key)
            if key is None:
                key = self.data_key(
                    row.subject, row.wrapped_key, row.key_id, run_id=row.run_id, placeholder=row.placeholder
                )
                keys[row.wrapped_key] = key
            nonce, body = row.ciphertext[:_NONCE_BYTES], row.ciphertext[_NONCE_BYTES:]
            try:
                value = key.decrypt(nonce, body, _fields(b"value", row.run_id, row.placeholder, row.subject))
            except InvalidTag:
                raise VaultIntegrityError(
                    f"the value of {row.placeholder} (run {row.run_id}) failed its integrity check: "
                    "it was altered, corrupted or moved in the database; nothing was revealed",
                    run_id=row.run_id,
                    placeholder=row.placeholder,
                ) from None
            opened.append((row, value.decode("utf-8")))
        return opened


# -- the vault --------------------------------------------------------------------------------


class Vault:
    """Placeholders for a run's PII, their values encrypted under per-subject keys (see the module doc).

    The async methods are what the engine uses; each has a `_sync` twin for synchronous callers
    (the CLI), which blocks its thread while the database works.
    """

    def __init__(self, store: Store, *, master_key: bytes) -> None:
        if not isinstance(master_key, bytes) or len(master_key) != KEY_BYTES:
            raise ConfigError(f"the guard vault's master key must be {KEY_BYTES} bytes", key="master_key")
        self.store = store
        self._sealing = _Sealing(master_key, "the master key given")
        self._key_checked = False

    @classmethod
    def from_env(cls, store: Store) -> Vault:
        """A vault with the master key from KEEL_GUARD_KEY / KEEL_GUARD_KEY_FILE (see `resolve_master_key`)."""
        master_key, source = resolve_master_key(store.url)
        vault = cls(store, master_key=master_key)
        vault._sealing.source = source
        return vault

    @property
    def key_id(self) -> str:
        """The master key's id, as stored with every data key it wraps."""
        return self._sealing.key_id

    # -- placeholders ---------------------------------------------------------------------

    async def placeholders(self, *, run_id: str, subject: str, items: Sequence[tuple[str, str]]) -> list[str]:
        """For each (pii_type, value): the run's placeholder for it, created when new. One transaction.

        The same (run_id, pii_type, value) always gets the same placeholder; numbering per run and type from 1.
        """
        macs, values = self._prepare(run_id, subject, items)
        if not macs:
            return []
        if not self._key_checked:
            self._check_key_id(await self.store.aguard_key_id())
        # Most calls meet values the run already has: a read answers them, with no write lock.
        found = await self.store.aguard_lookup(run_id, [mac for _, mac in macs])
        if all(mac in found for _, mac in macs):
            return [found[mac] for _, mac in macs]
        seal = self._sealer(run_id, subject, values)
        return await self.store.aguard_placeholders(
            run_id, subject, macs, new_key=self._sealing.new_key, seal=seal, now=time.time()
        )

    def placeholders_sync(self, *, run_id: str, subject: str, items: Sequence[tuple[str, str]]) -> list[str]:
        """`placeholders` for synchronous callers."""
        macs, values = self._prepare(run_id, subject, items)
        if not macs:
            return []
        if not self._key_checked:
            self._check_key_id(self.store.guard_key_id())
        found = self.store.guard_lookup(run_id, [mac for _, mac in macs])
        if all(mac in found for _, mac in macs):
            return [found[mac] for _, mac in macs]
        seal = self._sealer(run_id, subject, values)
        return self.store.guard_placeholders(
            run_id, subject, macs, new_key=self._sealing.new_key, seal=seal, now=time.time()
        )

    def _prepare(
        self, run_id: str, subject: str, items: Sequence[tuple[str, str]]
    ) -> tuple[list[tuple[str, bytes]], list[str]]:
        _check_run_id(run_id)
        if not isinstance(subject, str) or not 0 < len(subject) <= _MAX_SUBJECT:
            raise UsageError(f"a vault subject is a string of 1 to {_MAX_SUBJECT} characters")
        macs: list[tuple[str, bytes]] = []
        values: list[str] = []
        for pii_type, value in items:
            if not isinstance(pii_type, str) or len(pii_type) > _MAX_PII_TYPE or not _PII_TYPE.fullmatch(pii_type):
                raise UsageError(
                    f"invalid PII type {pii_type!r}: upper-case letters and digits in words joined by '_', "
                    f"at most {_MAX_PII_TYPE} characters"
                )
            if not isinstance(value, str) or not value:
                raise UsageError(f"the {pii_type} value to hold in the vault must be a non-empty string")
            macs.append((pii_type, self._sealing.mac(run_id, pii_type, value)))
            values.append(value)
        return macs, values

    def _sealer(self, run_id: str, subject: str, values: Sequence[str]) -> Seal:
        keys: dict[bytes, AESGCM] = {}
        sealing = self._sealing

        def seal(wrapped: bytes, found_key_id: str, index: int, placeholder: str) -> bytes:
            key = keys.get(wrapped)
            if key is None:
                key = keys[wrapped] = sealing.data_key(
                    subject, wrapped, found_key_id, run_id=run_id, placeholder=placeholder
                )
            return sealing.seal(key, values[index], run_id=run_id, placeholder=placeholder, subject=subject)

        return seal

    def _check_key_id(self, found: str | None) -> None:
        # Once per vault: with a wrong master key the value MACs would match nothing, and new
        # placeholders would be numbered over the old ones' values before any decryption failed.
        if found is None:
            return
        self._sealing.check_key_id(found)
        self._key_checked = True

    # -- re-identification ----------------------------------------------------------------

    async def reveal(self, *, run_id: str, text: str) -> str:
        """`text` with the run's placeholders replaced by their values; a placeholder whose subject key is gone
        (or unknown) stays as it is."""
        _check_run_id(run_id)
        wanted = sorted(set(PLACEHOLDER.findall(text)))
        if not wanted:
            return text
        return _substitute(text, self._sealing.open_rows(await self.store.aguard_run_values(run_id, wanted)))

    def reveal_sync(self, *, run_id: str, text: str) -> str:
        """`reveal` for synchronous callers."""
        _check_run_id(run_id)
        wanted = sorted(set(PLACEHOLDER.findall(text)))
        if not wanted:
            return text
        return _substitute(text, self._sealing.open_rows(self.store.guard_run_values(run_id, wanted)))

    async def entries(self, run_id: str) -> list[VaultEntry]:
        """The run's placeholders by type and number, those of forgotten subjects included (no values)."""
        _check_run_id(run_id)
        return _entries(await self.store.aguard_run_values(run_id))

    def entries_sync(self, run_id: str) -> list[VaultEntry]:
        """`entries` for synchronous callers."""
        _check_run_id(run_id)
        return _entries(self.store.guard_run_values(run_id))

    # -- data subjects (GDPR) -------------------------------------------------------------

    async def forget_subject(self, subject: str) -> int:
        """Crypto-shred: delete the subject's data key (and the value MACs that could confirm a guessed value);
        returns how many stored values became unrecoverable."""
        return await self.store.aguard_forget(subject)

    def forget_subject_sync(self, subject: str) -> int:
        """`forget_subject` for synchronous callers."""
        return self.store.guard_forget(subject)

    async def export_subject(self, subject: str) -> list[dict[str, str]]:
        """Every value held for a subject, decrypted: [{"run_id", "placeholder", "pii_type", "value"}] (GDPR export)."""
        return _export(self._sealing.open_rows(await self.store.aguard_subject_values(subject)))

    def export_subject_sync(self, subject: str) -> list[dict[str, str]]:
        """`export_subject` for synchronous callers."""
        return _export(self._sealing.open_rows(self.store.guard_subject_values(subject)))


def _check_run_id(run_id: str) -> None:
    if not isinstance(run_id, str) or not 0 < len(run_id) <= _MAX_RUN_ID:
        raise UsageError(f"a run id is a string of 1 to {_MAX_RUN_ID} characters")


def _substitute(text: str, opened: Sequence[tuple[SealedValue, str]]) -> str:
    values = {row.placeholder: value for row, value in opened}
    # One pass over the original text: a value that looks like a placeholder is not expanded again.
    return PLACEHOLDER.sub(lambda m: values.get(m.group(0), m.group(0)), text)


def _entries(rows: Sequence[SealedValue]) -> list[VaultEntry]:
    return [VaultEntry(placeholder=r.placeholder, pii_type=r.pii_type, subject=r.subject) for r in rows]


def _export(opened: Sequence[tuple[SealedValue, str]]) -> list[dict[str, str]]:
    return [
        {"run_id": row.run_id, "placeholder": row.placeholder, "pii_type": row.pii_type, "value": value}
        for row, value in opened
    ]


__all__ = [
    "KEY_ENV",
    "KEY_FILE_ENV",
    "KEY_FILE_NAME",
    "PLACEHOLDER",
    "Vault",
    "VaultEntry",
    "VaultIntegrityError",
    "decode_master_key",
    "default_key_file",
    "key_id",
    "load_or_create_key_file",
    "resolve_master_key",
]
