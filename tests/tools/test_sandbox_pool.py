"""The warm pool: sandboxes started ahead of time, each serving exactly one call.

The escape tests run through pooled sandboxes too (test_sandbox_escapes.py, the "warm" variants); these
tests are about the pool itself. Each runs under bubblewrap and under Linux namespaces: a mechanism that
cannot work here fails them under CI=true and skips them loudly elsewhere.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from sandbox_modes import ISOLATIONS, POOLING, force_isolation, make_sandbox

from keel.errors import ToolError, ToolResourceLimit, ToolTimeout
from keel.tools.sandbox import RUNNER, Sandbox, SandboxLimits, ToolTarget

HERE = str(Path(__file__).resolve().parent)


@pytest.fixture(autouse=True, params=ISOLATIONS)
def isolation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    force_isolation(monkeypatch, request.param)


def pool_tool(name: str = "whoami") -> ToolTarget:
    return ToolTarget("pool_tools", name, sys_path=(HERE,))


def probe_module(tmp_path: Path) -> tuple[ToolTarget, str]:
    """pool_tools under a module name of its own, which shows in its sandboxes' command lines."""
    marker = f"pool_probe_{uuid.uuid4().hex}"
    (tmp_path / f"{marker}.py").write_text((Path(HERE) / "pool_tools.py").read_text())
    tmp_path.chmod(0o755)  # as root the tool runs as a uid of its own
    return ToolTarget(marker, "whoami", sys_path=(str(tmp_path),)), marker


def processes_matching(marker: str) -> list[tuple[int, list[str]]]:
    """Live processes with `marker` in an argument (bubblewrap's, and the runner's: it carries the tool name)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(marker in arg for arg in argv):
            found.append((int(entry), argv))
    return found


def runners(marker: str) -> list[int]:
    """The runner processes (the Python interpreter inside each sandbox), not the namespaces mechanism's
    setup processes, whose command line ends with the runner's."""
    return [pid for pid, argv in processes_matching(marker) if argv[:4] == [sys.executable, "-I", "-B", RUNNER]]


async def eventually(condition: object, what: str) -> None:
    # A hang guard, not a timing assertion: killed processes disappear asynchronously.
    assert callable(condition)
    for _ in range(300):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still not {what}")


async def test_each_call_gets_a_fresh_sandbox() -> None:
    async with Sandbox() as sandbox:
        assert await sandbox.prewarm(pool_tool()) == 1
        first = json.loads(await sandbox.call(pool_tool(), json.dumps({"write": "secret.txt"})))
        # The replacement, started when the first was taken, is ready before the second call.
        assert await sandbox.prewarm(pool_tool()) == 1
        second = json.loads(await sandbox.call(pool_tool(), "{}"))
        assert sandbox.pool_stats()["warm"] == 2
    assert first["seen"] == [] and second["seen"] == []  # the first call's file went with its sandbox
    assert first["token"] != second["token"]  # another process, which imported the module anew


async def test_a_slow_import_is_paid_ahead_of_the_call() -> None:
    target = ToolTarget("slow_import_tools", "imported_at", sys_path=(HERE,))
    # The module sleeps 1 s at import: longer than the call's timeout, which starts when the call is handed
    # over. A cold call imports during the call and times out; a warm one imported before it was made.
    limits = SandboxLimits(timeout_s=0.8)
    async with Sandbox() as sandbox:
        with pytest.raises(ToolTimeout):
            await sandbox.call(target, "{}", limits=limits)  # the first call of a target is cold...
        assert sandbox.pool_stats()["cold"] == 1
        assert await sandbox.prewarm(target, limits=limits, timeout_s=30) == 1  # ...and starts its pool
        requested = time.time()
        imported = json.loads(await sandbox.call(target, "{}", limits=limits))
        assert imported < requested
        assert sandbox.pool_stats()["warm"] == 1
        # Without a timeout in the way, a cold call imports after its request.
        async with Sandbox(pool_size=0) as cold:
            requested = time.time()
            assert json.loads(await cold.call(target, "{}")) > requested


