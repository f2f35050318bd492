"""Providers against real HTTP servers on loopback: the exact wire request, the parsed answer, every fault."""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import AsyncIterator, Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fake_servers import FakeAnthropicServer, FakeOpenAIServer, FakeServer, Reply, http_date, refused_url

from keel.errors import (
    ConfigError,
    MalformedResponse,
    ProviderError,
    ProviderRequestError,
    ProviderUnavailable,
    RateLimited,
)
from keel.gateway.providers import (
    AnthropicProvider,
    OpenAIProvider,
    ScriptedProvider,
    build_provider,
    is_loopback_url,
    json_instruction,
    parse_retry_after,
)
from keel.gateway.types import ChatRequest, ChatResponse, Message

KEY = "sk-keeltest-SECRET-0123456789abcdef"
GPT = "gpt-4o-2024-08-06"
CLAUDE = "claude-3-5-sonnet-20241022"
SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


def req(model: str = GPT, *messages: Message, **kwargs: Any) -> ChatRequest:
    msgs = messages or (Message("user", "Hello there"),)
    return ChatRequest(model=model, messages=tuple(msgs), **kwargs)


# -- OpenAI wire format ---------------------------------------------------------------------------


@pytest.fixture
async def openai(openai_server: FakeOpenAIServer) -> AsyncIterator[OpenAIProvider]:
    provider = OpenAIProvider("main", base_url=openai_server.base_url, api_key=KEY)
    yield provider
    await provider.aclose()


@pytest.fixture
async def anthropic(anthropic_server: FakeAnthropicServer) -> AsyncIterator[AnthropicProvider]:
    provider = AnthropicProvider("claude", base_url=anthropic_server.base_url, api_key=KEY)
    yield provider
    await provider.aclose()


async def test_openai_sends_the_chat_completions_request(
    openai: OpenAIProvider, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(
        openai_server.answer(
            "Hi!",
            model=GPT,
            input_tokens=21,
            output_tokens=3,
            cached_tokens=16,
            id="chatcmpl-42",
            finish_reason="length",
        )
    )
    request = req(
        GPT,
        Message("system", "Be brief."),
        Message("user", "Hello there"),
        max_tokens=50,
        temperature=0.2,
    )

    response = await openai.chat(request)

    sent = openai_server.last_request
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["content-type"] == "application/json"
    assert sent.json() == {
        "model": GPT,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}],
        "max_tokens": 50,
        "temperature": 0.2,
    }
    assert response == ChatResponse(
        text="Hi!",
        model=GPT,
        input_tokens=21,
        output_tokens=3,
        finish_reason="length",
        response_id="chatcmpl-42",
        cached_input_tokens=16,
    )
    assert response.raw["object"] == "chat.completion"


async def test_openai_json_schema_uses_strict_response_format(openai_server: FakeOpenAIServer) -> None:
    # No key (a local vLLM): no Authorization header at all; no temperature unless set.
    provider = OpenAIProvider("local", base_url=openai_server.base_url, api_key=None)
    openai_server.script(openai_server.answer('{"ok": true}'))
    try:
        response = await provider.chat(req(GPT, json_schema=SCHEMA))
    finally:
        await provider.aclose()

    sent = openai_server.last_request
    assert "authorization" not in sent.headers
    body = sent.json()
    assert "temperature" not in body
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True},
    }
    assert json.loads(response.text) == {"ok": True}
    assert response.cached_input_tokens == 0  # no prompt_tokens_details in the answer


async def test_openai_null_content_is_an_empty_answer(openai: OpenAIProvider, openai_server: FakeOpenAIServer) -> None:
    openai_server.script(Reply(json=FakeOpenAIServer.completion(None, output_tokens=0, finish_reason="content_filter")))
    response = await openai.chat(req())
    assert (response.text, response.finish_reason, response.output_tokens) == ("", "content_filter", 0)


async def test_calls_share_one_kept_alive_connection(openai: OpenAIProvider, openai_server: FakeOpenAIServer) -> None:
    for _ in range(3):
        assert (await openai.chat(req())).text == "ok"
    assert openai_server.request_count == 3
    assert {r.connection for r in openai_server.requests} == {openai_server.requests[0].connection}


