"""Model providers, each spoken to through its own wire protocol: OpenAI chat completions, Anthropic messages, scripted.

Providers also embed texts (the semantic cache's keys): OpenAI-compatible servers through
``/embeddings``, the scripted provider with a hashed bag of words; Anthropic has no embeddings API.

Every failure is classified into the ProviderError tree, because that classification decides
whether the gateway falls back: connection errors, timeouts and 5xx are `ProviderUnavailable`,
429 is `RateLimited`, a 2xx body off-protocol is `MalformedResponse`, any other 4xx is
`ProviderRequestError` (our request was wrong; no other model will fix it).
"""

from __future__ import annotations

import abc
import asyncio
import hashlib
import ipaddress
import json
import math
import re
import time
from collections import deque
from collections.abc import AsyncGenerator, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx2

from keel.errors import (
    ConfigError,
    MalformedResponse,
    ProviderError,
    ProviderRequestError,
    ProviderUnavailable,
    RateLimited,
)
from keel.gateway.types import ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, Message, Provider
from keel.observe.redact import scrub

ANTHROPIC_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"
# How much of a provider's own error message an exception carries.
ERROR_MESSAGE_LIMIT = 300
# The scripted provider's embeddings: this many dimensions, each word hashed into one of them.
SCRIPTED_EMBEDDING_DIMS = 256
# Generous pool: at 32+ calls in flight a small keep-alive pool would open and drop connections per call.
_LIMITS = httpx2.Limits(max_connections=1000, max_keepalive_connections=100, keepalive_expiry=30.0)

__all__ = [
    "ANTHROPIC_BASE_URL",
    "AnthropicProvider",
    "OpenAIProvider",
    "ScriptedProvider",
    "ToolChatRequest",
    "ToolChatResponse",
    "ToolMessage",
    "build_provider",
    "estimate_tokens",
    "hashed_embedding",
    "is_loopback_url",
    "parse_retry_after",
]

# What a provider call is about, for its errors: a chat or an embedding request (both name a model).
_Request = ChatRequest | EmbedRequest


# Native tool calling extends the wire types of keel.gateway.types by subclassing, so that every
# provider and caller that knows nothing of tools keeps working with the plain ones.
@dataclass(frozen=True)
class ToolMessage(Message):
    """A turn of a native tool-calling exchange: the model's calls, or the answer to one of them."""

    # On an assistant turn: [{"id", "name", "arguments": {...}}].
    tool_calls: tuple[dict[str, Any], ...] = ()
    # On a tool turn: the call it answers, and the tool's name.
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class ToolChatRequest(ChatRequest):
    """A chat request that offers the model tools to call: [{"name", "description", "parameters"}]."""

    tools: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ToolChatResponse(ChatResponse):
    """An answer that may ask for tool calls: [{"id", "name", "arguments": {...}}], in order."""

    tool_calls: tuple[dict[str, Any], ...] = ()


def _chat_response(calls: list[dict[str, Any]], **fields: Any) -> ChatResponse:
    # Plain when no tool was called: an answer is the same value whether or not tools were offered.
    return ToolChatResponse(tool_calls=tuple(calls), **fields) if calls else ChatResponse(**fields)


def _tools_of(request: ChatRequest) -> tuple[dict[str, Any], ...]:
    return request.tools if isinstance(request, ToolChatRequest) else ()


