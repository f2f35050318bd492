"""Which isolation mechanism sandboxed calls get: KEEL_SANDBOX_ISOLATION (auto, bubblewrap, namespaces).

auto takes bubblewrap when it works, else Linux namespaces, else none (calls refused); a forced mechanism
that cannot work refuses calls too, never falling back to the other one. The mechanisms themselves are
tested by every sandbox test, which runs under both (sandbox_modes.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from needs import unavailable
from sandbox_modes import REPO, tool

from keel.config import ToolSettings
from keel.errors import ConfigError, SandboxUnavailable
from keel.tools import sandbox as sandbox_module
from keel.tools.sandbox import Sandbox

WORKS = {"bubblewrap": sandbox_module._Probe("bubblewrap", "", "/usr/bin/bwrap")}
MISSING = {
    "bubblewrap": sandbox_module._Probe(None, "bubblewrap (bwrap) is not installed"),
    "namespaces": sandbox_module._Probe(None, "Linux namespaces cannot be used here (user namespaces disabled)"),
}


def require_real(isolation: str) -> None:
    """The real probe of `isolation` must succeed (fail under CI, skip loudly elsewhere)."""
    probe = sandbox_module._probe_bubblewrap() if isolation == "bubblewrap" else sandbox_module._probe_namespaces()
    if probe.isolation != isolation:
        unavailable(f"no {isolation} isolation here: {probe.reason}")


def test_the_setting_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEL_SANDBOX_ISOLATION", raising=False)
    assert ToolSettings.from_env().isolation == "auto"
    monkeypatch.setenv("KEEL_SANDBOX_ISOLATION", " Namespaces ")
    assert ToolSettings.from_env().isolation == "namespaces"
    monkeypatch.setenv("KEEL_SANDBOX_ISOLATION", "nsjail")
    with pytest.raises(ConfigError, match="KEEL_SANDBOX_ISOLATION must be one of auto, bubblewrap, namespaces") as e:
        ToolSettings.from_env()
    assert e.value.details["key"] == "KEEL_SANDBOX_ISOLATION"


async def test_an_invalid_setting_refuses_sandboxed_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_SANDBOX_ISOLATION", "chroot")
    with pytest.raises(ConfigError, match="KEEL_SANDBOX_ISOLATION must be one of"):
        Sandbox.isolation()
    async with Sandbox(pool_size=0) as sandbox:
        with pytest.raises(ConfigError, match="KEEL_SANDBOX_ISOLATION"):
            await sandbox.call(tool("add"), '{"a": 1, "b": 2}')
        with pytest.raises(ConfigError, match="KEEL_SANDBOX_ISOLATION"):
            await sandbox.prewarm(tool("add"))


@pytest.mark.parametrize("setting", ["", "auto"])
def test_auto_prefers_bubblewrap(setting: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_SANDBOX_ISOLATION", setting)
    require_real("bubblewrap")
    assert Sandbox.isolation() == "bubblewrap"
    # Even when the namespaces mechanism works too; and without probing it.
    require_real("namespaces")
    probed: list[str] = []
    monkeypatch.setattr(sandbox_module, "_probe_namespaces", lambda: probed.append("namespaces"))
    assert Sandbox.isolation() == "bubblewrap"
    assert probed == []


async def test_auto_falls_back_to_namespaces_without_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEL_SANDBOX_ISOLATION", raising=False)
    require_real("namespaces")
    monkeypatch.setattr(sandbox_module, "_probe_bubblewrap", lambda: MISSING["bubblewrap"])
    assert Sandbox.isolation() == "namespaces"
    async with Sandbox(pool_size=0) as sandbox:
        outcome = await sandbox.run(tool("add"), '{"a": 1, "b": 2}')
    assert outcome.result == "3" and outcome.isolation == "namespaces"


async def test_no_mechanism_names_both_and_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_SANDBOX_ISOLATION", "auto")
    monkeypatch.setattr(sandbox_module, "_probe_bubblewrap", lambda: MISSING["bubblewrap"])
    monkeypatch.setattr(sandbox_module, "_probe_namespaces", lambda: MISSING["namespaces"])
    assert Sandbox.isolation() is None
    reason = Sandbox.unavailable_reason()
    assert "bubblewrap (bwrap) is not installed" in reason and "Linux namespaces cannot be used here" in reason
    async with Sandbox(pool_size=0) as sandbox:
        with pytest.raises(SandboxUnavailable, match="bwrap. is not installed.*Linux namespaces.*sandbox=False"):
            await sandbox.call(tool("add"), '{"a": 1, "b": 2}')
        assert await sandbox.call(tool("add"), '{"a": 1, "b": 2}', sandbox=False) == "3"


@pytest.mark.parametrize(("forced", "other"), [("bubblewrap", "namespaces"), ("namespaces", "bubblewrap")])
async def test_a_forced_mechanism_that_cannot_work_is_refused_not_replaced(
    forced: str, other: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEL_SANDBOX_ISOLATION", forced)
    require_real(other)  # the other one works here: it must still not be used
    monkeypatch.setattr(sandbox_module, f"_probe_{forced}", lambda: MISSING[forced])
    assert Sandbox.isolation() is None
    assert Sandbox.unavailable_reason().startswith(f"KEEL_SANDBOX_ISOLATION={forced}, but {MISSING[forced].reason}")
    async with Sandbox() as sandbox:
        with pytest.raises(SandboxUnavailable, match=f"KEEL_SANDBOX_ISOLATION={forced}, but"):
            await sandbox.call(tool("add"), '{"a": 1, "b": 2}')
        with pytest.raises(SandboxUnavailable, match=f"KEEL_SANDBOX_ISOLATION={forced}, but"):
            await sandbox.prewarm(tool("add"))
        assert sandbox.pool_stats()["idle"] == 0


async def test_a_forced_mechanism_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    require_real("namespaces")
    monkeypatch.setattr(sandbox_module, "_probe_bubblewrap", lambda: WORKS["bubblewrap"])  # not consulted
    monkeypatch.setenv("KEEL_SANDBOX_ISOLATION", "namespaces")
    async with Sandbox() as sandbox:
        assert await sandbox.prewarm(tool("add")) == 1
        outcome = await sandbox.run(tool("add"), '{"a": 1, "b": 2}')
        assert outcome.isolation == "namespaces" and sandbox.pool_stats()["warm"] == 1


async def test_a_namespaces_setup_failure_is_sandbox_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_SANDBOX_ISOLATION", "namespaces")
    require_real("namespaces")
    real = sandbox_module._namespaces_argv

    def broken(uid: int | None, mounts: sandbox_module._Mounts, command: list[str]) -> list[str]:
        mounts.args += ["--ro-bind", "/nonexistent-keel-source", "/x"]
        return real(uid, mounts, command)

    monkeypatch.setattr(sandbox_module, "_namespaces_argv", broken)
    async with Sandbox(pool_size=0) as sandbox:
        with pytest.raises(
            SandboxUnavailable, match="namespaces could not set up the sandbox.*nonexistent-keel-source"
        ):
            await sandbox.call(tool("add"), '{"a": 1, "b": 2}')


def test_without_user_namespaces_the_fallback_says_so() -> None:
    """Run the real namespaces probe where user namespaces are disabled (user.max_user_namespaces=0)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        unavailable("util-linux unshare is not installed")
    script = f"""
import json, sys
sys.path.insert(0, {str(REPO)!r})
from keel.tools import sandbox
# As root inside this user namespace only uid 0 is mapped: give the probe a uid range, so that it gets as
# far as creating its namespaces, which the sysctl forbids.
sandbox._uid_range = lambda: range(40_000, 60_000)
sandbox._probe_bubblewrap = lambda: sandbox._Probe(None, "bubblewrap (bwrap) is not installed")
print(json.dumps([sandbox.Sandbox.isolation(), sandbox.Sandbox.unavailable_reason()]))
"""
    shell = 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" -c "$1"'
    done = subprocess.run(
        [unshare, "--user", "--map-root-user", "sh", "-c", shell, sys.executable, script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KEEL_SANDBOX_ISOLATION": "auto"},
    )
    if done.returncode != 0 and "max_user_namespaces" in done.stderr:
        unavailable(f"cannot disable user namespaces in a user namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    isolation, reason = json.loads(done.stdout)
    assert isolation is None
    assert reason.startswith("bubblewrap (bwrap) is not installed; and Linux namespaces cannot be used here")
    assert "user namespaces are disabled or used up here" in reason
