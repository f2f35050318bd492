"""Where the guard vault's master key comes from: KEEL_GUARD_KEY, KEEL_GUARD_KEY_FILE, or a default file."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from keel.errors import ConfigError
from keel.guard.vault import (
    KEY_ENV,
    KEY_FILE_ENV,
    Vault,
    decode_master_key,
    default_key_file,
    key_id,
    resolve_master_key,
)

KEY = bytes(range(32))
KEY_B64 = base64.b64encode(KEY).decode()
PG_URL = "postgresql://keel@db.example/keel"


@pytest.fixture(autouse=True)
def no_key_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)


def write_key_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_key_comes_from_keel_guard_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, f"  {KEY_B64}\n")
    assert resolve_master_key(PG_URL) == (KEY, KEY_ENV)
    # URL-safe base64 is the same key.
    monkeypatch.setenv(KEY_ENV, base64.urlsafe_b64encode(KEY).decode())
    assert resolve_master_key("sqlite:///ignored.db")[0] == KEY


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (base64.b64encode(bytes(16)).decode(), "must encode 32 bytes, it encodes 16"),
        (base64.b64encode(bytes(33)).decode(), "must encode 32 bytes, it encodes 33"),
        ("correct horse battery staple!", "is not valid base64"),
        (KEY.hex(), "must encode 32 bytes, it encodes 48"),
    ],
)
def test_a_malformed_key_names_the_variable_and_never_echoes_the_key(
    monkeypatch: pytest.MonkeyPatch, text: str, problem: str
) -> None:
    monkeypatch.setenv(KEY_ENV, text)
    with pytest.raises(ConfigError, match=problem) as err:
        resolve_master_key(PG_URL)
    assert KEY_ENV in str(err.value) and err.value.details["key"] == KEY_ENV
    assert text not in str(err.value)


def test_the_key_comes_from_keel_guard_key_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_key_file(tmp_path / "vault.key", KEY_B64 + "\n")
    monkeypatch.setenv(KEY_FILE_ENV, str(path))
    key, source = resolve_master_key(PG_URL)
    assert key == KEY and KEY_FILE_ENV in source and str(path) in source


def test_a_bad_key_file_is_a_config_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "missing.key"))
    with pytest.raises(ConfigError, match=f"{KEY_FILE_ENV} names .*missing.key, which does not exist"):
        resolve_master_key(PG_URL)

    short = write_key_file(tmp_path / "short.key", base64.b64encode(bytes(31)).decode())
    monkeypatch.setenv(KEY_FILE_ENV, str(short))
    with pytest.raises(ConfigError, match=f"short.key \\({KEY_FILE_ENV}\\) must encode 32 bytes") as err:
        resolve_master_key(PG_URL)
    assert err.value.details["key"] == KEY_FILE_ENV

    binary = tmp_path / "binary.key"
    binary.write_bytes(b"\xff\xfe" + KEY)
    binary.chmod(0o600)
    monkeypatch.setenv(KEY_FILE_ENV, str(binary))
    with pytest.raises(ConfigError, match="is not base64 text"):
        resolve_master_key(PG_URL)

    shared = write_key_file(tmp_path / "shared.key", KEY_B64, mode=0o644)
    monkeypatch.setenv(KEY_FILE_ENV, str(shared))
    with pytest.raises(ConfigError, match="accessible to other users \\(mode 644\\): chmod 600"):
        resolve_master_key(PG_URL)


def test_setting_both_variables_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(KEY_ENV, KEY_B64)
    monkeypatch.setenv(KEY_FILE_ENV, str(write_key_file(tmp_path / "k", KEY_B64)))
    with pytest.raises(ConfigError, match="not both"):
        resolve_master_key(PG_URL)


def test_postgresql_without_a_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=f"needs a master key on PostgreSQL: set {KEY_ENV}") as err:
        resolve_master_key(PG_URL)
    assert err.value.details["key"] == KEY_ENV
    assert default_key_file(PG_URL) is None
    with pytest.raises(ConfigError, match=KEY_ENV):
        Vault.from_env(SimpleNamespace(url=PG_URL))  # type: ignore[arg-type]


def test_sqlite_without_a_key_creates_one_beside_the_database(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'keel.db'}"
    path = tmp_path / "data" / "guard.key"
    assert default_key_file(url) == path
    with caplog.at_level(logging.WARNING, logger="keel.guard.vault"):
        key, source = resolve_master_key(url)
    assert len(key) == 32 and str(path) in source
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert decode_master_key(path.read_text(), "file") == key
    (record,) = [r for r in caplog.records if r.name == "keel.guard.vault"]
    assert record.levelno == logging.WARNING
    assert str(path) in record.getMessage() and KEY_ENV in record.getMessage()
    assert base64.b64encode(key).decode() not in record.getMessage()

    # Every later use (any process on this database) reads the same file, without another warning.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="keel.guard.vault"):
        assert resolve_master_key(url)[0] == key
        assert Vault.from_env(SimpleNamespace(url=url)).key_id == key_id(key)  # type: ignore[arg-type]
    assert [r for r in caplog.records if r.name == "keel.guard.vault"] == []


def test_the_default_key_file_is_held_to_the_same_rules(tmp_path: Path) -> None:
    write_key_file(tmp_path / "guard.key", KEY_B64, mode=0o640)
    with pytest.raises(ConfigError, match="accessible to other users") as err:
        resolve_master_key(f"sqlite:///{tmp_path / 'keel.db'}")
    assert err.value.details["key"] == KEY_ENV


def test_an_in_memory_sqlite_database_gets_an_in_memory_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    key, source = resolve_master_key("sqlite://")
    assert len(key) == 32 and source == "an in-memory key"
    assert list(tmp_path.iterdir()) == []


def test_the_vault_takes_a_32_byte_key_and_names_it_by_a_hash_prefix() -> None:
    store = SimpleNamespace(url="sqlite://")
    assert Vault(store, master_key=KEY).key_id == hashlib.sha256(KEY).hexdigest()[:8]  # type: ignore[arg-type]
    for bad in (bytes(16), bytes(33), KEY_B64):
        with pytest.raises(ConfigError, match="must be 32 bytes"):
            Vault(store, master_key=bad)  # type: ignore[arg-type]