def is_loopback_url(url: str) -> bool:
    """Whether the URL's host is this machine (127.0.0.0/8, ::1 or localhost)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        # An HTTP date is an absolute time, so this one comparison with the wall clock is the point.
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _retry_after(headers: httpx2.Headers) -> float | None:
    # OpenAI sends the finer retry-after-ms alongside Retry-After; its SDK prefers it too.
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return max(0.0, value)
    return parse_retry_after(headers.get("retry-after"))


def _name(path: Iterable[str | int]) -> str:
    """``choices[0].message`` for the path ("choices", 0, "message")."""
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path).lstrip(".")


class _Path:
    """Walks a decoded JSON body, raising MalformedResponse that names the missing field."""

    def __init__(self, provider: _HTTPProvider, request: _Request, status: int) -> None:
        self._provider = provider
        self._request = request
        self._status = status

    def fail(self, what: str) -> NoReturn:
        raise self._provider._error(MalformedResponse, f"response {what}", self._request, self._status)

    def get(self, data: Any, *path: str | int) -> Any:
        current = data
        for depth, step in enumerate(path, start=1):
            if isinstance(step, int):
                if not isinstance(current, list) or len(current) <= step:
                    self.fail(f"lacks {_name(path[:depth])}")
            elif not isinstance(current, dict) or step not in current:
                self.fail(f"lacks {_name(path[:depth])}")
            current = current[step]
        return current

    def count(self, data: Any, *path: str | int, optional: bool = False) -> int:
        if optional:
            # Walked by hand, not through get(): an absent optional field is the common case
            # (vLLM, Ollama, llama.cpp), and building the exception get() raises costs ~15 us.
            value = data
            for step in path:
                if isinstance(step, int):
                    value = value[step] if isinstance(value, list) and len(value) > step else None
                else:
                    value = value.get(step) if isinstance(value, dict) else None
                if value is None:
                    return 0
        else:
            value = self.get(data, *path)
        # bool is an int subclass; a token count of `true` is off-protocol.
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            self.fail(f"has a non-count {_name(path)}: {value!r:.40}")
        return value

    def text(self, data: Any, *path: str | int) -> str | None:
        value = self.get(data, *path)
        if value is not None and not isinstance(value, str):
            self.fail(f"has a non-string {_name(path)}")
        return value

    def optional_text(self, data: Any, key: str) -> str | None:
        value = data.get(key) if isinstance(data, dict) else None
        return value if isinstance(value, str) else None


async def _close_with_loop(client: httpx2.AsyncClient) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await client.aclose()


class _HTTPProvider(abc.ABC):
    """What the OpenAI and Anthropic providers share: one pooled client, the timeout and error classification."""

    kind: str = "http"
    _endpoint: str = ""

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        api_key: str | None,
        timeout_s: float,
        remote: bool | None,
        client: httpx2.AsyncClient | None,
    ) -> None:
        if not base_url:
            raise ConfigError(f"provider {name!r} needs a base_url", key=f"providers.{name}.base_url")
        if timeout_s <= 0:
            raise ConfigError(f"provider {name!r} timeout_s must be positive", key=f"providers.{name}.timeout_s")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout_s = float(timeout_s)
        self.remote = (not is_loopback_url(self.base_url)) if remote is None else remote
        self._api_key = api_key or None
        self._url = self.base_url + self._endpoint
        self._headers = self._auth_headers(self._api_key)
        self._client = client
        # An injected client belongs to the caller, who closes it.
        self._owns_client = client is None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._closer: AsyncGenerator[None, None] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base_url={self.base_url!r}, remote={self.remote})"

    @abc.abstractmethod
    def _auth_headers(self, api_key: str | None) -> dict[str, str]: ...

    @abc.abstractmethod
    def _encode(self, request: ChatRequest) -> dict[str, Any]: ...

    @abc.abstractmethod
    def _decode(self, request: ChatRequest, data: Any, fields: _Path) -> ChatResponse: ...

    async def _http(self) -> httpx2.AsyncClient:
        if not self._owns_client:
            assert self._client is not None
            return self._client
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            # Pooled connections belong to the loop that opened them, so a provider used under a new
            # loop (a second asyncio.run) needs a client of its own.
            client = httpx2.AsyncClient(
                limits=_LIMITS,
                timeout=self.timeout_s,
                # A local provider must not be reached through an environment proxy: that would send
                # a local-only (PII) prompt off the machine.
                trust_env=self.remote,
            )
            self._client, self._client_loop = client, loop
            # The loop's shutdown_asyncgens (asyncio.run, asyncio.Runner) finalises this generator, which
            # closes the client in its own loop when nobody called aclose() before the loop ended.
            self._closer = _close_with_loop(client)
            await anext(self._closer)
        return self._client

    async def aclose(self) -> None:
        """Close the pooled client (an injected client is left to its owner)."""
        closer, loop = self._closer, self._client_loop
        self._client_loop = self._closer = None
        if not self._owns_client:
            return
        self._client = None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        # Under another loop the client's own loop has already closed it (or is gone with its sockets).
        if closer is not None and loop is running:
            await closer.aclose()

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """Send one chat request and return the parsed answer, or raise a classified ProviderError."""
        data, fields = await self._post(self._url, self._encode(request), request)
        return self._decode(request, data, fields)

    @abc.abstractmethod
    async def embed(self, request: EmbedRequest) -> EmbedResponse:
        """Embed texts, or raise a classified ProviderError."""

    async def _post(self, url: str, payload: dict[str, Any], request: _Request) -> tuple[Any, _Path]:
        """POST `payload` as JSON; the decoded 2xx body and its reader, or a classified ProviderError."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        timeout = min(request.timeout_s, self.timeout_s)
        client = await self._http()
        try:
            # httpx timeouts bound each read and write; this bounds the whole call, so a server that
            # trickles bytes cannot hold a call past its latency budget.
            async with asyncio.timeout(timeout):
                response = await client.post(url, content=body, headers=self._headers, timeout=timeout)
        except (TimeoutError, httpx2.TimeoutException):
            raise self._error(ProviderUnavailable, f"no answer within {timeout:g} s", request, None) from None
        except httpx2.TransportError as exc:
            # Not chained: the transport exception holds the request, and with it the key's header.
            raise self._error(
                ProviderUnavailable, f"connection failed ({type(exc).__name__}: {exc})", request, None
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            fields = _Path(self, request, status)
            try:
                data = json.loads(response.content)
            except (ValueError, UnicodeDecodeError):
                fields.fail("is not JSON")
            return data, fields
        message = self._provider_message(response)
        if status == 429:
            retry_after = _retry_after(response.headers)
            raise self._error(RateLimited, f"rate limited: {message}", request, status, retry_after_s=retry_after)
        # 408 is the server giving up waiting on us, a transient failure, not a wrong request.
        if status >= 500 or status == 408:
            raise self._error(ProviderUnavailable, f"HTTP {status}: {message}", request, status)
        if 400 <= status < 500:
            raise self._error(ProviderRequestError, f"rejected the request (HTTP {status}): {message}", request, status)
        raise self._error(MalformedResponse, f"unexpected HTTP {status}", request, status)

    def _provider_message(self, response: httpx2.Response) -> str:
        message: Any = None
        try:
            data = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            message = response.text
        else:
            error = data.get("error") if isinstance(data, dict) else None
            if isinstance(error, dict):
                message = error.get("message")
            elif isinstance(error, str):
                message = error
            elif isinstance(data, dict):
                message = data.get("message") or data.get("detail")
        if not isinstance(message, str) or not message.strip():
            message = response.reason_phrase or "no message"
        return self._clean(message)

    def _clean(self, text: str) -> str:
        # A 401 may echo the key it refused; the key never leaves this object.
        if self._api_key:
            text = text.replace(self._api_key, "<API_KEY>")
        return scrub(" ".join(text.split()), limit=ERROR_MESSAGE_LIMIT)

    def _error(
        self,
        cls: type[ProviderError],
        message: str,
        request: _Request,
        status: int | None,
        **extra: Any,
    ) -> ProviderError:
        details: dict[str, Any] = {"provider": self.name, "model": request.model, **extra}
        if status is not None:
            details["status"] = status
        return cls(f"{self.kind} provider {self.name!r}, model {request.model}: {self._clean(message)}", **details)


class OpenAIProvider(_HTTPProvider):
    """An OpenAI-compatible chat completions endpoint (OpenAI, vLLM, Ollama, llama.cpp, Together, Fireworks).

    `base_url` includes the API version, e.g. ``https://api.openai.com/v1`` or ``http://127.0.0.1:8001/v1``.
    A JSON schema is sent as ``response_format`` (strict json_schema mode). `input_tokens` is
    `usage.prompt_tokens`, which includes the `cached_input_tokens`.
    """

    kind = "openai"
    _endpoint = "/chat/completions"
    native_tools = True

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        api_key: str | None,
        timeout_s: float = 60.0,
        remote: bool | None = None,
        client: httpx2.AsyncClient | None = None,
    ) -> None:
        super().__init__(name, base_url=base_url, api_key=api_key, timeout_s=timeout_s, remote=remote, client=client)

    def _auth_headers(self, api_key: str | None) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        return headers

    def _encode(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [_openai_message(m) for m in request.messages],
            "max_tokens": request.max_tokens,
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": request.json_schema, "strict": True},
            }
        tools = _tools_of(request)
        if tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t["name"],
                        "description": t.get("description") or "",
                        "parameters": t["parameters"],
                    },
                }
                for t in tools
            ]
            body["tool_choice"] = "auto"
        return body

    def _decode(self, request: ChatRequest, data: Any, fields: _Path) -> ChatResponse:
        choice = fields.get(data, "choices", 0)
        # A null content is an answer with no text (a refusal, a content filter), not a broken body.
        text = fields.text(data, "choices", 0, "message", "content") or ""
        calls: list[dict[str, Any]] = []
        message = fields.get(data, "choices", 0, "message")
        listed = message.get("tool_calls") if isinstance(message, dict) else None
        if listed is not None and not isinstance(listed, list):
            fields.fail("has a non-list choices[0].message.tool_calls")
        for index in range(len(listed or ())):
            at = ("choices", 0, "message", "tool_calls", index)
            call_id = fields.text(data, *at, "id")
            name = fields.text(data, *at, "function", "name")
            raw = fields.text(data, *at, "function", "arguments")
            if not call_id or not name:
                fields.fail(f"has a tool call without id or name at {_name(at)}")
            calls.append({"id": call_id, "name": name, "arguments": _arguments(fields, raw, at)})
        return _chat_response(
            calls,
            text=text,
            model=fields.optional_text(data, "model") or request.model,
            input_tokens=fields.count(data, "usage", "prompt_tokens"),
            output_tokens=fields.count(data, "usage", "completion_tokens"),
            finish_reason=fields.optional_text(choice, "finish_reason"),
            response_id=fields.optional_text(data, "id"),
            cached_input_tokens=fields.count(data, "usage", "prompt_tokens_details", "cached_tokens", optional=True),
            raw=data,
        )

    async def embed(self, request: EmbedRequest) -> EmbedResponse:
        """POST ``{base_url}/embeddings`` (the OpenAI wire format) and return one vector per text, in order."""
        if not request.texts:
            return EmbedResponse(vectors=[], input_tokens=0, model=request.model)
        payload = {"model": request.model, "input": list(request.texts)}
        data, fields = await self._post(self.base_url + "/embeddings", payload, request)
        items = fields.get(data, "data")
        if not isinstance(items, list) or len(items) != len(request.texts):
            fields.fail(f"has no list of {len(request.texts)} embeddings in data")
        vectors: list[list[float] | None] = [None] * len(items)
        for position, item in enumerate(items):
            # `index` says which input a vector belongs to; servers may answer out of order.
            index = item.get("index", position) if isinstance(item, dict) else position
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(items):
                fields.fail(f"has a bad data[{position}].index")
            if vectors[index] is not None:
                fields.fail(f"has two embeddings for input {index}")
            vectors[index] = _vector(fields, fields.get(data, "data", position, "embedding"), position)
        found = [v for v in vectors if v is not None]
        if len({len(v) for v in found}) > 1:
            fields.fail("has embeddings of different lengths")
        usage = data.get("usage") if isinstance(data, dict) else None
        if isinstance(usage, dict) and "prompt_tokens" in usage:
            input_tokens = fields.count(data, "usage", "prompt_tokens")
        else:
            # Some OpenAI-compatible servers leave usage out of embeddings; estimate rather than fail.
            input_tokens = sum(estimate_tokens(text) for text in request.texts)
        return EmbedResponse(
            vectors=found, input_tokens=input_tokens, model=fields.optional_text(data, "model") or request.model
        )


