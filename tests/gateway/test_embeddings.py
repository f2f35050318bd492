"""Embeddings: OpenAI's /embeddings against a real HTTP server, every fault classified; Anthropic refuses; scripted is offline."""

from __future__ import annotations

import json
import math
import traceback
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fake_servers import FakeOpenAIServer, Reply, http_date, refused_url

from keel.errors import MalformedResponse, ProviderError, ProviderRequestError, ProviderUnavailable, RateLimited
from keel.gateway.cache import cosine
from keel.gateway.providers import (
    SCRIPTED_EMBEDDING_DIMS,
    AnthropicProvider,
    OpenAIProvider,
    ScriptedProvider,
    estimate_tokens,
    hashed_embedding,
)
from keel.gateway.types import EmbedRequest

KEY = "sk-keeltest-SECRET-0123456789abcdef"
EMBED = "text-embedding-3-small"
REFUND = "What is your refund policy for annual plans?"
REFUND_AGAIN = "what is the refund policy for annual plans"
PASSWORD = "How do I reset my password?"


def ereq(*texts: str, timeout_s: float = 60.0) -> EmbedRequest:
    return EmbedRequest(model=EMBED, texts=texts or (REFUND,), timeout_s=timeout_s)


@pytest.fixture
async def openai(openai_server: FakeOpenAIServer) -> AsyncIterator[OpenAIProvider]:
    provider = OpenAIProvider("main", base_url=openai_server.base_url, api_key=KEY)
    yield provider
    await provider.aclose()


async def _fails(provider: OpenAIProvider | AnthropicProvider, request: EmbedRequest | None = None) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await provider.embed(request or ereq())
    return caught.value


# -- the OpenAI wire format -------------------------------------------------------------------------


async def test_openai_sends_the_embeddings_request(openai: OpenAIProvider, openai_server: FakeOpenAIServer) -> None:
    openai_server.script(openai_server.embed_answer([[0.1, 0.2], [0.3, 0.4]], model=EMBED + "-v2", input_tokens=17))
    response = await openai.embed(ereq("first", "second"))

    sent = openai_server.last_request
    assert (sent.method, sent.path) == ("POST", "/v1/embeddings")
    assert sent.json() == {"model": EMBED, "input": ["first", "second"]}
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["content-type"] == "application/json"
    assert response.vectors == [[0.1, 0.2], [0.3, 0.4]]
    assert (response.input_tokens, response.model) == (17, EMBED + "-v2")


async def test_vectors_follow_their_index_not_their_position(
    openai: OpenAIProvider, openai_server: FakeOpenAIServer
) -> None:
    body = FakeOpenAIServer.embeddings_body([[1.0, 0.0], [0.0, 1.0]])
    body["data"] = [{**body["data"][1]}, {**body["data"][0]}]  # the second input's vector first
    openai_server.script(Reply(json=body))
    response = await openai.embed(ereq("a", "b"))
    assert response.vectors == [[1.0, 0.0], [0.0, 1.0]]


async def test_the_default_answer_embeds_by_shared_words(openai: OpenAIProvider) -> None:
    response = await openai.embed(ereq(REFUND, REFUND_AGAIN, PASSWORD))
    refund, again, password = response.vectors
    assert len(refund) == FakeOpenAIServer.embedding_dims
    assert cosine(refund, again) > 0.85
    assert cosine(refund, password) < 0.3
    assert response.input_tokens == sum(estimate_tokens(t) for t in (REFUND, REFUND_AGAIN, PASSWORD))


async def test_no_texts_no_request(openai: OpenAIProvider, openai_server: FakeOpenAIServer) -> None:
    response = await openai.embed(EmbedRequest(model=EMBED, texts=()))
    assert (response.vectors, response.input_tokens) == ([], 0)
    assert openai_server.request_count == 0


async def test_missing_usage_is_estimated(openai: OpenAIProvider, openai_server: FakeOpenAIServer) -> None:
    body = FakeOpenAIServer.embeddings_body([[0.5, 0.5]])
    del body["usage"]
    openai_server.script(Reply(json=body))
    assert (await openai.embed(ereq("twelve chars"))).input_tokens == 3


# -- faults, classified as chat's are -----------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503, 408])
async def test_5xx_is_unavailable(openai: OpenAIProvider, openai_server: FakeOpenAIServer, status: int) -> None:
    openai_server.script(openai_server.error(status, "overloaded"))
    err = await _fails(openai)
    assert type(err) is ProviderUnavailable and err.fallback
    assert err.details == {"provider": "main", "model": EMBED, "status": status}


async def test_429_carries_retry_after(openai: OpenAIProvider, openai_server: FakeOpenAIServer) -> None:
    openai_server.script(openai_server.error(429, "slow down", headers={"Retry-After": http_date(30)}))
    err = await _fails(openai)
    assert type(err) is RateLimited
    assert err.retry_after_s is not None and 25 <= err.retry_after_s <= 31


@pytest.mark.parametrize("status", [400, 401, 404, 422])
async def test_other_4xx_is_a_request_error(
    openai: OpenAIProvider, openai_server: FakeOpenAIServer, status: int
) -> None:
    openai_server.script(openai_server.error(status, "model does not support embeddings"))
    err = await _fails(openai)
    assert type(err) is ProviderRequestError and not err.fallback
    assert "model does not support embeddings" in str(err)


async def test_timeout_is_unavailable(openai: OpenAIProvider, openai_server: FakeOpenAIServer) -> None:
    openai_server.script(Reply(delay_s=2.0, json=FakeOpenAIServer.embeddings_body([[1.0]])))
    err = await _fails(openai, ereq(REFUND, timeout_s=0.2))
    assert type(err) is ProviderUnavailable and "0.2 s" in str(err)