async def test_concurrent_calls_all_answered(openai: OpenAIProvider, openai_server: FakeOpenAIServer) -> None:
    openai_server.respond_with(lambda r: openai_server.answer(r.json()["messages"][0]["content"].upper()))
    texts = await asyncio.gather(*(openai.chat(req(GPT, Message("user", f"call {i}"))) for i in range(32)))
    assert sorted(r.text for r in texts) == sorted(f"CALL {i}" for i in range(32))
    assert openai_server.request_count == 32


# -- Anthropic wire format ------------------------------------------------------------------------


async def test_anthropic_sends_the_messages_request(
    anthropic: AnthropicProvider, anthropic_server: FakeAnthropicServer
) -> None:
    anthropic_server.script(
        anthropic_server.answer(
            "Hello.", model=CLAUDE, input_tokens=9, output_tokens=2, id="msg_01", stop_reason="end_turn"
        )
    )
    request = req(
        CLAUDE,
        Message("system", "Be brief."),
        Message("user", "Hi"),
        Message("assistant", "Hello?"),
        Message("system", "Answer in English."),
        Message("user", "Say hello"),
        max_tokens=64,
        temperature=0.0,
    )

    response = await anthropic.chat(request)

    sent = anthropic_server.last_request
    assert (sent.method, sent.path) == ("POST", "/v1/messages")
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["content-type"] == "application/json"
    assert "authorization" not in sent.headers
    assert sent.json() == {
        "model": CLAUDE,
        "max_tokens": 64,
        "system": "Be brief.\n\nAnswer in English.",
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello?"},
            {"role": "user", "content": "Say hello"},
        ],
        "temperature": 0.0,
    }
    assert response == ChatResponse(
        text="Hello.", model=CLAUDE, input_tokens=9, output_tokens=2, finish_reason="end_turn", response_id="msg_01"
    )


async def test_anthropic_json_schema_becomes_a_system_instruction(
    anthropic: AnthropicProvider, anthropic_server: FakeAnthropicServer
) -> None:
    await anthropic.chat(
        req(CLAUDE, Message("system", "You grade answers."), Message("user", "2+2=4"), json_schema=SCHEMA)
    )
    body = anthropic_server.last_request.json()
    assert body["system"] == "You grade answers.\n\n" + json_instruction(SCHEMA)
    assert json.dumps(SCHEMA, sort_keys=True) in body["system"]
    assert "response_format" not in body and "temperature" not in body

    # Without any system message the instruction is the whole system prompt.
    await anthropic.chat(req(CLAUDE, Message("user", "2+2=4"), json_schema=SCHEMA))
    assert anthropic_server.last_request.json()["system"] == json_instruction(SCHEMA)


async def test_anthropic_joins_text_blocks_and_counts_cached_input(
    anthropic: AnthropicProvider, anthropic_server: FakeAnthropicServer
) -> None:
    body = FakeAnthropicServer.message(
        "", input_tokens=5, output_tokens=7, cache_read_input_tokens=100, cache_creation_input_tokens=20
    )
    body["content"] = [
        {"type": "text", "text": "Part one, "},
        {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}},
        {"type": "text", "text": "part two."},
    ]
    anthropic_server.script(Reply(json=body))
    response = await anthropic.chat(req(CLAUDE))
    assert response.text == "Part one, part two."
    # Anthropic's input_tokens excludes cache reads and writes; ours counts every prompt token.
    assert (response.input_tokens, response.cached_input_tokens, response.output_tokens) == (125, 100, 7)


async def test_default_anthropic_base_url_is_remote() -> None:
    provider = AnthropicProvider("claude", api_key=KEY)
    assert provider.base_url == "https://api.anthropic.com"
    assert provider.remote is True


# -- Faults, for both wire formats -------------------------------------------------------------------

Wire = tuple[FakeServer, OpenAIProvider | AnthropicProvider, str]