def _vector(fields: _Path, value: Any, position: int) -> list[float]:
    if not isinstance(value, list) or not value:
        fields.fail(f"has a non-list data[{position}].embedding (a base64 encoding_format is not asked for)")
    vector: list[float] = []
    for number in value:
        # bool is an int subclass; and a NaN would make every similarity NaN.
        if not isinstance(number, int | float) or isinstance(number, bool) or not math.isfinite(number):
            fields.fail(f"has a non-number in data[{position}].embedding")
        vector.append(float(number))
    return vector


class AnthropicProvider(_HTTPProvider):
    """Anthropic's messages API.

    System messages go to the top-level ``system`` field. This API version has no JSON mode, so
    a JSON schema becomes an instruction appended to the system prompt (the gateway validates the
    answer). `input_tokens` counts every prompt token, cache reads and writes included, so that it
    means what OpenAI's `prompt_tokens` means; `cached_input_tokens` is the cache reads among them.
    """

    kind = "anthropic"
    _endpoint = "/v1/messages"
    native_tools = True

    def __init__(
        self,
        name: str,
        *,
        base_url: str = ANTHROPIC_BASE_URL,
        api_key: str | None,
        timeout_s: float = 60.0,
        remote: bool | None = None,
        client: httpx2.AsyncClient | None = None,
    ) -> None:
        super().__init__(name, base_url=base_url, api_key=api_key, timeout_s=timeout_s, remote=remote, client=client)

    def _auth_headers(self, api_key: str | None) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "anthropic-version": ANTHROPIC_VERSION,
        }
        if api_key:
            headers["x-api-key"] = api_key
        return headers

    def _encode(self, request: ChatRequest) -> dict[str, Any]:
        system = [m.content for m in request.messages if m.role == "system"]
        if request.json_schema is not None:
            system.append(json_instruction(request.json_schema))
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": _anthropic_messages(m for m in request.messages if m.role != "system"),
        }
        if system:
            body["system"] = "\n\n".join(system)
        if request.temperature is not None:
            body["temperature"] = request.temperature
        tools = _tools_of(request)
        if tools:
            body["tools"] = [
                {"name": t["name"], "description": t.get("description") or "", "input_schema": t["parameters"]}
                for t in tools
            ]
        return body

    def _decode(self, request: ChatRequest, data: Any, fields: _Path) -> ChatResponse:
        blocks = fields.get(data, "content")
        if not isinstance(blocks, list):
            fields.fail("has a non-list content")
        parts: list[str] = []
        calls: list[dict[str, Any]] = []
        for index, block in enumerate(blocks):
            if isinstance(block, dict) and block.get("type") == "text":
                parts.append(fields.text(data, "content", index, "text") or "")
            elif isinstance(block, dict) and block.get("type") == "tool_use":
                call_id = fields.text(data, "content", index, "id")
                name = fields.text(data, "content", index, "name")
                arguments = fields.get(data, "content", index, "input")
                if not call_id or not name or not isinstance(arguments, dict):
                    fields.fail(f"has a tool_use block without id, name or an input object at content[{index}]")
                calls.append({"id": call_id, "name": name, "arguments": arguments})
        cache_read = fields.count(data, "usage", "cache_read_input_tokens", optional=True)
        cache_write = fields.count(data, "usage", "cache_creation_input_tokens", optional=True)
        return _chat_response(
            calls,
            text="".join(parts),
            model=fields.optional_text(data, "model") or request.model,
            input_tokens=fields.count(data, "usage", "input_tokens") + cache_read + cache_write,
            output_tokens=fields.count(data, "usage", "output_tokens"),
            finish_reason=fields.optional_text(data, "stop_reason"),
            response_id=fields.optional_text(data, "id"),
            cached_input_tokens=cache_read,
            raw=data,
        )

    async def embed(self, request: EmbedRequest) -> EmbedResponse:
        """Always raises: Anthropic has no embeddings API (configuration refuses such an embedding_model)."""
        raise self._error(
            ProviderRequestError,
            "Anthropic has no embeddings API: serve the route's embedding_model from an openai or scripted provider",
            request,
            None,
        )


