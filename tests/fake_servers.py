"""Real HTTP servers on loopback that speak the OpenAI and Anthropic wire formats, scripted per test.

Each server runs its own asyncio loop in a thread, so sync tests, async tests and benchmarks can
all use it, and a delayed answer holds no thread. Usage::

    with FakeOpenAIServer() as server:              # or `async with`; or the conftest fixtures
        provider = OpenAIProvider("main", base_url=server.base_url, api_key="k")
        server.script(server.error(503, "overloaded"), server.answer("hi", input_tokens=3))
        ...
        assert server.request_count == 2
        assert server.requests[0].json()["model"] == "gpt-4o-2024-08-06"

Replies queued with `script` are used in order, one per request to a wire endpoint; when the
queue is empty, `respond_with`'s handler answers, else a well-formed answer echoing the
requested model with `default_text`. A request to any other path gets a wire-shaped 404.

Both servers accept native tool calling: `tools` in the request, the tool-call turns of a
conversation, and `tool_call_answer(...)` to answer with tool calls. They refuse (400, as the real
APIs do) a request whose tool turns break the wire rules: an unanswered or unknown call id, a tool
answer out of place, an ill-formed tool.

The OpenAI server also answers POST /v1/embeddings (same script queue, same faults); by default
with `FakeOpenAIServer.embedding(text)`, a hashed bag of words, so texts sharing most words get
similar vectors and texts sharing none do not.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import http
import itertools
import json
import math
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = [
    "FakeAnthropicServer",
    "FakeOpenAIServer",
    "FakeServer",
    "ReceivedRequest",
    "Reply",
    "http_date",
    "refused_url",
]


@dataclass
class Reply:
    """What the server answers to one request."""

    status: int = 200
    json: Any = None  # the body, encoded as JSON
    body: bytes | str | None = None  # a raw body instead (malformed answers)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # wait this long first (a timeout when longer than the client's)
    close: bool = False  # drop the connection without answering


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    connection: int = 0  # which TCP connection carried it, numbered from 1 (keep-alive shows as reuse)

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[ReceivedRequest], Reply]


def http_date(seconds_from_now: float) -> str:
    """An HTTP date (for Retry-After) this many seconds from now."""
    import time

    return formatdate(time.time() + seconds_from_now, usegmt=True)


def refused_url(path: str = "") -> str:
    """A loopback URL on a port nothing listens on: connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def _estimate(text: str) -> int:
    return -(-len(text) // 4)


class FakeServer:
    """The transport, recording and scripting; subclasses give the wire format."""

    endpoint = "/"
    # Further paths served with the same script queue and faults (the default answer is the subclass's).
    extra_endpoints: tuple[str, ...] = ()

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, default_text: str = "ok") -> None:
        self.host = host
        self.port = port
        self.default_text = default_text
        self._lock = threading.Lock()
        self._queue: deque[Reply | Handler] = deque()
        self._handler: Handler | None = None
        self._received: list[ReceivedRequest] = []
        self._ids = itertools.count(1)
        self._connections = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._startup_error: BaseException | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name=type(self).__name__, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start")
        if self._startup_error is not None:
            raise self._startup_error
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What a provider is configured with."""
        return self.url

    # -- scripting and recording ---------------------------------------------------------------

    def script(self, *replies: Reply | Handler) -> None:
        """Queue replies (or per-request handlers) for the next requests, in order."""
        with self._lock:
            self._queue.extend(replies)

    def respond_with(self, handler: Handler | None) -> None:
        """Answer every request with `handler` once the script is used up (None: the default answer)."""
        self._handler = handler

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._received.clear()
        self._handler = None

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._received)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._received)

    @property
    def last_request(self) -> ReceivedRequest:
        with self._lock:
            return self._received[-1]

    # -- the wire format (subclasses) ------------------------------------------------------------

    def answer(self, text: str, **kwargs: Any) -> Reply:
        raise NotImplementedError

    def error(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> Reply:
        raise NotImplementedError

    def tool_problem(self, body: dict[str, Any]) -> str | None:
        """Why a chat request's tools or tool turns break the wire rules (None: they do not)."""
        return None

    def _default(self, request: ReceivedRequest) -> Reply:
        try:
            body = request.json()
            model = body["model"]
            prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
            prompt += str(body.get("system", ""))
        except (ValueError, KeyError, TypeError, AttributeError):
            return self.error(400, "the request body is not a valid request")
        return self.answer(self.default_text, model=model, input_tokens=max(1, _estimate(prompt)))

    def next_id(self) -> int:
        return next(self._ids)

    # -- the server ------------------------------------------------------------------------------

    def _reply_for(self, request: ReceivedRequest) -> Reply:
        with self._lock:
            self._received.append(request)
            if request.path.split("?", 1)[0] not in (self.endpoint, *self.extra_endpoints):
                return self.error(404, f"no route for {request.method} {request.path}")
            if request.path.split("?", 1)[0] == self.endpoint:
                try:
                    body = request.json()
                except ValueError:
                    body = None
                problem = self.tool_problem(body) if isinstance(body, dict) else None
                if problem is not None:
                    return self.error(400, problem)
            scripted = self._queue.popleft() if self._queue else None
        if scripted is None:
            scripted = self._handler or self._default
        return scripted if isinstance(scripted, Reply) else scripted(request)

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(ready))
        except BaseException as exc:  # noqa: BLE001 - reported to start() in the test's thread
            self._startup_error = exc
            ready.set()
        finally:
            loop.close()

    async def _main(self, ready: threading.Event) -> None:
        self._stopping = asyncio.Event()
        connections: set[asyncio.Task[None]] = set()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            connections.add(task)
            try:
                await self._connection(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                pass
            except asyncio.CancelledError:
                # Only stop() cancels; ending quietly keeps asyncio from logging each open connection.
                pass
            finally:
                connections.discard(task)
                writer.close()

        server = await asyncio.start_server(serve, self.host, self.port)
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        await self._stopping.wait()
        server.close()
        for task in list(connections):
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        with contextlib.suppress(Exception):
            await server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = next(self._connections)
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # the client closed its keep-alive connection
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            body = await reader.readexactly(length) if length else b""
            reply = self._reply_for(ReceivedRequest(method, target, headers, body, connection))
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)
            if reply.close:
                return
            writer.write(_encode(reply))
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                return