@pytest.fixture(params=["openai", "anthropic"])
async def wire(request: pytest.FixtureRequest) -> AsyncIterator[Wire]:
    server: FakeServer
    provider: OpenAIProvider | AnthropicProvider
    if request.param == "openai":
        server = FakeOpenAIServer().start()
        provider = OpenAIProvider("main", base_url=server.base_url, api_key=KEY)
        model = GPT
    else:
        server = FakeAnthropicServer().start()
        provider = AnthropicProvider("claude", base_url=server.base_url, api_key=KEY)
        model = CLAUDE
    try:
        yield server, provider, model
    finally:
        await provider.aclose()
        server.stop()


async def _fails(provider: OpenAIProvider | AnthropicProvider, model: str, **kwargs: Any) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await provider.chat(req(model, **kwargs))
    return caught.value


@pytest.mark.parametrize("status", [500, 502, 503, 529])
async def test_5xx_is_unavailable(wire: Wire, status: int) -> None:
    server, provider, model = wire
    server.script(server.error(status, "upstream is overloaded"))
    err = await _fails(provider, model)
    assert type(err) is ProviderUnavailable and err.fallback
    assert err.details == {"provider": provider.name, "model": model, "status": status}
    assert "upstream is overloaded" in str(err)


async def test_429_with_retry_after_seconds(wire: Wire) -> None:
    server, provider, model = wire
    server.script(server.error(429, "slow down", headers={"Retry-After": "7"}))
    err = await _fails(provider, model)
    assert isinstance(err, RateLimited) and err.fallback
    assert err.retry_after_s == 7.0
    assert err.details == {"provider": provider.name, "model": model, "status": 429, "retry_after_s": 7.0}


async def test_429_with_retry_after_http_date(wire: Wire) -> None:
    server, provider, model = wire
    server.script(server.error(429, "slow down", headers={"Retry-After": http_date(120)}))
    err = await _fails(provider, model)
    assert isinstance(err, RateLimited)
    # An HTTP date has whole seconds: 120 s ahead reads back as 119-120 s.
    assert err.retry_after_s is not None and 110 <= err.retry_after_s <= 120


async def test_429_without_retry_after(wire: Wire) -> None:
    server, provider, model = wire
    server.script(server.error(429, "slow down"), server.error(429, "slow down", headers={"Retry-After": "soon"}))
    for _ in range(2):
        err = await _fails(provider, model)
        assert isinstance(err, RateLimited) and err.retry_after_s is None


async def test_retry_after_ms_is_preferred(openai: OpenAIProvider, openai_server: FakeOpenAIServer) -> None:
    openai_server.script(openai_server.error(429, "slow down", headers={"retry-after-ms": "1500", "retry-after": "2"}))
    err = await _fails(openai, GPT)
    assert isinstance(err, RateLimited) and err.retry_after_s == 1.5


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
async def test_other_4xx_is_a_request_error_without_fallback(wire: Wire, status: int) -> None:
    server, provider, model = wire
    server.script(server.error(status, f"bad request number {status}: model {model!r} is not known"))
    err = await _fails(provider, model)
    assert type(err) is ProviderRequestError and not err.fallback
    assert f"bad request number {status}" in str(err)
    assert err.details == {"provider": provider.name, "model": model, "status": status}


async def test_long_provider_message_is_truncated(wire: Wire) -> None:
    server, provider, model = wire
    server.script(server.error(400, "x" * 5000))
    err = await _fails(provider, model)
    assert len(str(err)) < 500


async def test_non_json_error_body_still_explains(wire: Wire) -> None:
    server, provider, model = wire
    server.script(Reply(status=502, body="<html>Bad Gateway from the load balancer</html>"))
    err = await _fails(provider, model)
    assert type(err) is ProviderUnavailable and "Bad Gateway from the load balancer" in str(err)


async def test_timeout_is_unavailable(wire: Wire) -> None:
    server, provider, model = wire
    server.script(Reply(delay_s=5.0))
    err = await _fails(provider, model, timeout_s=0.2)
    assert type(err) is ProviderUnavailable
    assert err.details == {"provider": provider.name, "model": model}
    assert "0.2 s" in str(err)
    # The provider recovers on the next call (a fresh connection).
    server.script(server.answer("back", model=model))
    assert (await provider.chat(req(model))).text == "back"