def _openai_message(message: Message) -> dict[str, Any]:
    if isinstance(message, ToolMessage) and message.tool_calls:
        return {
            "role": "assistant",
            # OpenAI's own answers with tool calls carry a null content; an empty string is refused by some servers.
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["name"], "arguments": json.dumps(call["arguments"], ensure_ascii=False)},
                }
                for call in message.tool_calls
            ],
        }
    if isinstance(message, ToolMessage) and message.tool_call_id is not None:
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    return {"role": message.role, "content": message.content}


def _anthropic_messages(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """Messages in Anthropic's shape: tool calls as tool_use blocks, their answers as tool_result blocks."""
    out: list[dict[str, Any]] = []
    for message in messages:
        blocks: list[dict[str, Any]] | None = None
        role = message.role
        if isinstance(message, ToolMessage) and message.tool_calls:
            blocks = [{"type": "text", "text": message.content}] if message.content else []
            blocks += [
                {"type": "tool_use", "id": c["id"], "name": c["name"], "input": c["arguments"]}
                for c in message.tool_calls
            ]
        elif isinstance(message, ToolMessage) and message.tool_call_id is not None:
            role = "user"
            blocks = [{"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.content}]
        previous = out[-1] if out else None
        if previous is not None and previous["role"] == role and (blocks or isinstance(previous["content"], list)):
            # Every answer to an assistant's tool calls must sit in the one user turn that follows
            # it, tool_result blocks first: consecutive turns of a tool exchange are merged.
            if isinstance(previous["content"], str):
                previous["content"] = [{"type": "text", "text": previous["content"]}]
            previous["content"] += blocks if blocks is not None else [{"type": "text", "text": message.content}]
            continue
        out.append({"role": role, "content": blocks if blocks is not None else message.content})
    return out


def _arguments(fields: _Path, raw: str | None, at: tuple[str | int, ...]) -> dict[str, Any]:
    """A tool call's arguments, sent by OpenAI as a JSON text that must hold an object."""
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        fields.fail(f"has tool call arguments that are not JSON at {_name(at)}")
    if not isinstance(value, dict):
        fields.fail(f"has tool call arguments that are not a JSON object at {_name(at)}")
    return value


def json_instruction(schema: Mapping[str, Any]) -> str:
    """The system-prompt instruction that asks a model without a JSON mode for JSON matching `schema`."""
    return (
        "Answer with one JSON value that matches this JSON Schema, and nothing else: "
        "no prose, no Markdown code fences.\n" + json.dumps(schema, ensure_ascii=False, sort_keys=True)
    )


_FIXTURE_KEYS = frozenset(
    {
        "model",
        "contains",
        "text",
        "json",
        "tool_call",
        "error",
        "message",
        "retry_after_s",
        "input_tokens",
        "output_tokens",
        "finish_reason",
        "times",
        "delay_s",
    }
)
_FIXTURE_ERRORS: dict[str, type[ProviderError]] = {
    "unavailable": ProviderUnavailable,
    "rate_limited": RateLimited,
    "malformed": MalformedResponse,
    "rejected": ProviderRequestError,
}


def estimate_tokens(text: str) -> int:
    """A deterministic token estimate: about four characters per token."""
    return -(-len(text) // 4)


_WORD = re.compile(r"\w+")


def hashed_embedding(text: str, dims: int = SCRIPTED_EMBEDDING_DIMS) -> list[float]:
    """A deterministic embedding with no model: a hashed bag of lower-cased words, L2-normalised.

    Texts sharing most words are close (cosine near 1) and texts sharing none are not (near 0),
    which is what a semantic cache needs from a test double. A text with no words is all zeros.
    """
    vector = [0.0] * dims
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        # A signed hash: collisions between unrelated words cancel out on average instead of adding up.
        vector[value % dims] += 1.0 if (value >> 63) & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else vector


class ScriptedProvider:
    """Answers from fixtures instead of a network: offline tests, the demo, replay.

    A fixture is a JSON object; the first one that matches a request (in order) answers it::

        {"model": "gpt-4o-2024-08-06",     # optional: only requests for this model
         "contains": "refund",             # optional: the last user message contains this
         "text": "Refund approved.",       # the answer, or:
         "json": {"approved": true},       #   the answer as a JSON value (sent as its JSON text), or:
         "tool_call": {"name": "lookup_order", "arguments": {"order_id": "A1"}},
                                           #   a native tool call (a list: several), or:
         "error": "rate_limited",          #   raise: unavailable | rate_limited | malformed | rejected
         "retry_after_s": 2,               # with rate_limited: the Retry-After to report
         "message": "overloaded",          # optional: the error's message
         "input_tokens": 12,               # optional; default ceil(characters of all messages / 4)
         "output_tokens": 4,               # optional; default ceil(characters of the answer / 4)
         "finish_reason": "stop",          # optional; default "stop"
         "times": 1,                       # optional: used at most this often, then skipped
         "delay_s": 0.5}                   # optional: answer after this long (past timeout_s: unavailable)

    Exactly one of ``text``, ``json``, ``tool_call`` and ``error``. A ``tool_call`` answers only
    requests that offer tools (`ToolChatRequest`); to any other it is its JSON text. `responses`
    gives fixtures in memory; `fixtures` is a ``.jsonl`` file (one fixture a line), a ``.json``
    file (one fixture or a list), or a directory of such files read in name order; `responses`
    come first. A request that no
    fixture matches raises `ProviderRequestError` (no fallback can fix a missing fixture).
    The last 10,000 requests are kept in `requests`, in order.
    """

    kind = "scripted"
    native_tools = True

    def __init__(
        self,
        name: str,
        *,
        responses: Iterable[Mapping[str, Any]] | None = None,
        fixtures: Path | str | None = None,
    ) -> None:
        self.name = name
        self.remote = False
        # Bounded: a demo worker may run for days on scripted answers.
        self.requests: deque[ChatRequest] = deque(maxlen=10_000)
        self.embed_requests: deque[EmbedRequest] = deque(maxlen=10_000)
        self._served = 0
        loaded: list[dict[str, Any]] = []
        for index, fixture in enumerate(responses or ()):
            loaded.append(_check_fixture(fixture, f"responses[{index}]"))
        if fixtures is not None:
            loaded.extend(_load_fixtures(Path(fixtures)))
        self._fixtures = loaded
        self._uses = [0] * len(loaded)

    def __repr__(self) -> str:
        return f"ScriptedProvider(name={self.name!r}, fixtures={len(self._fixtures)})"

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """Answer from the first matching fixture, or raise the error it scripts."""
        self.requests.append(request)
        self._served += 1
        index = self._match(request)
        details: dict[str, Any] = {"provider": self.name, "model": request.model}
        if index is None:
            raise ProviderRequestError(
                f"scripted provider {self.name!r} has no fixture for model {request.model}", **details
            )
        self._uses[index] += 1
        fixture = self._fixtures[index]
        delay = float(fixture.get("delay_s", 0.0))
        if delay > 0:
            await asyncio.sleep(min(delay, request.timeout_s))
            if delay > request.timeout_s:
                raise ProviderUnavailable(
                    f"scripted provider {self.name!r}: no answer within {request.timeout_s:g} s", **details
                )
        error = fixture.get("error")
        if error is not None:
            if error == "rate_limited":
                details["retry_after_s"] = fixture.get("retry_after_s")
            message = fixture.get("message") or f"scripted {error}"
            raise _FIXTURE_ERRORS[error](f"scripted provider {self.name!r}: {message}", **details)
        calls: list[dict[str, Any]] = []
        if "tool_call" in fixture:
            scripted = fixture["tool_call"]
            listed = scripted if isinstance(scripted, list) else [scripted]
            if _tools_of(request):
                calls = [
                    {"id": f"call_{self._served}_{i}", "name": c["name"], "arguments": dict(c.get("arguments") or {})}
                    for i, c in enumerate(listed)
                ]
                text = ""
            else:
                text = json.dumps(scripted, ensure_ascii=False)
        else:
            text = fixture["text"] if "text" in fixture else json.dumps(fixture["json"], ensure_ascii=False)
        prompt = sum(len(m.content) for m in request.messages)
        return _chat_response(
            calls,
            text=text,
            model=request.model,
            input_tokens=int(fixture.get("input_tokens", max(1, -(-prompt // 4)))),
            output_tokens=int(fixture.get("output_tokens", estimate_tokens(text or json.dumps(calls)))),
            finish_reason=str(fixture.get("finish_reason", "stop")),
            response_id=f"scripted-{self._served}",
            raw=dict(fixture),
        )

    async def embed(self, request: EmbedRequest) -> EmbedResponse:
        """Embed each text with `hashed_embedding`: deterministic, offline, no fixture needed."""
        self.embed_requests.append(request)
        return EmbedResponse(
            vectors=[hashed_embedding(text) for text in request.texts],
            input_tokens=sum(estimate_tokens(text) for text in request.texts),
            model=request.model,
        )

    def _match(self, request: ChatRequest) -> int | None:
        last_user = _last_user(request.messages)
        for index, fixture in enumerate(self._fixtures):
            if "model" in fixture and fixture["model"] != request.model:
                continue
            if "contains" in fixture and fixture["contains"] not in last_user:
                continue
            if "times" in fixture and self._uses[index] >= fixture["times"]:
                continue
            return index
        return None

    async def aclose(self) -> None:
        """Nothing to close."""


def _last_user(messages: Iterable[Message]) -> str:
    last = ""
    for message in messages:
        # A tool's answer is what the model reads next, as a tool turn or (without native tools) as user text.
        if message.role in ("user", "tool"):
            last = message.content
    return last


def _load_fixtures(path: Path) -> list[dict[str, Any]]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl") and p.is_file())
        return [fixture for file in files for fixture in _load_fixtures(file)]
    try:
        content = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read fixtures {path.name!r}: {exc.strerror}", key="fixtures") from None
    loaded: list[dict[str, Any]] = []
    if path.suffix == ".jsonl":
        for number, line in enumerate(content.splitlines(), start=1):
            if line.strip():
                loaded.append(_check_fixture(_parse(line, f"{path.name}:{number}"), f"{path.name}:{number}"))
        return loaded
    value = _parse(content, path.name)
    items = value if isinstance(value, list) else [value]
    return [_check_fixture(item, f"{path.name}[{index}]") for index, item in enumerate(items)]


def _parse(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"fixture {where} is not JSON: {exc}", key="fixtures") from None


def _check_fixture(fixture: Any, where: str) -> dict[str, Any]:
    if not isinstance(fixture, Mapping):
        raise ConfigError(f"fixture {where} must be a JSON object", key="fixtures")
    unknown = sorted(set(fixture) - _FIXTURE_KEYS)
    if unknown:
        raise ConfigError(f"fixture {where} has unknown keys {unknown}", key="fixtures")
    answers = [key for key in ("text", "json", "tool_call", "error") if key in fixture]
    if len(answers) != 1:
        raise ConfigError(f"fixture {where} needs exactly one of text, json, tool_call, error", key="fixtures")
    if "tool_call" in fixture:
        listed = fixture["tool_call"] if isinstance(fixture["tool_call"], list) else [fixture["tool_call"]]
        if not listed or not all(
            isinstance(c, Mapping)
            and set(c) <= {"name", "arguments"}
            and isinstance(c.get("name"), str)
            and c["name"]
            and isinstance(c.get("arguments", {}), Mapping)
            for c in listed
        ):
            raise ConfigError(
                f'fixture {where} tool_call must be {{"name": str, "arguments": {{...}}}} or a list of them',
                key="fixtures",
            )
    if "error" in fixture and fixture["error"] not in _FIXTURE_ERRORS:
        raise ConfigError(
            f"fixture {where} error must be one of {sorted(_FIXTURE_ERRORS)}, got {fixture['error']!r}",
            key="fixtures",
        )
    if "text" in fixture and not isinstance(fixture["text"], str):
        raise ConfigError(f"fixture {where} text must be a string", key="fixtures")
    for key in ("model", "contains", "message", "finish_reason"):
        if key in fixture and not isinstance(fixture[key], str):
            raise ConfigError(f"fixture {where} {key} must be a string", key="fixtures")
    for key in ("input_tokens", "output_tokens", "times"):
        value = fixture.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"fixture {where} {key} must be a non-negative integer", key="fixtures")
    for key in ("retry_after_s", "delay_s"):
        value = fixture.get(key, 0)
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool) or value < 0):
            raise ConfigError(f"fixture {where} {key} must be a non-negative number", key="fixtures")
    return dict(fixture)


def build_provider(
    name: str,
    kind: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout_s: float = 60.0,
    fixtures: Path | str | None = None,
    remote: bool | None = None,
) -> Provider:
    """The provider of a ``[providers.NAME]`` config entry; a bad entry is a ConfigError naming its key."""
    if kind == "openai":
        if not base_url:
            raise ConfigError(
                f"provider {name!r} of kind openai needs base_url (e.g. https://api.openai.com/v1)",
                key=f"providers.{name}.base_url",
            )
        return OpenAIProvider(name, base_url=base_url, api_key=api_key, timeout_s=timeout_s, remote=remote)
    if kind == "anthropic":
        return AnthropicProvider(
            name, base_url=base_url or ANTHROPIC_BASE_URL, api_key=api_key, timeout_s=timeout_s, remote=remote
        )
    if kind == "scripted":
        if fixtures is None:
            raise ConfigError(f"provider {name!r} of kind scripted needs fixtures", key=f"providers.{name}.fixtures")
        provider = ScriptedProvider(name, fixtures=fixtures)
        if remote is not None:
            provider.remote = remote
        return provider
    raise ConfigError(
        f"provider {name!r} has unknown kind {kind!r} (openai | anthropic | scripted)", key=f"providers.{name}.kind"
    )