@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "unsandboxed"])
async def test_per_call_env_reaches_the_tool_and_only_its_call(sandboxed: bool) -> None:
    async with Sandbox() as sandbox:
        for credential in ["tok-1", None, "tok-3"]:
            assert await sandbox.prewarm(pool_tool(), sandbox=sandboxed) == 1
            env = {"KEEL_TOOL_CREDENTIAL": credential} if credential else {}
            seen = json.loads(await sandbox.call(pool_tool(), "{}", env=env, sandbox=sandboxed))
            assert seen["credential"] == credential
            # The sandbox started before the call's credential existed: it never had it at import.
            assert seen["credential_at_import"] is None
        assert sandbox.pool_stats()["warm"] == 3


async def test_aclose_leaves_no_process_and_no_proxy_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target, marker = probe_module(tmp_path)
    slow = ToolTarget("slow_import_tools", "imported_at", sys_path=(HERE,))
    # A temporary directory of this test's own (short: the egress proxies' sockets live in it), so that
    # what tests running beside it create in the shared one is not counted here.
    own = tempfile.mkdtemp(prefix="kp")
    monkeypatch.setattr(tempfile, "tempdir", own)
    scratch = set(glob.glob(os.path.join(tempfile.gettempdir(), "keel-*")))
    sandbox = Sandbox(pool_size=2)
    assert await sandbox.prewarm(target) == 2
    assert await sandbox.prewarm(target, network=["127.0.0.1:9"]) == 2  # each with its egress proxy
    assert await sandbox.prewarm(target, sandbox=False) == 2
    assert await sandbox.prewarm(slow, timeout_s=0.3) == 0  # still importing (1 s) when aclose comes
    assert sandbox.pool_stats()["idle"] == 8
    assert len(runners(marker)) == 6
    created = set(glob.glob(os.path.join(tempfile.gettempdir(), "keel-*"))) - scratch
    assert len([p for p in created if "keel-egress-" in p]) == 2  # the proxies' socket directories
    assert len([p for p in created if "keel-tool-" in p]) == 2  # the unsandboxed runners' temp directories

    await sandbox.aclose()
    assert sandbox.pool_stats()["idle"] == 0
    await eventually(lambda: processes_matching(marker) == [], "gone")
    assert not any(os.path.exists(p) for p in created)
    # The sandbox still works after aclose, each call cold, leaving nothing waiting.
    assert json.loads(await sandbox.call(target, "{}"))["credential"] is None
    assert sandbox.pool_stats()["idle"] == 0
    assert processes_matching(marker) == []
    shutil.rmtree(own, ignore_errors=True)


