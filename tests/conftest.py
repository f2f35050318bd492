"""Shared fixtures: a fresh SQLite file per test, and a fresh PostgreSQL schema per test.

PostgreSQL tests FAIL when the server is missing and CI=true; elsewhere they skip loudly.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fake_servers import FakeAnthropicServer, FakeOpenAIServer
from needs import unavailable

# The guard's vault needs a master key shared by every worker of a PostgreSQL database (on SQLite
# it makes one beside the file); the tests run as such a deployment, with a key of their own.
os.environ.setdefault("KEEL_GUARD_KEY", "dGVzdC1vbmx5LWd1YXJkLWtleS0zMi1ieXRlcy0hISE=")
# Likewise the audit log's signing key (an Ed25519 seed), so runs' audit events get sealed on PostgreSQL.
os.environ.setdefault("KEEL_AUDIT_KEY", "dGVzdC1vbmx5LWF1ZGl0LXNpZ25pbmctc2VlZC0zMiE=")

PG_URL = os.environ.get("KEEL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}"


_PG_PROBLEM: str | None | bool = False  # False = not probed yet


def require_postgres() -> str:
    """The base PostgreSQL URL, or fail (CI) / skip loudly (elsewhere) when it is unreachable."""
    global _PG_PROBLEM
    if _PG_PROBLEM is False:
        _PG_PROBLEM = _postgres_available()
    if _PG_PROBLEM:
        unavailable(f"PostgreSQL at {PG_URL} is not reachable ({_PG_PROBLEM})")
    return PG_URL


def fresh_postgres_url() -> tuple[str, str]:
    """A URL whose search_path is a brand-new schema, and the schema's name."""
    import psycopg

    base = require_postgres()
    schema = f"keel_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}", schema


def drop_postgres_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'keel.db'}"


@contextlib.contextmanager
def migrated_postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL schema for one test, dropped afterwards."""
    url, schema = fresh_postgres_url()
    from keel.store import open_store

    open_store(url, migrate=True).close()
    try:
        yield url
    finally:
        drop_postgres_schema(schema)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with migrated_postgres_url() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """Every engine test runs on both databases."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'keel.db'}"
        return
    with migrated_postgres_url() as url:
        yield url


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A local server speaking OpenAI's chat/embeddings wire format, one per test."""
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def anthropic_server() -> Iterator[FakeAnthropicServer]:
    """A local server speaking Anthropic's messages wire format, one per test."""
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _floor_redactor_only() -> Iterator[None]:
    """Each test starts with the scrubbing floor alone: an App's guard installs its redactor process-wide."""
    from keel.observe.redact import set_redactor

    set_redactor(None)
    yield
    set_redactor(None)