def _encode(reply: Reply) -> bytes:
    if reply.body is not None:
        payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
        content_type = "text/plain; charset=utf-8"
    else:
        payload = json.dumps(reply.json).encode() if reply.json is not None else b""
        content_type = "application/json"
    try:
        reason = http.HTTPStatus(reply.status).phrase
    except ValueError:
        reason = "Unknown"
    headers = {"content-type": content_type, **{k.lower(): v for k, v in reply.headers.items()}}
    headers["content-length"] = str(len(payload))
    lines = [f"HTTP/1.1 {reply.status} {reason}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


class FakeOpenAIServer(FakeServer):
    """POST /v1/chat/completions and /v1/embeddings, answered in the OpenAI formats."""

    endpoint = "/v1/chat/completions"
    embeddings_endpoint = "/v1/embeddings"
    extra_endpoints = (embeddings_endpoint,)
    embedding_dims = 64

    @classmethod
    def embedding(cls, text: str) -> list[float]:
        """A deterministic unit vector: each lower-cased word hashed into one of `embedding_dims` dimensions."""
        vector = [0.0] * cls.embedding_dims
        for word in re.findall(r"\w+", text.lower()):
            value = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "big")
            vector[value % cls.embedding_dims] += 1.0 if value & 1 else -1.0
        norm = math.sqrt(sum(x * x for x in vector))
        return [x / norm for x in vector] if norm else vector

    @staticmethod
    def embeddings_body(
        vectors: list[list[float]], *, model: str = "text-embedding-3-small", input_tokens: int = 8
    ) -> dict[str, Any]:
        """An embeddings list body."""
        return {
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
            "model": model,
            "usage": {"prompt_tokens": input_tokens, "total_tokens": input_tokens},
        }

    def embed_answer(self, vectors: list[list[float]], **kwargs: Any) -> Reply:
        """A 200 embeddings list; keyword arguments as for `embeddings_body`."""
        return Reply(json=self.embeddings_body(vectors, **kwargs))

    def _default(self, request: ReceivedRequest) -> Reply:
        if request.path.split("?", 1)[0] != self.embeddings_endpoint:
            return super()._default(request)
        try:
            body = request.json()
            model = body["model"]
            texts = body["input"]
            texts = [texts] if isinstance(texts, str) else list(texts)
            if not all(isinstance(t, str) for t in texts):
                raise TypeError("input")
        except (ValueError, KeyError, TypeError):
            return self.error(400, "the request body is not a valid embeddings request")
        vectors = [self.embedding(t) for t in texts]
        return self.embed_answer(vectors, model=model, input_tokens=sum(max(1, _estimate(t)) for t in texts))

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    @staticmethod
    def completion(
        text: str | None,
        *,
        model: str = "gpt-4o-2024-08-06",
        input_tokens: int = 10,
        output_tokens: int | None = None,
        cached_tokens: int | None = None,
        finish_reason: str = "stop",
        id: str = "chatcmpl-fake",
    ) -> dict[str, Any]:
        """A chat.completion body."""
        usage: dict[str, Any] = {
            "prompt_tokens": input_tokens,
            "completion_tokens": _estimate(text or "") if output_tokens is None else output_tokens,
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if cached_tokens is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": cached_tokens}
        return {
            "id": id,
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "finish_reason": finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": usage,
        }

    def answer(self, text: str, **kwargs: Any) -> Reply:
        """A 200 chat.completion; keyword arguments as for `completion`."""
        kwargs.setdefault("id", f"chatcmpl-fake-{self.next_id()}")
        return Reply(json=self.completion(text, **kwargs))

    def tool_call_answer(self, *calls: tuple[str, dict[str, Any]], text: str | None = None, **kwargs: Any) -> Reply:
        """A 200 chat.completion asking for tool calls, each (name, arguments); keywords as for `completion`."""
        kwargs.setdefault("id", f"chatcmpl-fake-{self.next_id()}")
        kwargs.setdefault("output_tokens", 15)
        body = self.completion(text, finish_reason="tool_calls", **kwargs)
        body["choices"][0]["message"]["tool_calls"] = [
            {
                "id": f"call_{self.next_id()}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            for name, arguments in calls
        ]
        return Reply(json=body)

    def tool_problem(self, body: dict[str, Any]) -> str | None:
        tools = body.get("tools")
        if tools is not None:
            for tool in tools if isinstance(tools, list) else [None]:
                function = tool.get("function") if isinstance(tool, dict) else None
                if (
                    not isinstance(function, dict)
                    or tool.get("type") != "function"
                    or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", str(function.get("name")))
                    or not isinstance(function.get("parameters"), dict)
                ):
                    return f"Invalid value for 'tools': {tool!r:.80}"
            if body.get("tool_choice") not in (None, "auto", "none", "required"):
                return "Invalid value for 'tool_choice'"
        pending: list[str] = []  # call ids of the last assistant turn still to be answered
        for index, message in enumerate(body.get("messages") or []):
            if not isinstance(message, dict):
                return f"messages[{index}] is not an object"
            role = message.get("role")
            if role == "tool":
                if message.get("tool_call_id") not in pending:
                    return (
                        f"messages[{index}]: messages with role 'tool' must be a response to a preceding "
                        "message with 'tool_calls'"
                    )
                pending.remove(message["tool_call_id"])
                continue
            if pending:
                return f"messages[{index}]: tool_call_ids did not have response messages: {', '.join(pending)}"
            for call in message.get("tool_calls") or [] if role == "assistant" else []:
                function = call.get("function") if isinstance(call, dict) else None
                if (
                    not isinstance(function, dict)
                    or call.get("type") != "function"
                    or not isinstance(call.get("id"), str)
                    or not isinstance(function.get("arguments"), str)
                ):
                    return f"messages[{index}].tool_calls: invalid tool call {call!r:.80}"
                pending.append(call["id"])
        return None

    def error(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> Reply:
        kind = {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status, "invalid_request_error")
        body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
        return Reply(status=status, json=body, headers=dict(headers or {}))


class FakeAnthropicServer(FakeServer):
    """POST /v1/messages, answered in the Anthropic messages format."""

    endpoint = "/v1/messages"

    @staticmethod
    def message(
        text: str,
        *,
        model: str = "claude-3-5-sonnet-20241022",
        input_tokens: int = 10,
        output_tokens: int | None = None,
        cache_read_input_tokens: int = 0,
        cache_creation_input_tokens: int = 0,
        stop_reason: str = "end_turn",
        id: str = "msg_fake",
    ) -> dict[str, Any]:
        """A messages API body."""
        return {
            "id": id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "output_tokens": _estimate(text) if output_tokens is None else output_tokens,
                "cache_read_input_tokens": cache_read_input_tokens,
                "cache_creation_input_tokens": cache_creation_input_tokens,
            },
        }

    def answer(self, text: str, **kwargs: Any) -> Reply:
        """A 200 message; keyword arguments as for `message`."""
        kwargs.setdefault("id", f"msg_fake_{self.next_id()}")
        return Reply(json=self.message(text, **kwargs))

    def tool_call_answer(self, *calls: tuple[str, dict[str, Any]], text: str = "", **kwargs: Any) -> Reply:
        """A 200 message asking for tool calls (tool_use blocks), each (name, arguments); keywords as for `message`."""
        kwargs.setdefault("id", f"msg_fake_{self.next_id()}")
        kwargs.setdefault("output_tokens", 15)
        body = self.message(text, stop_reason="tool_use", **kwargs)
        if not text:
            body["content"] = []
        body["content"] += [
            {"type": "tool_use", "id": f"toolu_{self.next_id():04d}", "name": name, "input": arguments}
            for name, arguments in calls
        ]
        return Reply(json=body)

    def tool_problem(self, body: dict[str, Any]) -> str | None:
        tools = body.get("tools")
        if tools is not None:
            for tool in tools if isinstance(tools, list) else [None]:
                schema = tool.get("input_schema") if isinstance(tool, dict) else None
                if (
                    not isinstance(schema, dict)
                    or schema.get("type") != "object"
                    or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", str(tool.get("name")))
                ):
                    return f"tools: invalid tool {tool!r:.80}"
        asked: list[str] = []  # tool_use ids of the previous assistant turn
        used = False
        for index, message in enumerate(body.get("messages") or []):
            if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
                return f"messages.{index}.role: Input should be 'user' or 'assistant'"
            content = message.get("content")
            blocks = content if isinstance(content, list) else []
            kinds = [b.get("type") if isinstance(b, dict) else None for b in blocks]
            results = [b.get("tool_use_id") for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
            if message["role"] == "user":
                if sorted(results) != sorted(asked):
                    return (
                        f"messages.{index}: tool_use ids were found without tool_result blocks immediately after "
                        "(or a tool_result answers no tool_use of the previous message)"
                    )
                if kinds[: len(results)] != ["tool_result"] * len(results):
                    return f"messages.{index}: tool_result blocks must come first in the user message"
                asked = []
            else:
                if asked:
                    return f"messages.{index}: tool_use ids were found without tool_result blocks immediately after"
                if "tool_result" in kinds:
                    return f"messages.{index}: tool_result blocks belong in user messages"
                asked = [b["id"] for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"]
            used = used or bool(results) or bool(asked)
        if used and not tools:
            return "Requests which include `tool_use` or `tool_result` blocks must define tools."
        return None

    def error(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> Reply:
        kind = {
            401: "authentication_error",
            404: "not_found_error",
            429: "rate_limit_error",
            529: "overloaded_error",
        }.get(status, "api_error" if status >= 500 else "invalid_request_error")
        body = {"type": "error", "error": {"type": kind, "message": message}}
        return Reply(status=status, json=body, headers=dict(headers or {}))


class WebhookReceiver:
    """A local alert-webhook receiver recording every POST (body, lower-cased headers); it answers `status`,
    after `hold` is set when given."""

    def __init__(self, status: int = 204, hold: threading.Event | None = None) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.arrived = threading.Event()
        received, arrived = self.received, self.arrived

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                received.append((body, {k.lower(): v for k, v in self.headers.items()}))
                arrived.set()
                if hold is not None:
                    hold.wait(60)
                self.send_response(status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: the stdlib would print every request to stderr."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/keel"

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} posts, expected {count}"
            time.sleep(0.02)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