async def test_provider_timeout_caps_the_request_timeout(openai_server: FakeOpenAIServer) -> None:
    provider = OpenAIProvider("main", base_url=openai_server.base_url, api_key=KEY, timeout_s=0.2)
    openai_server.script(Reply(delay_s=5.0))
    try:
        err = await _fails(provider, GPT, timeout_s=60.0)
    finally:
        await provider.aclose()
    assert type(err) is ProviderUnavailable and "0.2 s" in str(err)


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_connection_refused_is_unavailable(kind: str) -> None:
    provider: OpenAIProvider | AnthropicProvider
    if kind == "openai":
        provider = OpenAIProvider("main", base_url=refused_url("/v1"), api_key=KEY)
    else:
        provider = AnthropicProvider("claude", base_url=refused_url(), api_key=KEY)
    try:
        err = await _fails(provider, GPT)
    finally:
        await provider.aclose()
    assert type(err) is ProviderUnavailable
    assert err.details == {"provider": provider.name, "model": GPT}
    assert "connection failed" in str(err)


async def test_dropped_connection_is_unavailable(wire: Wire) -> None:
    server, provider, model = wire
    server.script(Reply(close=True))
    err = await _fails(provider, model)
    assert type(err) is ProviderUnavailable


@pytest.mark.parametrize(
    "body",
    [
        "this is not JSON {",
        b"\xff\xfe not utf-8",
        "",
    ],
)
async def test_2xx_that_is_not_json_is_malformed(wire: Wire, body: str | bytes) -> None:
    server, provider, model = wire
    server.script(Reply(status=200, body=body))
    err = await _fails(provider, model)
    assert type(err) is MalformedResponse and err.fallback
    assert err.details == {"provider": provider.name, "model": model, "status": 200}
    assert "not JSON" in str(err)


def _without(body: dict[str, Any], *path: str | int) -> dict[str, Any]:
    node: Any = body
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]
    return body


OPENAI_BROKEN: list[tuple[Callable[[], Any], str]] = [
    (lambda: {"error": None}, "choices"),
    (lambda: _without(FakeOpenAIServer.completion("x"), "choices", 0, "message"), "choices[0].message"),
    (
        lambda: _without(FakeOpenAIServer.completion("x"), "choices", 0, "message", "content"),
        "choices[0].message.content",
    ),
    (lambda: {**FakeOpenAIServer.completion("x"), "choices": []}, "choices[0]"),
    (lambda: _without(FakeOpenAIServer.completion("x"), "usage"), "usage"),
    (lambda: _without(FakeOpenAIServer.completion("x"), "usage", "completion_tokens"), "usage.completion_tokens"),
    (
        lambda: {**FakeOpenAIServer.completion("x"), "usage": {"prompt_tokens": "3", "completion_tokens": 1}},
        "prompt_tokens",
    ),
    (lambda: [1, 2, 3], "choices"),
]
ANTHROPIC_BROKEN: list[tuple[Callable[[], Any], str]] = [
    (lambda: _without(FakeAnthropicServer.message("x"), "content"), "content"),
    (lambda: {**FakeAnthropicServer.message("x"), "content": "x"}, "content"),
    (lambda: _without(FakeAnthropicServer.message("x"), "usage", "output_tokens"), "usage.output_tokens"),
    (lambda: {**FakeAnthropicServer.message("x"), "usage": {"input_tokens": True, "output_tokens": 1}}, "input_tokens"),
    (lambda: {**FakeAnthropicServer.message("x"), "content": [{"type": "text", "text": 5}]}, "text"),
]


@pytest.mark.parametrize(("make", "field"), OPENAI_BROKEN)
async def test_openai_json_missing_fields_is_malformed(
    openai: OpenAIProvider, openai_server: FakeOpenAIServer, make: Callable[[], Any], field: str
) -> None:
    openai_server.script(Reply(json=make()))
    err = await _fails(openai, GPT)
    assert type(err) is MalformedResponse
    assert field in str(err)


@pytest.mark.parametrize(("make", "field"), ANTHROPIC_BROKEN)
async def test_anthropic_json_missing_fields_is_malformed(
    anthropic: AnthropicProvider, anthropic_server: FakeAnthropicServer, make: Callable[[], Any], field: str
) -> None:
    anthropic_server.script(Reply(json=make()))
    err = await _fails(anthropic, CLAUDE)
    assert type(err) is MalformedResponse
    assert field in str(err)


