"""The process sandbox: results, errors, temp directory, environment, limits plumbing, network entries.

Tests taking the `sandbox` fixture run four times (sandbox_modes.py): cold and warm (a pooled sandbox), each
under bubblewrap and under Linux namespaces. A mechanism that cannot work here (bubblewrap missing:
scripts/ensure-bubblewrap installs Debian's package) fails them under CI=true and skips them loudly
elsewhere. The `sandbox=False` tests (`unsandboxed`) run anywhere on Linux, cold and warm; `either` is both.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import uuid
from pathlib import Path

import pytest
from sandbox_modes import HERE, REPO, Either, tool

from keel.errors import (
    SandboxUnavailable,
    ToolError,
    ToolInputError,
    ToolOutputError,
    ToolResourceLimit,
    UsageError,
)
from keel.tools import sandbox as sandbox_module
from keel.tools._egress import Destination, parse_network, refused_address
from keel.tools.sandbox import Sandbox, SandboxLimits, ToolTarget


async def test_returns_the_tools_value_and_keeps_its_prints_apart(sandbox: Sandbox) -> None:
    outcome = await sandbox.run(tool("add"), json.dumps({"a": 2, "b": 3}))
    assert json.loads(outcome.result) == 5
    assert outcome.stdout == "adding 2 3\n"
    assert outcome.stderr == '{"ok": false}\n'
    assert outcome.isolation == Sandbox.isolation() == os.environ["KEEL_SANDBOX_ISOLATION"]
    assert await sandbox.call(tool("add"), '{"a": 1, "b": 1}') == "2"


async def test_async_tool(sandbox: Sandbox) -> None:
    assert await sandbox.call(tool("add_async"), '{"a": 20, "b": 22}') == "42"


async def test_tool_exception_names_its_type_and_message(either: Either) -> None:
    with pytest.raises(ToolError) as caught:
        await either.sandbox.call(tool("fail"), '{"message": "order 42 not found"}', sandbox=either.sandboxed)
    assert type(caught.value) is ToolError
    assert caught.value.message == "ValueError: order 42 not found"
    assert caught.value.details["error_type"] == "ValueError"
    assert "raise ValueError(message)" in caught.value.details["traceback"]


async def test_bad_arguments_unloadable_tools_and_non_json_results(sandbox: Sandbox) -> None:
    with pytest.raises(ToolInputError):
        await sandbox.call(tool("add"), "[1, 2]")
    with pytest.raises(ToolError, match="could not load tool sandbox_tools.missing: AttributeError"):
        await sandbox.call(tool("missing"), "{}")
    with pytest.raises(ToolOutputError, match="not JSON"):
        await sandbox.call(tool("not_json"), "{}")


async def test_a_tool_file_is_loaded_by_path(sandbox: Sandbox, tmp_path: Path) -> None:
    script = tmp_path / "script_tools.py"
    script.write_text("def double(x):\n    return {'twice': x * 2}\n")
    if os.geteuid() == 0:
        # The tool runs as a uid of its own, which pytest's private tmp_path (0700) would shut out.
        with pytest.raises(UsageError, match="not readable by other users"):
            await sandbox.call(ToolTarget("script_tools", "double", sys_path=(str(tmp_path),)), '{"x": 1}')
        tmp_path.chmod(0o755)
    target = ToolTarget("script_tools", "double", path=str(script))
    assert json.loads(await sandbox.call(target, '{"x": 21}')) == {"twice": 42}


async def test_temp_dir_is_a_fresh_tmpfs_private_to_the_call(sandbox: Sandbox) -> None:
    name = f"keel-sandbox-{uuid.uuid4().hex}"
    first = json.loads(await sandbox.call(tool("temp_dir"), json.dumps({"name": name})))
    assert first["tmpdir"] == first["home"] == "/tmp"
    assert first["seen_before"] == []
    # A tmpfs in the sandbox's own mount namespace: it disappears with the sandbox, even on SIGKILL.
    assert first["fstype"] == "tmpfs"
    assert not os.path.exists(os.path.join("/tmp", name))  # the host's /tmp never saw the file
    second = json.loads(await sandbox.call(tool("temp_dir"), json.dumps({"name": "other"})))
    assert second["seen_before"] == []


async def test_temp_dir_stays_writable_when_the_tool_lives_under_tmp(sandbox: Sandbox, tmp_path: Path) -> None:
    # Binding a directory under /tmp creates its parents in the sandbox's /tmp; that must keep /tmp's mode.
    (tmp_path / "tools_under_tmp.py").write_text((Path(HERE) / "sandbox_tools.py").read_text())
    tmp_path.chmod(0o755)
    target = ToolTarget("tools_under_tmp", "temp_dir", sys_path=(str(tmp_path),))
    result = json.loads(await sandbox.call(target, '{"name": "scratch"}'))
    assert result["tmpdir"] == "/tmp" and result["fstype"] == "tmpfs"


async def test_unsandboxed_temp_dir_is_deleted_afterwards(
    unsandboxed: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="keel.tools.sandbox")
    result = json.loads(await unsandboxed.call(tool("temp_dir"), '{"name": "scratch"}', sandbox=False))
    assert result["seen_before"] == []
    assert result["tmpdir"] == result["home"]
    assert not os.path.exists(result["tmpdir"])


async def test_unsandboxed_calls_log_a_warning_every_time(
    unsandboxed: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="keel.tools.sandbox")
    for _ in range(2):
        assert await unsandboxed.call(tool("add"), '{"a": 1, "b": 2}', sandbox=False) == "3"
    warnings = [r for r in caplog.records if getattr(r, "event_type", None) == "tool.unsandboxed"]
    assert len(warnings) == 2
    assert warnings[0].levelno == logging.WARNING
    assert "sandbox_tools.add runs without a sandbox" in warnings[0].getMessage()


async def test_parent_secrets_stay_out_and_the_env_argument_gets_in(
    either: Either, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="keel.tools.sandbox")
    monkeypatch.setenv("KEEL_TEST_SECRET", "hunter2")
    credential = {"KEEL_TOOL_CREDENTIAL": "tok-123"}
    env = json.loads(await either.sandbox.call(tool("environment"), "{}", env=credential, sandbox=either.sandboxed))
    assert "KEEL_TEST_SECRET" not in env
    assert "hunter2" not in json.dumps(env)
    assert env["KEEL_TOOL_CREDENTIAL"] == "tok-123"
    assert set(env) <= {
        "PATH",
        "HOME",
        "TMPDIR",
        "LANG",
        "PYTHONDONTWRITEBYTECODE",
        "MALLOC_ARENA_MAX",
        "KEEL_TOOL_CREDENTIAL",
        "PWD",  # bubblewrap's --chdir sets it
    }
    assert "KEEL_SANDBOX_ISOLATION" not in env


async def test_identity_has_no_privileges(sandbox: Sandbox) -> None:
    who = json.loads(await sandbox.call(tool("identity"), "{}"))
    assert who["uid"] != 0
    assert who["groups"] in ([], [who["uid"]])
    assert int(who["cap_eff"], 16) == 0
    assert int(who["cap_bnd"], 16) == 0 or os.geteuid() != 0
    assert who["no_new_privs"] == "1"
    assert "etc" not in who["root"] and "home" not in who["root"]


async def test_the_tool_has_namespaces_of_its_own(sandbox: Sandbox) -> None:
    seen = json.loads(await sandbox.call(tool("namespaces"), "{}"))
    for name in ("mnt", "net", "pid", "ipc", "uts"):
        assert seen[name] != os.readlink(f"/proc/self/ns/{name}"), name
    # bubblewrap as root makes no user namespace (setpriv drops the tool to its own uid instead); as another
    # user, and with the namespaces mechanism always, the tool has one, maps no uid 0, and can make no other.
    if Sandbox.isolation() == "namespaces" or os.geteuid() != 0:
        assert seen["user"] != os.readlink("/proc/self/ns/user")
        [(inside, _outside, count)] = [line.split() for line in seen["uid_map"].splitlines()]
        assert inside != "0" and count == "1"
        assert json.loads(await sandbox.call(tool("new_user_namespace"), "{}")) in ("ENOSPC", "EPERM", "EUSERS")


async def test_multiprocessing_locks_work(sandbox: Sandbox) -> None:
    assert await sandbox.call(tool("semaphore"), "{}") == '"locked"'  # /dev/shm is a writable tmpfs


async def test_file_size_limit(sandbox: Sandbox) -> None:
    with pytest.raises(ToolResourceLimit) as caught:
        await sandbox.call(tool("write_big_file"), '{"mb": 3}', limits=SandboxLimits(max_file_mb=1))
    assert caught.value.details["limit"] == "file_size"


async def test_tmp_size_cap(sandbox: Sandbox) -> None:
    with pytest.raises(ToolError, match="No space left on device"):
        await sandbox.call(tool("write_big_file"), '{"mb": 8}', limits=SandboxLimits(tmp_mb=4))


async def test_no_isolation_refuses_sandboxed_tools_but_not_opted_out_ones(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="keel.tools.sandbox")
    missing = sandbox_module._Probe(None, "bubblewrap (bwrap) is not installed")
    monkeypatch.setattr(sandbox_module, "_probe", lambda: missing)
    assert Sandbox.isolation() is None
    async with Sandbox() as sandbox:
        with pytest.raises(SandboxUnavailable, match="bubblewrap .bwrap. is not installed.*sandbox=False"):
            await sandbox.call(tool("add"), '{"a": 1, "b": 2}')
        with pytest.raises(SandboxUnavailable, match="bubblewrap .bwrap. is not installed"):
            await sandbox.prewarm(tool("add"))
        assert await sandbox.call(tool("add"), '{"a": 1, "b": 2}', sandbox=False) == "3"


async def test_invalid_arguments_are_refused_before_anything_runs() -> None:
    async with Sandbox() as sandbox:
        with pytest.raises(UsageError, match="sys_path"):
            await sandbox.call(ToolTarget("m", "f", sys_path=("/nonexistent-keel-dir",)), "{}", sandbox=False)
        with pytest.raises(UsageError, match="environment variable"):
            await sandbox.call(tool("add"), "{}", env={"BAD NAME": "x"}, sandbox=False)
        with pytest.raises(UsageError, match="sys_path"):
            await sandbox.prewarm(ToolTarget("m", "f", sys_path=("/nonexistent-keel-dir",)), sandbox=False)
        with pytest.raises(UsageError, match="pool size"):
            await sandbox.prewarm(tool("add"), size=-1, sandbox=False)
        assert sandbox.pool_stats()["idle"] == 0
    with pytest.raises(UsageError, match="must be positive"):
        SandboxLimits(timeout_s=0)
    with pytest.raises(UsageError, match="pool size"):
        Sandbox(pool_size=-1)
    with pytest.raises(UsageError, match="pool_max_idle_s"):
        Sandbox(pool_max_idle_s=0)


def test_network_entries_are_validated() -> None:
    assert parse_network(["api.example.com:443", "127.0.0.1:8123", "Example.COM.", "[::1]:80", "::1"]) == (
        Destination("api.example.com", 443),
        Destination("127.0.0.1", 8123),
        Destination("example.com", None),
        Destination("::1", 80),
        Destination("::1", None),
    )
    for bad in ["https://api.example.com", "api.example.com/path", "*.example.com", "host:0", "host:99999", "a b"]:
        with pytest.raises(UsageError):
            parse_network([bad])
    with pytest.raises(UsageError, match="list of hosts"):
        parse_network("api.example.com")  # type: ignore[arg-type]
    # Metadata and link-local addresses can never be listed.
    for never in ["169.254.169.254", "169.254.169.254:80", "[fd00:ec2::254]:80", "169.254.1.1", "0.0.0.0:80"]:
        with pytest.raises(UsageError, match="may never reach"):
            parse_network([never])


def test_refused_addresses() -> None:
    refused = ["169.254.169.254", "fd00:ec2::254", "169.254.0.1", "fe80::1", "0.0.0.0", "::", "224.0.0.1"]
    refused += ["ff02::1", "255.255.255.255", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "100.100.100.200"]
    for address in refused:
        assert refused_address(ipaddress.ip_address(address)), address
    for address in ["127.0.0.1", "10.0.0.1", "93.184.216.34", "::1", "2606:4700::1"]:
        assert refused_address(ipaddress.ip_address(address)) is None, address


@pytest.mark.parametrize("helper", ["_runner.py", "_namespaces.py"])
def test_the_child_side_imports_nothing_of_keel(helper: str) -> None:
    # Cold start: `import keel` loads the whole app; the runner and the namespaces setup (which runs as
    # root when the worker does) must stay on the standard library.
    source = (REPO / "keel" / "tools" / helper).read_text()
    assert "import keel" not in source and "from keel" not in source
