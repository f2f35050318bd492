"""The ways the sandbox tests run each call: cold (a sandbox started for the call: ``pool_size=0``) or warm (a
pooled sandbox that had imported its tool before the call arrived), each under both isolation mechanisms
(bubblewrap and Linux namespaces, forced through KEEL_SANDBOX_ISOLATION). Imported by the test modules
only: the tools themselves live in sandbox_tools.py, which the sandboxed child imports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from needs import unavailable

from keel.errors import ToolError
from keel.tools.sandbox import Sandbox, SandboxLimits, SandboxResult, ToolTarget

POOLING = ["cold", "warm"]
ISOLATIONS = ["bubblewrap", "namespaces"]
# "cold-bubblewrap", "warm-bubblewrap", "cold-namespaces", "warm-namespaces"
MODES = [f"{pooling}-{isolation}" for isolation in ISOLATIONS for pooling in POOLING]


def force_isolation(monkeypatch: pytest.MonkeyPatch, isolation: str) -> None:
    """Sandboxed calls use `isolation` (fail under CI, skip loudly elsewhere, when it cannot work here)."""
    monkeypatch.setenv("KEEL_SANDBOX_ISOLATION", isolation)
    if Sandbox.isolation() != isolation:
        unavailable(f"no {isolation} isolation here: {Sandbox.unavailable_reason()}")


class WarmSandbox(Sandbox):
    """Each call first waits until its pool has a sandbox ready, then checks that the call was served by it."""

    async def run(
        self,
        target: ToolTarget,
        kwargs_json: str,
        *,
        limits: SandboxLimits = SandboxLimits(),  # noqa: B008 - frozen
        network: Sequence[str] = (),
        env: Mapping[str, str] = {},  # noqa: B006 - never mutated
        sandbox: bool = True,
    ) -> SandboxResult:
        ready = await self.prewarm(target, limits=limits, network=network, sandbox=sandbox)
        # No await between prewarm's return and run's taking of the pooled sandbox: no other call can
        # take it first.
        warm_before = self.pool_stats()["warm"]
        try:
            outcome = await super().run(target, kwargs_json, limits=limits, network=network, env=env, sandbox=sandbox)
        except ToolError:
            self._check_warm(ready, warm_before)
            raise
        self._check_warm(ready, warm_before)
        return outcome

    def _check_warm(self, ready: int, warm_before: int) -> None:
        # A tool whose import fails has no ready sandbox: its calls run cold, as they should.
        if ready:
            assert self.pool_stats()["warm"] > warm_before, f"the call was not served warm: {self.pool_stats()}"


@dataclass(frozen=True)
class Either:
    """A Sandbox and whether the test's calls are sandboxed (their sandbox= argument)."""

    sandbox: Sandbox
    sandboxed: bool


def make_sandbox(pooling: str) -> Sandbox:
    """A Sandbox whose calls run "cold" or "warm"."""
    return WarmSandbox() if pooling == "warm" else Sandbox(pool_size=0)


HERE = str(Path(__file__).resolve().parent)
REPO = Path(__file__).resolve().parents[2]


def tool(name: str) -> ToolTarget:
    """A tool of sandbox_tools.py, as the sandbox finds it."""
    return ToolTarget("sandbox_tools", name, sys_path=(HERE,))