async def test_wrong_base_url_is_a_request_error(openai_server: FakeOpenAIServer) -> None:
    # base_url without /v1: the server answers 404, which no fallback fixes.
    provider = OpenAIProvider("main", base_url=openai_server.url, api_key=KEY)
    try:
        err = await _fails(provider, GPT)
    finally:
        await provider.aclose()
    assert type(err) is ProviderRequestError
    assert openai_server.last_request.path == "/chat/completions"


# -- The API key never leaks -----------------------------------------------------------------------


def _everything_about(err: BaseException) -> str:
    parts = [str(err), repr(err), "".join(traceback.format_exception(err))]
    if isinstance(err, ProviderError):
        parts += [err.message, json.dumps(err.details), repr(err.__reduce__())]
    return "\n".join(parts)


async def test_api_key_appears_in_no_error(wire: Wire) -> None:
    server, provider, model = wire
    faults = [
        server.error(401, f"Incorrect API key provided: {KEY}. You can find your key at ..."),
        server.error(400, f"bad header x-api-key={KEY}"),
        server.error(429, f"too many requests for {KEY}", headers={"Retry-After": "1"}),
        server.error(500, f"internal error while serving {KEY}"),
        Reply(status=200, body=f"not json, but {KEY}"),
        Reply(json={"echo": KEY}),
        Reply(close=True),
        Reply(delay_s=5.0),
    ]
    for fault in faults:
        server.script(fault)
        err = await _fails(provider, model, timeout_s=0.3)
        assert KEY not in _everything_about(err)
        assert KEY[10:30] not in _everything_about(err)
    assert server.request_count == len(faults)
    # The key did go out, where it belongs.
    assert any(KEY in r.headers.values() or f"Bearer {KEY}" in r.headers.values() for r in server.requests)
    assert KEY not in repr(provider) and KEY not in str(provider)


async def test_api_key_not_in_connection_errors() -> None:
    provider = OpenAIProvider("main", base_url=refused_url("/v1"), api_key=KEY)
    try:
        err = await _fails(provider, GPT)
    finally:
        await provider.aclose()
    assert KEY not in _everything_about(err)
    # The transport exception (which holds the request and its headers) is not chained.
    assert err.__cause__ is None and err.__suppress_context__


# -- Client lifetime ---------------------------------------------------------------------------------


def test_provider_survives_a_new_event_loop(openai_server: FakeOpenAIServer) -> None:
    provider = OpenAIProvider("main", base_url=openai_server.base_url, api_key=KEY)

    async def once() -> str:
        return (await provider.chat(req())).text

    # Each asyncio.run is a new loop; the pooled client of the first must not be reused by the second.
    assert asyncio.run(once()) == "ok"
    assert asyncio.run(once()) == "ok"
    asyncio.run(provider.aclose())
    assert openai_server.request_count == 2


async def test_aclose_closes_own_client_but_not_an_injected_one(openai_server: FakeOpenAIServer) -> None:
    provider = OpenAIProvider("main", base_url=openai_server.base_url, api_key=KEY)
    await provider.chat(req())
    await provider.aclose()
    await provider.aclose()  # idempotent
    # A closed provider opens a new client when used again.
    assert (await provider.chat(req())).text == "ok"
    await provider.aclose()

    async with httpx2.AsyncClient() as client:
        injected = OpenAIProvider("main", base_url=openai_server.base_url, api_key=KEY, client=client)
        await injected.chat(req())
        await injected.aclose()
        assert not client.is_closed
        assert (await injected.chat(req())).text == "ok"
    assert openai_server.request_count == 4


