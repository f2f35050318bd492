"""Fixtures for the sandbox tests: every test runs on a cold and on a warm (pooled) sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from needs import unavailable
from sandbox_modes import MODES, make_sandbox

from keel.tools.sandbox import Sandbox


@pytest.fixture(params=MODES)
async def any_sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    """A Sandbox whose calls run cold, or warm (served by pooled sandboxes); closed afterwards."""
    sandbox = make_sandbox(request.param)
    yield sandbox
    await sandbox.aclose()


@pytest.fixture
def sandbox(any_sandbox: Sandbox) -> Sandbox:
    """`any_sandbox`, where isolation is possible (else fail under CI, skip loudly elsewhere)."""
    if Sandbox.isolation() is None:
        unavailable(f"no process isolation here: {Sandbox.unavailable_reason()}")
    return any_sandbox
