"""The semantic cache through ctx.llm: similar questions share an answer, per org and route; Redis as backend."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from fake_servers import FakeOpenAIServer
from needs import require_redis

import keel
from keel.testing import capture_spans

CHAT = "gpt-4o-2024-08-06"
EMBED = "text-embedding-3-small-2024-01-25"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_MAIN_KEY", "sk-main-test-key-000000000000")


def write_config(tmp_path: Path, server: FakeOpenAIServer, extra: str = "") -> Path:
    path = tmp_path / "keel.toml"
    path.write_text(
        f"""
[providers.main]
kind = "openai"
base_url = "{server.base_url}"
api_key_env = "TEST_MAIN_KEY"
timeout_s = 5

[models."{CHAT}"]
provider = "main"
input_usd_per_mtok = 2.5
output_usd_per_mtok = 10.0

[models."{EMBED}"]
provider = "main"
input_usd_per_mtok = 0.02
output_usd_per_mtok = 0.0

[routes.faq]
primary = "{CHAT}"
cache_ttl_s = 600
semantic_threshold = 0.8
embedding_model = "{EMBED}"
{extra}
"""
    )
    return path


def register(app: keel.App) -> Any:
    @app.workflow()
    async def ask(ctx: keel.Context, question: str) -> dict[str, Any]:
        r = await ctx.llm("faq", question, max_tokens=50)
        return {"text": r.text, "cached": r.cached, "cost": r.cost_usd, "reason": r.decisions[-1]["reason"]}

    return ask


def chats(server: FakeOpenAIServer) -> int:
    return sum(1 for r in server.requests if r.path.endswith("/chat/completions"))


def test_a_similar_question_is_answered_from_the_cache(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    app = keel.App("sem", f"sqlite:///{tmp_path / 'k.db'}", gateway=write_config(tmp_path, openai_server))
    try:
        ask = register(app)
        spans = capture_spans(app)
        openai_server.default_text = "Refunds take five days."
        first = app.run_sync(ask, "how long does a refund for my order take", org_id="acme")
        assert first["cached"] is False and chats(openai_server) == 1
        second = app.run_sync(ask, "how long does the refund for my order take?", org_id="acme")
        assert second["cached"] is True and second["text"] == "Refunds take five days."
        assert second["reason"].startswith("semantic cache hit (similarity 0.")
        assert 0 < second["cost"] < first["cost"]  # only the embedding was paid for
        assert chats(openai_server) == 1
        hit = [s for s in spans.get_finished_spans() if s.attributes.get("cache.kind") == "semantic"]
        assert len(hit) == 1 and hit[0].attributes["cache.similarity"] >= 0.8
        # Another org never sees acme's answers; an unrelated question is not similar enough.
        assert app.run_sync(ask, "how long does a refund for my order take", org_id="globex")["cached"] is False
        assert app.run_sync(ask, "write a short poem about the sea", org_id="acme")["cached"] is False
        assert chats(openai_server) == 3
        # A question holding PII is neither embedded nor cached.
        embeds_before = len(openai_server.requests) - chats(openai_server)
        out = app.run_sync(ask, "how long does a refund for jane@example.com take", org_id="acme")
        assert out["cached"] is False
        assert len(openai_server.requests) - chats(openai_server) == embeds_before
    finally:
        app.close()


def test_a_failing_embedding_only_skips_the_semantic_cache(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    app = keel.App("sem", f"sqlite:///{tmp_path / 'k.db'}", gateway=write_config(tmp_path, openai_server))
    try:
        ask = register(app)
        openai_server.script(openai_server.error(503, "embeddings down"))
        out = app.run_sync(ask, "is there a warranty", org_id="acme")
        assert out["cached"] is False and out["text"] == "ok"
    finally:
        app.close()


def test_the_embedding_counts_against_budgets(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    config = write_config(tmp_path, openai_server, "\n[budgets]\norg_monthly_usd = 5.0\n")
    app = keel.App("sem", f"sqlite:///{tmp_path / 'k.db'}", gateway=config)
    try:
        ask = register(app)
        app.run_sync(ask, "what are your opening hours", org_id="acme")
        (ledger,) = app.store.budget_ledgers(prefix="org:acme:")
        assert ledger.calls == 2  # the embedding, then the chat call
    finally:
        app.close()


def test_redis_backs_both_caches(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    url = require_redis()
    config = write_config(tmp_path, openai_server, f'\n[cache]\nbackend = "redis"\nredis_url = "{url}"\n')
    app = keel.App("sem", f"sqlite:///{tmp_path / 'k.db'}", gateway=config)
    org = f"org-{uuid.uuid4().hex[:8]}"  # Redis outlives the test: a fresh org keeps runs apart
    try:
        ask = register(app)
        assert app.run_sync(ask, "do you ship to canada", org_id=org)["cached"] is False
        exact = app.run_sync(ask, "do you ship to canada", org_id=org)
        assert exact["cached"] is True and exact["reason"] == "exact cache hit"
        similar = app.run_sync(ask, "do you ship to canada?  please", org_id=org)
        assert similar["cached"] is True and similar["reason"].startswith("semantic")
        assert chats(openai_server) == 1
        # Nothing was written to Keel's own cache table.
        assert app.store.cache_get(org, "x" * 64, now=0) is None
    finally:
        app.close()


def test_an_unreachable_redis_is_a_miss_not_a_failure(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    config = write_config(
        tmp_path,
        openai_server,
        '\n[cache]\nbackend = "redis"\nredis_url = "redis://127.0.0.1:1/0"\nredis_timeout_s = 0.2\n',
    )
    app = keel.App("sem", f"sqlite:///{tmp_path / 'k.db'}", gateway=config)
    try:
        ask = register(app)
        for _ in range(2):
            out = app.run_sync(ask, "where is my parcel", org_id="acme")
            assert out["cached"] is False and out["text"] == "ok"
        run = app.store.list_runs(limit=1)[0]
        assert json.loads(run.result or "{}")["cached"] is False
    finally:
        app.close()
