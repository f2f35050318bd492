"""Fixtures for the sandbox tests: every sandboxed test runs on a cold and on a warm (pooled) sandbox, each under
bubblewrap and under Linux namespaces; sandbox=False tests run cold and warm."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sandbox_modes import MODES, POOLING, Either, force_isolation, make_sandbox

from keel.tools.sandbox import Sandbox


@pytest.fixture(params=MODES)
async def sandbox(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Sandbox]:
    """A Sandbox whose calls run cold or warm, under the mechanism the mode names; closed afterwards."""
    pooling, isolation = request.param.split("-")
    force_isolation(monkeypatch, isolation)
    sandbox = make_sandbox(pooling)
    yield sandbox
    await sandbox.aclose()


@pytest.fixture(params=POOLING)
async def unsandboxed(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    """A Sandbox for sandbox=False calls, cold or warm (no isolation mechanism involved)."""
    sandbox = make_sandbox(request.param)
    yield sandbox
    await sandbox.aclose()


@pytest.fixture(params=[*MODES, *(f"{pooling}-unsandboxed" for pooling in POOLING)])
async def either(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Either]:
    """Every sandboxed mode (`sandbox`), and sandbox=False cold and warm."""
    pooling, isolation = request.param.split("-")
    if isolation != "unsandboxed":
        force_isolation(monkeypatch, isolation)
    sandbox = make_sandbox(pooling)
    yield Either(sandbox, isolation != "unsandboxed")
    await sandbox.aclose()