async def test_connection_refused_is_unavailable() -> None:
    provider = OpenAIProvider("main", base_url=refused_url("/v1"), api_key=KEY)
    try:
        err = await _fails(provider)
    finally:
        await provider.aclose()
    assert type(err) is ProviderUnavailable and "connection failed" in str(err)
    assert err.__cause__ is None and err.__suppress_context__


async def test_dropped_connection_is_unavailable(openai: OpenAIProvider, openai_server: FakeOpenAIServer) -> None:
    openai_server.script(Reply(close=True))
    assert type(await _fails(openai)) is ProviderUnavailable


def _body(**changes: Any) -> dict[str, Any]:
    body = FakeOpenAIServer.embeddings_body([[0.1, 0.2], [0.3, 0.4]])
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("reply", "complaint"),
    [
        (Reply(body="<html>gateway</html>"), "is not JSON"),
        (Reply(json={"object": "list"}), "lacks data"),
        (Reply(json=_body(data={"embedding": [1.0]})), "no list of 2 embeddings"),
        (Reply(json=_body(data=[_body()["data"][0]])), "no list of 2 embeddings"),
        (Reply(json=_body(data=[{"index": 0, "embedding": [1.0]}, {"index": 1}])), "lacks data[1].embedding"),
        (Reply(json=_body(data=[{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": "AAAA"}])), "non-list"),
        (Reply(json=_body(data=[{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": []}])), "non-list"),
        (Reply(json=_body(data=[{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [True]}])), "non-number"),
        (Reply(body='{"data": [{"index": 0, "embedding": [NaN]}, {"index": 1, "embedding": [1.0]}]}'), "non-number"),
        (
            Reply(json=_body(data=[{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [1.0]}])),
            "two embeddings",
        ),
        (
            Reply(json=_body(data=[{"index": 0, "embedding": [1.0]}, {"index": 5, "embedding": [1.0]}])),
            "bad data[1].index",
        ),
        (Reply(json=_body(data=[{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1.0, 2.0]}])), "lengths"),
        (Reply(json=_body(usage={"prompt_tokens": -1})), "non-count usage.prompt_tokens"),
    ],
)
async def test_off_protocol_answers_are_malformed(
    openai: OpenAIProvider, openai_server: FakeOpenAIServer, reply: Reply, complaint: str
) -> None:
    openai_server.script(reply)
    err = await _fails(openai, ereq("a", "b"))
    assert type(err) is MalformedResponse
    assert complaint in str(err)


async def test_api_key_appears_in_no_embedding_error(openai: OpenAIProvider, openai_server: FakeOpenAIServer) -> None:
    faults = [
        openai_server.error(401, f"Incorrect API key provided: {KEY}."),
        openai_server.error(500, f"internal error while serving {KEY}"),
        Reply(status=200, body=f"not json, but {KEY}"),
        Reply(close=True),
    ]
    for fault in faults:
        openai_server.script(fault)
        err = await _fails(openai)
        everything = "\n".join([str(err), repr(err), "".join(traceback.format_exception(err)), json.dumps(err.details)])
        assert KEY not in everything and KEY[10:30] not in everything


async def test_a_local_provider_embeds_without_the_environment_proxy(
    openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same guard as chat's: a local-only route's text must not leave the machine through a proxy.
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, refused_url())
    local = OpenAIProvider("main", base_url=openai_server.base_url, api_key=KEY)
    remote = OpenAIProvider("main", base_url=openai_server.base_url, api_key=KEY, remote=True)
    try:
        assert local.remote is False
        assert len((await local.embed(ereq())).vectors) == 1
        assert type(await _fails(remote)) is ProviderUnavailable  # a remote one does use the (refused) proxy
    finally:
        await local.aclose()
        await remote.aclose()
    assert openai_server.request_count == 1


# -- Anthropic and scripted ---------------------------------------------------------------------------


async def test_anthropic_has_no_embeddings_api() -> None:
    provider = AnthropicProvider("claude", base_url=refused_url(), api_key=KEY)
    err = await _fails(provider)
    await provider.aclose()
    assert type(err) is ProviderRequestError and not err.fallback
    assert "Anthropic has no embeddings API" in str(err)
    assert err.details == {"provider": "claude", "model": EMBED}


async def test_scripted_embeddings_are_deterministic_unit_bags_of_words() -> None:
    provider = ScriptedProvider("offline", responses=[])
    response = await provider.embed(ereq(REFUND, REFUND_AGAIN, PASSWORD, "", "Refund POLICY"))
    refund, again, password, empty, shouted = response.vectors
    assert len(refund) == SCRIPTED_EMBEDDING_DIMS
    assert math.isclose(math.sqrt(sum(x * x for x in refund)), 1.0)
    assert refund == hashed_embedding(REFUND)  # the same text, the same vector, in every process
    assert cosine(refund, again) > 0.85
    assert cosine(refund, password) < 0.2
    assert empty == [0.0] * SCRIPTED_EMBEDDING_DIMS
    assert shouted == hashed_embedding("refund policy")
    assert response.input_tokens == sum(
        estimate_tokens(t) for t in (REFUND, REFUND_AGAIN, PASSWORD, "", "Refund POLICY")
    )
    assert response.model == EMBED
    assert list(provider.embed_requests) == [ereq(REFUND, REFUND_AGAIN, PASSWORD, "", "Refund POLICY")]