# -- remote or local ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8001/v1", True),
        ("http://127.8.9.10/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://LOCALHOST/v1", True),
        ("http://[::1]:8000/v1", True),
        ("http://[::ffff:127.0.0.1]:8000/v1", True),
        ("https://api.openai.com/v1", False),
        ("https://api.anthropic.com", False),
        ("http://10.0.0.5:8000/v1", False),
        ("http://192.168.1.2/v1", False),
        ("http://localhost.example.com/v1", False),
        ("http://128.0.0.1/v1", False),
    ],
)
def test_remote_unless_loopback(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback
    assert OpenAIProvider("p", base_url=url, api_key=None).remote is (not loopback)
    assert AnthropicProvider("p", base_url=url, api_key=None).remote is (not loopback)


def test_explicit_remote_wins() -> None:
    assert OpenAIProvider("p", base_url="http://127.0.0.1:8001/v1", api_key=None, remote=True).remote is True
    assert OpenAIProvider("p", base_url="http://10.0.0.5/v1", api_key=None, remote=False).remote is False
    assert ScriptedProvider("s").remote is False


# -- Retry-After --------------------------------------------------------------------------------------


def test_parse_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after(" 1.5 ", now=now) == 1.5
    assert parse_retry_after("-3", now=now) == 0.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 0.0
    for unreadable in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(unreadable, now=now) is None


# -- ScriptedProvider ---------------------------------------------------------------------------------


async def test_scripted_matches_model_and_last_user_message() -> None:
    provider = ScriptedProvider(
        "s",
        responses=[
            {"model": CLAUDE, "text": "from claude"},
            {"contains": "refund", "json": {"approved": True}, "input_tokens": 40, "output_tokens": 5},
            {"text": "anything else"},
        ],
    )
    assert (await provider.chat(req(CLAUDE))).text == "from claude"
    refund = await provider.chat(req(GPT, Message("user", "I want a refund"), Message("assistant", "Why?")))
    assert (json.loads(refund.text), refund.input_tokens, refund.output_tokens) == ({"approved": True}, 40, 5)
    # Only the LAST user message counts: "refund" earlier in the conversation does not match.
    other = await provider.chat(req(GPT, Message("user", "refund"), Message("user", "never mind")))
    assert other.text == "anything else"
    assert [r.model for r in provider.requests] == [CLAUDE, GPT, GPT]
    assert other.model == GPT and other.finish_reason == "stop" and other.response_id == "scripted-3"


async def test_scripted_estimates_tokens_deterministically() -> None:
    provider = ScriptedProvider("s", responses=[{"text": "x" * 10}])
    response = await provider.chat(req(GPT, Message("system", "a" * 7), Message("user", "b" * 10)))
    assert (response.input_tokens, response.output_tokens) == (5, 3)  # ceil(17/4), ceil(10/4)
    again = await provider.chat(req(GPT, Message("system", "a" * 7), Message("user", "b" * 10)))
    assert (again.text, again.input_tokens, again.output_tokens) == (response.text, 5, 3)


@pytest.mark.parametrize(
    ("fixture", "error"),
    [
        ({"error": "unavailable", "message": "down for maintenance"}, ProviderUnavailable),
        ({"error": "rate_limited", "retry_after_s": 2.5}, RateLimited),
        ({"error": "malformed"}, MalformedResponse),
        ({"error": "rejected", "message": "context too long"}, ProviderRequestError),
    ],
)
async def test_scripted_errors(fixture: dict[str, Any], error: type[ProviderError]) -> None:
    provider = ScriptedProvider("s", responses=[fixture])
    with pytest.raises(error) as caught:
        await provider.chat(req())
    assert type(caught.value) is error
    assert caught.value.details["provider"] == "s" and caught.value.details["model"] == GPT
    if "message" in fixture:
        assert fixture["message"] in str(caught.value)
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after_s == 2.5


async def test_scripted_times_lets_a_fault_happen_once() -> None:
    provider = ScriptedProvider("s", responses=[{"error": "unavailable", "times": 1}, {"text": "recovered"}])
    with pytest.raises(ProviderUnavailable):
        await provider.chat(req())
    assert (await provider.chat(req())).text == "recovered"
    assert (await provider.chat(req())).text == "recovered"


async def test_scripted_without_a_match_is_a_request_error() -> None:
    provider = ScriptedProvider("s", responses=[{"model": CLAUDE, "text": "x"}])
    with pytest.raises(ProviderRequestError, match="no fixture"):
        await provider.chat(req(GPT))


async def test_scripted_delay_past_the_timeout_is_unavailable() -> None:
    provider = ScriptedProvider("s", responses=[{"text": "slow", "delay_s": 30}])
    with pytest.raises(ProviderUnavailable, match="no answer within 0.05 s"):
        await provider.chat(req(timeout_s=0.05))


async def test_scripted_fixture_files(tmp_path: Path) -> None:
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(
        json.dumps({"contains": "weather", "text": "Sunny."})
        + "\n\n"
        + json.dumps({"model": CLAUDE, "error": "rate_limited", "retry_after_s": 1})
        + "\n"
    )
    (tmp_path / "b.json").write_text(json.dumps([{"json": [1, 2]}]))
    (tmp_path / "c.json").write_text(json.dumps({"text": "never reached"}))
    (tmp_path / "notes.txt").write_text("not a fixture")

    from_dir = ScriptedProvider("s", fixtures=tmp_path)
    assert (await from_dir.chat(req(GPT, Message("user", "the weather?")))).text == "Sunny."
    with pytest.raises(RateLimited):
        await from_dir.chat(req(CLAUDE))
    assert json.loads((await from_dir.chat(req(GPT))).text) == [1, 2]

    from_file = ScriptedProvider("s", fixtures=str(tmp_path / "c.json"))
    assert (await from_file.chat(req())).text == "never reached"
    # responses= come before the fixture files.
    both = ScriptedProvider("s", responses=[{"text": "first"}], fixtures=jsonl)
    assert (await both.chat(req(GPT, Message("user", "weather")))).text == "first"


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ('{"text": "a", "json": 1}', "exactly one of"),
        ('{"model": "m"}', "exactly one of"),
        ('{"text": "a", "contian": "typo"}', "unknown keys ['contian']"),
        ('{"error": "exploded"}', "error must be one of"),
        ('{"text": 5}', "text must be a string"),
        ('{"text": "a", "input_tokens": -1}', "input_tokens"),
        ('{"text": "a", "times": 1.5}', "times"),
        ('{"error": "rate_limited", "retry_after_s": "soon"}', "retry_after_s"),
        ("[1]", "must be a JSON object"),
        ("{not json", "not JSON"),
    ],
)
def test_bad_fixtures_are_config_errors(tmp_path: Path, content: str, complaint: str) -> None:
    path = tmp_path / "f.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match="f.json") as caught:
        ScriptedProvider("s", fixtures=path)
    assert complaint in str(caught.value)