async def test_a_pooled_sandbox_killed_while_idle(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    target, marker = probe_module(tmp_path)
    async with Sandbox() as sandbox:
        # Killed just before the call takes it: the call notices it never started and runs cold.
        assert await sandbox.prewarm(target) == 1
        [pid] = runners(marker)
        os.kill(pid, signal.SIGKILL)
        assert json.loads(await sandbox.call(target, "{}"))["credential"] is None
        stats = sandbox.pool_stats()
        assert stats["warm"] == 0 and stats["cold"] == 1 and stats["fallback"] + stats["died_idle"] == 1

        # Killed well before the next call: the pool drops it, and the call runs cold.
        assert await sandbox.prewarm(target) == 1
        [pid] = runners(marker)
        os.kill(pid, signal.SIGKILL)
        await eventually(lambda: sandbox.pool_stats()["died_idle"] >= 1 + stats["died_idle"], "noticed")
        assert sandbox.pool_stats()["idle"] == 0  # not replaced until a call shows the tool still loads
        assert json.loads(await sandbox.call(target, "{}"))["credential"] is None
        assert sandbox.pool_stats()["cold"] == 2

        # That call refilled the pool: the next one is warm again.
        assert await sandbox.prewarm(target) == 1
        await sandbox.call(target, "{}")
        assert sandbox.pool_stats()["warm"] == 1
    assert "ended before any call" in caplog.text


async def test_an_import_error_is_reported_as_before_and_the_pool_waits_for_a_fix(tmp_path: Path) -> None:
    module = tmp_path / "flaky_tools.py"
    module.write_text("raise RuntimeError('settings missing')\n")
    tmp_path.chmod(0o755)
    target = ToolTarget("flaky_tools", "whoami", sys_path=(str(tmp_path),))
    async with Sandbox() as sandbox:
        assert await sandbox.prewarm(target) == 0  # its sandbox died at import
        with pytest.raises(ToolError) as caught:
            await sandbox.call(target, "{}")
        assert caught.value.message == "could not load tool flaky_tools.whoami: RuntimeError: settings missing"
        assert "settings missing" in caught.value.details["traceback"]
        assert sandbox.pool_stats()["idle"] == 0  # no sandbox started to die the same way
        module.write_text((Path(HERE) / "pool_tools.py").read_text())  # fixed
        assert json.loads(await sandbox.call(target, "{}"))["credential"] is None  # cold; refills the pool
        assert await sandbox.prewarm(target) == 1
        await sandbox.call(target, "{}")
        assert sandbox.pool_stats()["warm"] == 1


async def test_idle_sandboxes_are_retired_and_replaced(tmp_path: Path) -> None:
    target, marker = probe_module(tmp_path)
    async with Sandbox(pool_max_idle_s=2.0) as sandbox:
        assert await sandbox.prewarm(target) == 1
        [old] = runners(marker)
        await eventually(lambda: sandbox.pool_stats()["retired"] >= 1, "retired")
        await eventually(lambda: old not in runners(marker), "gone")
        assert await sandbox.prewarm(target) == 1
        [new] = runners(marker)
        assert new != old
        assert json.loads(await sandbox.call(target, "{}"))["credential"] is None
        assert sandbox.pool_stats()["warm"] == 1


async def test_pools_are_per_call_options_and_sized_per_pool() -> None:
    async with Sandbox(pool_size=0) as sandbox:
        assert await sandbox.prewarm(pool_tool()) == 0  # pooling off
        assert await sandbox.prewarm(pool_tool(), size=2) == 2  # but this pool asked for two
        assert await sandbox.prewarm(pool_tool(), limits=SandboxLimits(memory_mb=300), size=1) == 1
        assert sandbox.pool_stats()["idle"] == 3
        tokens = {json.loads(await sandbox.call(pool_tool(), "{}"))["token"] for _ in range(2)}
        assert len(tokens) == 2 and sandbox.pool_stats()["warm"] == 2
        # Other limits, another pool: this call does not take one meant for different limits.
        await sandbox.call(pool_tool(), "{}", limits=SandboxLimits(memory_mb=512))
        assert sandbox.pool_stats()["cold"] == 1


@pytest.mark.parametrize("mode", POOLING)
async def test_the_cpu_budget_starts_with_the_call(mode: str) -> None:
    # The module burns 1.3 s of CPU at import; the tool's budget of 1 s is its own, cold or warm.
    limits = SandboxLimits(cpu_seconds=1, timeout_s=60)
    async with make_sandbox(mode) as sandbox:
        spent = json.loads(
            await sandbox.call(ToolTarget("cpu_import_tools", "cpu_time", sys_path=(HERE,)), "{}", limits=limits)
        )
        assert spent > 1.3
        with pytest.raises(ToolResourceLimit) as caught:
            await sandbox.call(ToolTarget("cpu_import_tools", "spin", sys_path=(HERE,)), "{}", limits=limits)
        assert caught.value.details["limit"] == "cpu"
        assert "used more than its 1s of CPU time" in caught.value.message
