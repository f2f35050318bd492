"""The tools an App registered, and how one call of one of them runs: validated, credentialed, sandboxed.

The engine reaches it through the `ToolRunner` port: `ctx.tool` checks the workflow's allowlist
and journals the call as a step `tool:<name>`; this module does the rest of each attempt.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from keel.config import ToolSettings
from keel.engine.ports import CallScope
from keel.engine.registry import origin
from keel.engine.retry import RetryPolicy
from keel.errors import ToolError, UsageError
from keel.observe import tool_call
from keel.store import Store
from keel.tools.contract import ToolSpec
from keel.tools.credentials import CredentialBroker
from keel.tools.sandbox import Sandbox, SandboxLimits, ToolTarget
from keel.types import Clock

log = logging.getLogger("keel.tools")

# Runs without an org still get credentials bound to one: this one.
DEFAULT_ORG = "default"
# The environment variable a sandboxed tool finds its credential in (also passed as `creds`).
CREDENTIAL_ENV = "KEEL_TOOL_CREDENTIAL"


def target_of(fn: Callable[..., Any]) -> ToolTarget:
    """Where a sandbox child finds `fn`: by module name when its file is where that name says, else by path."""
    source = inspect.getsourcefile(fn)
    if source is None:
        raise UsageError(f"tool {fn.__qualname__}: its source file cannot be found (define it in a .py file)")
    file = Path(source).resolve()
    module = fn.__module__
    if "<locals>" in fn.__qualname__:
        raise UsageError(f"tool {fn.__qualname__}: define tools at module level, so a fresh process can import them")
    parts = module.split(".")
    depth = len(parts) if file.name == "__init__.py" else len(parts) - 1
    root = file.parents[depth] if depth < len(file.parents) else None
    if module != "__main__" and root is not None:
        expected = root.joinpath(*parts)
        if file in (expected.with_suffix(".py"), expected / "__init__.py"):
            return ToolTarget(module=module, qualname=fn.__qualname__, sys_path=(str(root),))
    # A script, or a file `keel run` loaded by path: load the same file, under a name that does not
    # run its `if __name__ == "__main__":` block.
    stem = "".join(c if c.isalnum() else "_" for c in file.stem)
    return ToolTarget(
        module=f"keel_tool_{stem}", qualname=fn.__qualname__, path=str(file), sys_path=(str(file.parent),)
    )


class Toolbox:
    """Registered tools by name; runs one call of a tool (the engine's ToolRunner)."""

    def __init__(self, store: Callable[[], Store], clock: Clock, *, sandbox: Sandbox | None = None) -> None:
        self.specs: dict[str, ToolSpec] = {}
        self._store = store  # the App's store, opened only when a credential is first minted
        self.clock = clock
        self._sandbox = sandbox
        self._broker: CredentialBroker | None = None
        self._targets: dict[str, ToolTarget] = {}

    def add(self, spec: ToolSpec) -> None:
        existing = self.specs.get(spec.name)
        if existing is not None and existing.fn is not spec.fn and origin(existing.fn) != origin(spec.fn):
            raise UsageError(f"tool name {spec.name!r} is used by two functions; give one an explicit name=")
        self.specs[spec.name] = spec

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            # Cold sandboxes by default: a warm pool belongs to one long-lived event loop, which a
            # worker has (`keel worker` turns the pool on and prewarms it) and a script's
            # `run_sync` does not.
            self._sandbox = Sandbox(pool_size=0)
        return self._sandbox

    def use_pool(self, size: int) -> None:
        """Keep `size` sandboxes per tool started ahead of calls (a worker's setting)."""
        self._sandbox = Sandbox(pool_size=size)

    @property
    def broker(self) -> CredentialBroker:
        if self._broker is None:
            quota = ToolSettings.from_env().mint_quota
            self._broker = CredentialBroker(self._store(), clock=self.clock, quota=quota or None)
        return self._broker

    # -- the ToolRunner port ----------------------------------------------------------------

    def has(self, name: str) -> bool:
        return name in self.specs

    def validate(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        return self.specs[name].validate_input(args)

    def retry_policy(self, name: str) -> RetryPolicy:
        return self.specs[name].retry

    def describe(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """What a model is shown of each tool: name, description, JSON schema of its arguments."""
        return [self.specs[n].model_schema() for n in names if n in self.specs]

    async def call(self, name: str, args: dict[str, Any], *, scope: CallScope, step: int, idempotency_key: str) -> Any:
        """One attempt of a tool call: a fresh credential, the sandbox, the output checked."""
        spec = self.specs[name]
        kwargs = dict(args)
        env: dict[str, str] = {}
        if spec.wants_creds or spec.scopes:
            token = await self.broker.amint(
                spec.name,
                spec.scopes,
                org_id=scope.org_id or DEFAULT_ORG,
                run_id=scope.run_id or "",
                step=step,
                ttl_s=min(self.broker.max_ttl_s, max(self.broker.ttl_s, spec.timeout_s + 5)),
            )
            env[CREDENTIAL_ENV] = token
            if spec.wants_creds:
                kwargs["creds"] = token  # never journaled: the step records `args`, not these
        if spec.wants_idempotency_key:
            kwargs["idempotency_key"] = idempotency_key
        limits = _limits(spec)
        with tool_call(spec.name, **{"tool.sandboxed": spec.sandbox, "run.id": scope.run_id or ""}):
            result_json = await self.sandbox.call(
                self.target(spec),
                json.dumps(kwargs),
                limits=limits,
                network=spec.network,
                env=env,
                sandbox=spec.sandbox,
            )
        try:
            value = json.loads(result_json)
        except ValueError:
            raise ToolError(f"tool {spec.name!r} returned something that is not JSON", tool=spec.name) from None
        return spec.validate_output(value)

    def target(self, spec: ToolSpec) -> ToolTarget:
        found = self._targets.get(spec.name)
        if found is None:
            found = self._targets[spec.name] = target_of(spec.fn)
        return found

    async def prewarm(self) -> None:
        """Start a warm sandbox for every registered tool, so first calls do not pay the cold start."""
        for spec in self.specs.values():
            limits = _limits(spec)
            try:
                await self.sandbox.prewarm(self.target(spec), limits=limits, network=spec.network, sandbox=spec.sandbox)
            except ToolError as exc:
                log.warning(
                    "could not prewarm tool %s: %s",
                    spec.name,
                    exc.message,
                    extra={"event_type": "tool.prewarm_failed", "tool": spec.name},
                )

    async def aclose(self) -> None:
        if self._sandbox is not None:
            await self._sandbox.aclose()


def _limits(spec: ToolSpec) -> SandboxLimits:
    return SandboxLimits(timeout_s=spec.timeout_s, memory_mb=spec.memory_mb, cpu_seconds=spec.cpu_seconds)


__all__ = ["CREDENTIAL_ENV", "DEFAULT_ORG", "Toolbox", "target_of"]
