"""Native tool calling through the providers' own client code and the gateway: wire formats, hashing, caching, routing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fake_servers import FakeAnthropicServer, FakeOpenAIServer

from keel.engine.ports import LlmRequest
from keel.errors import AllModelsFailed, ConfigError, MalformedResponse, ProviderRequestError
from keel.gateway.config import GatewayConfig
from keel.gateway.gateway import Gateway, request_hash
from keel.gateway.providers import (
    AnthropicProvider,
    OpenAIProvider,
    ScriptedProvider,
    ToolChatRequest,
    ToolChatResponse,
    ToolMessage,
)
from keel.gateway.types import ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, Message

KEY = "sk-keeltest-SECRET-0123456789abcdef"
GPT = "gpt-4o-2024-08-06"
CLAUDE = "claude-3-5-sonnet-20241022"
LOOKUP = {
    "name": "lookup_order",
    "description": "Look up an order by its id.",
    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
}
# A conversation after one tool call: the call, its answer, and Keel's word on it.
CONVERSATION = (
    Message("system", "You answer questions about orders."),
    Message("user", "Where is A1?"),
    ToolMessage(
        "assistant", "", tool_calls=({"id": "call_7", "name": "lookup_order", "arguments": {"order_id": "A1"}},)
    ),
    ToolMessage("tool", "shipped", tool_call_id="call_7", name="lookup_order"),
    Message("user", "Answer briefly."),
)


def tool_request(model: str, *messages: Message) -> ToolChatRequest:
    return ToolChatRequest(model=model, messages=messages or (Message("user", "Where is A1?"),), tools=(LOOKUP,))


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


# -- OpenAI ---------------------------------------------------------------------------------------


async def test_openai_offers_tools_and_reads_tool_calls(
    openai: OpenAIProvider, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(
        openai_server.tool_call_answer(("lookup_order", {"order_id": "A1"}), ("lookup_order", {"order_id": "B2"}))
    )
    response = await openai.chat(tool_request(GPT))
    sent = openai_server.last_request.json()
    assert sent["tools"] == [{"type": "function", "function": LOOKUP}] and sent["tool_choice"] == "auto"
    assert isinstance(response, ToolChatResponse) and response.text == "" and response.finish_reason == "tool_calls"
    assert [(c["name"], c["arguments"]) for c in response.tool_calls] == [
        ("lookup_order", {"order_id": "A1"}),
        ("lookup_order", {"order_id": "B2"}),
    ]
    assert all(c["id"].startswith("call_") for c in response.tool_calls)


async def test_openai_sends_the_tool_turns_of_a_conversation(
    openai: OpenAIProvider, openai_server: FakeOpenAIServer
) -> None:
    await openai.chat(tool_request(GPT, *CONVERSATION))  # the fake refuses ill-placed tool turns with a 400
    messages = openai_server.last_request.json()["messages"]
    assert messages[2:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_7",
                    "type": "function",
                    "function": {"name": "lookup_order", "arguments": '{"order_id": "A1"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_7", "content": "shipped"},
        {"role": "user", "content": "Answer briefly."},
    ]


async def test_openai_tool_call_arguments_that_are_not_an_object_are_malformed(
    openai: OpenAIProvider, openai_server: FakeOpenAIServer
) -> None:
    reply = openai_server.tool_call_answer(("lookup_order", {}))
    assert reply.json is not None
    reply.json["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = "[1, 2"
    openai_server.script(reply)
    with pytest.raises(MalformedResponse, match="not JSON"):
        await openai.chat(tool_request(GPT))


async def test_openai_fake_refuses_an_unanswered_tool_call(openai: OpenAIProvider) -> None:
    with pytest.raises(ProviderRequestError, match="did not have response messages"):
        await openai.chat(tool_request(GPT, *CONVERSATION[:3], Message("user", "Well?")))


# -- Anthropic ------------------------------------------------------------------------------------


async def test_anthropic_offers_tools_and_reads_tool_use(
    anthropic: AnthropicProvider, anthropic_server: FakeAnthropicServer
) -> None:
    anthropic_server.script(anthropic_server.tool_call_answer(("lookup_order", {"order_id": "A1"}), text="Looking."))
    response = await anthropic.chat(tool_request(CLAUDE))
    sent = anthropic_server.last_request.json()
    assert sent["tools"] == [
        {"name": "lookup_order", "description": LOOKUP["description"], "input_schema": LOOKUP["parameters"]}
    ]
    assert (
        isinstance(response, ToolChatResponse) and response.text == "Looking." and response.finish_reason == "tool_use"
    )
    (call,) = response.tool_calls
    assert (
        call["name"] == "lookup_order" and call["arguments"] == {"order_id": "A1"} and call["id"].startswith("toolu_")
    )


async def test_anthropic_sends_tool_use_and_one_user_turn_of_tool_results(
    anthropic: AnthropicProvider, anthropic_server: FakeAnthropicServer
) -> None:
    await anthropic.chat(tool_request(CLAUDE, *CONVERSATION))  # the fake refuses misplaced tool_result blocks
    sent = anthropic_server.last_request.json()
    assert sent["system"] == "You answer questions about orders."
    assert sent["messages"] == [
        {"role": "user", "content": "Where is A1?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "call_7", "name": "lookup_order", "input": {"order_id": "A1"}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_7", "content": "shipped"},
                {"type": "text", "text": "Answer briefly."},
            ],
        },
    ]


async def test_anthropic_plain_requests_keep_their_shape(
    anthropic: AnthropicProvider, anthropic_server: FakeAnthropicServer
) -> None:
    response = await anthropic.chat(ChatRequest(model=CLAUDE, messages=(Message("user", "a"), Message("user", "b"))))
    sent = anthropic_server.last_request.json()
    assert "tools" not in sent and sent["messages"] == [
        {"role": "user", "content": "a"},
        {"role": "user", "content": "b"},
    ]
    assert type(response) is ChatResponse


# -- scripted -------------------------------------------------------------------------------------


async def test_scripted_tool_call_fixtures() -> None:
    provider = ScriptedProvider(
        "s",
        responses=[
            {"tool_call": {"name": "lookup_order", "arguments": {"order_id": "A1"}}, "times": 2},
            {"text": "done"},
        ],
    )
    response = await provider.chat(tool_request("m"))
    assert isinstance(response, ToolChatResponse) and response.text == ""
    assert [(c["name"], c["arguments"]) for c in response.tool_calls] == [("lookup_order", {"order_id": "A1"})]
    # Offered no tools, the model can only write: the call is its JSON text.
    plain = await provider.chat(ChatRequest(model="m", messages=(Message("user", "hi"),)))
    assert type(plain) is ChatResponse and json.loads(plain.text) == {
        "name": "lookup_order",
        "arguments": {"order_id": "A1"},
    }
    assert (await provider.chat(tool_request("m"))).text == "done"


@pytest.mark.parametrize(
    "bad", [{"name": ""}, {"arguments": {}}, {"name": "x", "arguments": []}, [], {"name": "x", "other": 1}]
)
def test_scripted_bad_tool_call_fixture_is_a_config_error(bad: Any) -> None:
    with pytest.raises(ConfigError, match="tool_call"):
        ScriptedProvider("s", responses=[{"tool_call": bad}])


# -- the gateway ----------------------------------------------------------------------------------


def test_the_request_hash_covers_tools_and_is_unchanged_without_them() -> None:
    plain = LlmRequest(messages=[{"role": "user", "content": "hi"}])
    assert request_hash("t", plain) == request_hash("t", LlmRequest(messages=[{"role": "user", "content": "hi"}]))
    offered = LlmRequest(messages=plain.messages, tools=[LOOKUP])
    other = LlmRequest(messages=plain.messages, tools=[{**LOOKUP, "description": "Something else."}])
    assert len({request_hash("t", plain), request_hash("t", offered), request_hash("t", other)}) == 3


class Textual:
    """A provider with no native tool calling."""

    kind = "textual"
    name = "textual"
    remote = False

    def __init__(self) -> None:
        self.requests: list[ChatRequest] = []

    async def chat(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        return ChatResponse(text="plain", model=request.model, input_tokens=1, output_tokens=1)

    async def embed(self, request: EmbedRequest) -> EmbedResponse:
        raise NotImplementedError("this fake provider only chats: no route in these tests embeds")

    async def aclose(self) -> None:
        pass


def gateway(primary: str, *fallbacks: str, cache: bool = False) -> tuple[Gateway, ScriptedProvider, Textual]:
    config = GatewayConfig.from_dict(
        {
            "providers": {"script": {"kind": "scripted"}, "text": {"kind": "scripted"}},
            "models": {
                "scripted-2025-01-01": {"provider": "script", "input_usd_per_mtok": 1.0, "output_usd_per_mtok": 1.0},
                "textual-2025-01-01": {"provider": "text", "input_usd_per_mtok": 1.0, "output_usd_per_mtok": 1.0},
            },
            "routes": {
                "agent": {"primary": primary, "fallbacks": list(fallbacks), **({"cache_ttl_s": 60} if cache else {})}
            },
        }
    )
    scripted = ScriptedProvider(
        "script", responses=[{"tool_call": {"name": "lookup_order", "arguments": {"order_id": "A1"}}}]
    )
    textual = Textual()
    return Gateway(config, providers={"script": scripted, "text": textual}), scripted, textual


async def test_the_gateway_returns_tool_calls_and_knows_which_routes_can_make_them() -> None:
    gw, scripted, _ = gateway("scripted-2025-01-01")
    assert gw.supports_tools("agent") and not gw.supports_tools("missing")
    result = await gw.complete("agent", LlmRequest(messages=[{"role": "user", "content": "A1?"}], tools=[LOOKUP]))
    assert result.tool_calls == [{"id": "call_1_0", "name": "lookup_order", "arguments": {"order_id": "A1"}}]
    (sent,) = scripted.requests
    assert isinstance(sent, ToolChatRequest) and sent.tools == (LOOKUP,)
    # Without tools, the same fixture is text and no tool call comes back.
    plain = await gw.complete("agent", LlmRequest(messages=[{"role": "user", "content": "A1?"}]))
    assert plain.tool_calls is None and "lookup_order" in plain.text


async def test_a_model_without_native_tool_calling_is_skipped_for_a_request_with_tools() -> None:
    gw, _, textual = gateway("textual-2025-01-01", "scripted-2025-01-01")
    assert not gw.supports_tools("agent")
    result = await gw.complete("agent", LlmRequest(messages=[{"role": "user", "content": "A1?"}], tools=[LOOKUP]))
    assert result.tool_calls and [(d["model"], d["outcome"]) for d in result.decisions] == [
        ("textual-2025-01-01", "skipped"),
        ("scripted-2025-01-01", "ok"),
    ]
    assert not textual.requests
    gw, _, _ = gateway("textual-2025-01-01")
    with pytest.raises(AllModelsFailed, match="no native tool calling"):
        await gw.complete("agent", LlmRequest(messages=[{"role": "user", "content": "A1?"}], tools=[LOOKUP]))


async def test_tool_turns_reach_a_model_as_text_when_no_tools_are_offered() -> None:
    gw, _, textual = gateway("textual-2025-01-01")
    messages = [
        {"role": "user", "content": "A1?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "c", "name": "lookup_order", "arguments": {"order_id": "A1"}}],
        },
        {"role": "tool", "name": "lookup_order", "tool_call_id": "c", "content": "shipped"},
    ]
    await gw.complete("agent", LlmRequest(messages=messages))
    (sent,) = textual.requests
    assert [type(m) for m in sent.messages] == [Message, Message, Message]
    assert [m.role for m in sent.messages] == ["user", "assistant", "user"] and "lookup_order" in sent.messages[
        1
    ].content


async def test_a_cached_answer_keeps_its_tool_calls(tmp_path: Any) -> None:
    from keel.store import open_store

    config_gw, scripted, _ = gateway("scripted-2025-01-01", cache=True)
    store = open_store(f"sqlite:///{tmp_path / 'keel.db'}")
    gw = Gateway(config_gw.config, store=store, providers={"script": scripted, "text": Textual()})
    request = LlmRequest(messages=[{"role": "user", "content": "A1?"}], tools=[LOOKUP])
    first = await gw.complete("agent", request)
    again = await gw.complete("agent", request)
    assert again.cached and again.tool_calls == first.tool_calls and len(scripted.requests) == 1
    await gw.aclose()
    store.close()
