"""What a model call is, whichever provider serves it (its failures are in keel.errors)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    role: str  # system | user | assistant
    content: str


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion, already resolved to a concrete model of a provider."""

    model: str
    messages: tuple[Message, ...]
    max_tokens: int = 1024
    temperature: float | None = None
    # A JSON Schema the answer must follow; providers with a JSON-schema mode use it.
    json_schema: dict[str, Any] | None = None
    timeout_s: float = 60.0


@dataclass(frozen=True)
class ChatResponse:
    text: str
    model: str  # the model the provider says answered
    input_tokens: int
    output_tokens: int
    finish_reason: str | None = None
    response_id: str | None = None
    cached_input_tokens: int = 0
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class EmbedRequest:
    """Texts to embed with one embedding model of a provider (the semantic cache's keys)."""

    model: str
    texts: tuple[str, ...]
    timeout_s: float = 60.0


@dataclass(frozen=True)
class EmbedResponse:
    vectors: list[list[float]]  # one per text, in the request's order
    input_tokens: int
    model: str  # the model the provider says answered


class Provider(Protocol):
    """A model provider spoken to through its own wire protocol."""

    name: str
    kind: str  # openai | anthropic | scripted
    remote: bool  # False only for providers on this machine (local-only PII routes)

    async def chat(self, request: ChatRequest) -> ChatResponse: ...

    async def embed(self, request: EmbedRequest) -> EmbedResponse: ...

    async def aclose(self) -> None: ...
