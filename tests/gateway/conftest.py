"""Fixtures for gateway tests: fake OpenAI and Anthropic servers on loopback, one per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_servers import FakeAnthropicServer, FakeOpenAIServer


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def anthropic_server() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server