def test_bad_fixture_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text('{"text": "a"}\n{"txt": "b"}\n')
    with pytest.raises(ConfigError, match=r"f\.jsonl:2"):
        ScriptedProvider("s", fixtures=path)
    with pytest.raises(ConfigError, match="cannot read"):
        ScriptedProvider("s", fixtures=tmp_path / "missing.jsonl")


# -- build_provider ------------------------------------------------------------------------------------


def test_build_provider(tmp_path: Path) -> None:
    openai = build_provider("main", "openai", base_url="http://127.0.0.1:8001/v1", api_key=KEY, timeout_s=5)
    assert isinstance(openai, OpenAIProvider) and openai.kind == "openai" and openai.remote is False
    assert openai.timeout_s == 5.0

    anthropic = build_provider("claude", "anthropic", api_key=KEY)
    assert isinstance(anthropic, AnthropicProvider) and anthropic.remote is True
    assert anthropic.base_url == "https://api.anthropic.com"

    (tmp_path / "f.jsonl").write_text('{"text": "hi"}\n')
    scripted = build_provider("demo", "scripted", fixtures=tmp_path / "f.jsonl")
    assert isinstance(scripted, ScriptedProvider) and scripted.kind == "scripted" and scripted.remote is False

    forced = build_provider("tunnel", "openai", base_url="http://127.0.0.1:9/v1", remote=True)
    assert forced.remote is True


@pytest.mark.parametrize(
    ("kind", "kwargs", "key"),
    [
        ("openai", {}, "providers.p.base_url"),
        ("scripted", {}, "providers.p.fixtures"),
        ("bedrock", {}, "providers.p.kind"),
        ("openai", {"base_url": "http://127.0.0.1/v1", "timeout_s": 0}, "providers.p.timeout_s"),
    ],
)
def test_build_provider_errors_name_the_key(kind: str, kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_provider("p", kind, **kwargs)
    assert caught.value.details["key"] == key
    assert key.rsplit(".", 1)[1] in str(caught.value)
