"""Escape attempts from a sandboxed tool (the tools issue's Show list): each one contained, reported as a
clear tool error, and the worker (this test process) still healthy afterwards.

Each runs four times (sandbox_modes.py): cold, and warm (through a pooled sandbox that had imported its tool
before the call arrived), each under bubblewrap and under Linux namespaces. A mechanism that cannot work here
fails them under CI=true and skips them loudly elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sandbox_modes import HERE, REPO, Either, tool

from keel.errors import ToolError, ToolResourceLimit, ToolTimeout, UsageError
from keel.tools._egress import Destination, EgressProxy, IPAddress
from keel.tools.sandbox import KEEL_PACKAGE_DIR, Sandbox, SandboxLimits, ToolTarget


async def assert_healthy(sandbox: Sandbox) -> None:
    """The worker can still run tools and start processes of its own."""
    assert await sandbox.call(tool("add"), '{"a": 1, "b": 2}') == "3"
    assert subprocess.run([sys.executable, "-c", "print('ok')"], capture_output=True, check=True).stdout == b"ok\n"


async def tool_error(sandbox: Sandbox, name: str, args: dict[str, object], **options: object) -> ToolError:
    with pytest.raises(ToolError) as caught:
        await sandbox.call(tool(name), json.dumps(args), **options)  # type: ignore[arg-type]
    return caught.value


# --- filesystem ---------------------------------------------------------------------------------------


async def test_reading_etc_shadow(sandbox: Sandbox) -> None:
    error = await tool_error(sandbox, "read_file", {"path": "/etc/shadow"})
    assert error.details["error_type"] == "FileNotFoundError"
    assert "/etc/shadow" in error.message
    # Nor through PID 1's view of the filesystem (the sandbox's init: another uid, so no access).
    # /proc/1/root leads into pid 1's root directory: the sandbox's own, which has no /etc.
    error = await tool_error(sandbox, "read_file", {"path": os.path.join("/proc/1", "root", "etc", "shadow")})
    assert error.details["error_type"] in ("PermissionError", "FileNotFoundError")
    await assert_healthy(sandbox)


async def test_project_files_outside_the_binds_are_invisible(sandbox: Sandbox) -> None:
    assert not json.loads(await sandbox.call(tool("exists"), json.dumps({"path": str(REPO / "pyproject.toml")})))
    assert not json.loads(await sandbox.call(tool("exists"), json.dumps({"path": str(REPO / ".keel")})))
    assert not json.loads(await sandbox.call(tool("exists"), json.dumps({"path": "/home"})))
    # The keel package's parent holds only what is bound into it (no .keel database directory).
    visible = set(json.loads(await sandbox.call(tool("list_dir"), json.dumps({"path": str(REPO)}))))
    assert ".keel" not in visible and "pyproject.toml" not in visible
    assert Path(KEEL_PACKAGE_DIR).name in visible


async def test_secrets_inside_bound_directories_are_masked(sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "my_tools.py").write_text("def read(path):\n    return open(path).read()\n")
    (tmp_path / ".env").write_text("API_KEY=sk-live-secret\n")
    (tmp_path / ".keel").mkdir()
    (tmp_path / ".keel" / "keel.db").write_text("the journal")
    tmp_path.chmod(0o755)  # as root the tool runs as its own uid: its files must be world-readable
    target = ToolTarget("my_tools", "read", sys_path=(str(tmp_path),))
    # Masked by /dev/null on a nodev mount, which cannot even be opened.
    with pytest.raises(ToolError, match="PermissionError") as caught:
        await sandbox.call(target, json.dumps({"path": str(tmp_path / ".env")}))
    assert "sk-live" not in str(caught.value.details)
    with pytest.raises(ToolError, match="FileNotFoundError"):
        await sandbox.call(target, json.dumps({"path": str(tmp_path / ".keel" / "keel.db")}))


async def test_writing_outside_the_temp_dir(sandbox: Sandbox, tmp_path: Path) -> None:
    for path in ["/usr/keel-escape", "/keel-escape", f"{KEEL_PACKAGE_DIR}/keel-escape", f"{HERE}/keel-escape"]:
        error = await tool_error(sandbox, "write_file", {"path": path, "text": "pwned"})
        assert error.details["error_type"] in ("OSError", "PermissionError"), error
        assert "Read-only file system" in error.message or "Permission denied" in error.message
        assert not os.path.exists(path)
    # The host's /tmp is not the sandbox's /tmp: the write lands in the call's own tmpfs and vanishes.
    host_path = tmp_path / "escape" / "file"
    assert await sandbox.call(
        tool("write_file"), json.dumps({"path": str(host_path), "text": "pwned", "make_dirs": True})
    ) == json.dumps(str(host_path))
    assert not host_path.exists()
    await assert_healthy(sandbox)


# --- network ------------------------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0)
    yield server
    server.close()


def accepted_any(server: socket.socket) -> bool:
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


async def test_tcp_to_a_host_listener_on_loopback(sandbox: Sandbox, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    error = await tool_error(sandbox, "tcp_connect", {"host": "127.0.0.1", "port": port})
    assert error.details["error_type"] == "ConnectionRefusedError"  # its own loopback: nobody listens
    assert not accepted_any(listener)
    await assert_healthy(sandbox)


async def test_tcp_to_the_metadata_address(sandbox: Sandbox) -> None:
    error = await tool_error(sandbox, "tcp_connect", {"host": "169.254.169.254", "port": 80})
    assert "Network is unreachable" in error.message
    # With an allowlist, the metadata address is still refused by the proxy...
    error = await tool_error(
        sandbox, "http_get", {"url": "http://169.254.169.254/latest/meta-data/"}, network=["example.com"]
    )
    assert error.details["error_type"] == "urllib.error.HTTPError" and "403" in error.message
    # ...and cannot be listed.
    with pytest.raises(UsageError, match="may never reach"):
        await sandbox.call(tool("tcp_connect"), "{}", network=["169.254.169.254:80"])
    await assert_healthy(sandbox)


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello from {self.server.server_address[1]}".encode()  # type: ignore[index]
        if self.path == "/big":
            body = bytes(range(256)) * (3 << 12)  # 3 MiB: the relay's and the proxy's buffering
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def two_servers() -> Iterator[tuple[int, int]]:
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Hello) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    yield servers[0].server_address[1], servers[1].server_address[1]
    for server in servers:
        server.shutdown()
        server.server_close()


async def test_only_allowlisted_hosts_are_reachable(sandbox: Sandbox, two_servers: tuple[int, int]) -> None:
    allowed, other = two_servers
    network = [f"127.0.0.1:{allowed}"]
    # Plain HTTP through the proxy (absolute URI) and HTTPS-style through CONNECT both reach the listed host.
    assert (
        json.loads(
            await sandbox.call(tool("http_get"), json.dumps({"url": f"http://127.0.0.1:{allowed}/"}), network=network)
        )
        == f"hello from {allowed}"
    )
    assert (
        json.loads(
            await sandbox.call(
                tool("http_get_tunnel"), json.dumps({"host": "127.0.0.1", "port": allowed}), network=network
            )
        )
        == f"hello from {allowed}"
    )
    assert await sandbox.call(
        tool("http_get_size"), json.dumps({"url": f"http://127.0.0.1:{allowed}/big"}), network=network
    ) == str(3 << 20)
    # The other one is refused with a 403 the tool sees as an error, either way.
    error = await tool_error(sandbox, "http_get", {"url": f"http://127.0.0.1:{other}/"}, network=network)
    assert error.details["error_type"] == "urllib.error.HTTPError" and "403" in error.message
    assert error.details["egress_refused"] == [f"127.0.0.1:{other}: not on this tool's network allowlist"]
    error = await tool_error(sandbox, "http_get_tunnel", {"host": "127.0.0.1", "port": other}, network=network)
    assert "Tunnel connection failed: 403" in error.message
    # A tool that ignores the proxy has no network at all, even to the listed host.
    error = await tool_error(sandbox, "http_get_direct", {"host": "127.0.0.1", "port": allowed}, network=network)
    assert error.details["error_type"] == "ConnectionRefusedError"
    await assert_healthy(sandbox)


async def test_the_proxy_refuses_names_that_resolve_to_metadata(tmp_path: Path) -> None:
    async def resolver(host: str, port: int) -> list[IPAddress]:
        import ipaddress

        return [ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fe80::1")]

    proxy = EgressProxy([Destination("metadata.example", None)], resolver=resolver)
    path = str(tmp_path / "egress.sock")
    await proxy.start(path)
    try:
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"CONNECT metadata.example:80 HTTP/1.1\r\nHost: metadata.example:80\r\n\r\n")
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
    finally:
        await proxy.aclose()
    assert answer.startswith(b"HTTP/1.1 403 Forbidden")
    assert b"resolves only to a cloud metadata address" in answer
    assert proxy.refused == ["metadata.example:80: resolves only to a cloud metadata address"]


# --- resources ----------------------------------------------------------------------------------------


async def test_fork_bomb(sandbox: Sandbox) -> None:
    with pytest.raises(ToolResourceLimit) as caught:
        await sandbox.call(tool("fork_bomb"), "{}", limits=SandboxLimits(max_processes=32, timeout_s=120))
    assert caught.value.details["limit"] == "processes"
    assert "process limit (32)" in caught.value.message
    await assert_healthy(sandbox)


async def test_allocating_4_gb(sandbox: Sandbox) -> None:
    with pytest.raises(ToolResourceLimit) as caught:
        await sandbox.call(tool("allocate"), '{"gb": 4}')
    assert caught.value.details["limit"] == "memory"
    assert "ran out of memory (limit 256 MB)" in caught.value.message
    await assert_healthy(sandbox)


async def test_looping_forever_hits_the_cpu_limit(sandbox: Sandbox) -> None:
    with pytest.raises(ToolResourceLimit) as caught:
        await sandbox.call(tool("spin"), "{}", limits=SandboxLimits(cpu_seconds=1, timeout_s=120))
    assert caught.value.details["limit"] == "cpu"
    await assert_healthy(sandbox)


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker.encode() in argv:
                found.append(int(entry))
    return found


async def wait_until_at_most(marker: str, count: int) -> list[int]:
    # A hang guard, not a timing assertion: SIGKILLed processes disappear asynchronously.
    for _ in range(200):
        left = processes_with(marker)
        if len(left) <= count:
            return left
        await asyncio.sleep(0.05)
    return processes_with(marker)


async def test_timeout_kills_the_whole_tree(either: Either, caplog: pytest.LogCaptureFixture) -> None:
    marker = f"keel-test-{uuid.uuid4().hex}"
    with pytest.raises(ToolTimeout) as caught:
        await either.sandbox.call(
            tool("hang"), json.dumps({"marker": marker}), limits=SandboxLimits(timeout_s=3), sandbox=either.sandboxed
        )
    assert "ran past its 3s timeout" in caught.value.message
    if either.sandboxed:
        # Even the daemon that left the process group: the PID namespace went with the sandbox.
        assert await wait_until_at_most(marker, 0) == []
    else:
        # Without a sandbox the process group is killed (the tool's subprocess with it), but a daemon
        # that called setsid() escapes: what sandbox=False gives up, as documented. Clean up after it.
        left = await wait_until_at_most(marker, 1)
        for pid in left:
            os.kill(pid, 9)
        assert len(left) == 1


async def test_cancelling_the_call_kills_the_sandbox(sandbox: Sandbox) -> None:
    marker = f"keel-test-{uuid.uuid4().hex}"
    call = asyncio.ensure_future(sandbox.call(tool("hang"), json.dumps({"marker": marker})))
    for _ in range(400):  # until the tool's children run (a hang guard, not a timing assertion)
        if len(processes_with(marker)) >= 2 or call.done():
            break
        await asyncio.sleep(0.05)
    assert len(processes_with(marker)) >= 2
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await wait_until_at_most(marker, 0) == []
    await assert_healthy(sandbox)


async def test_temp_dir_is_removed_after_a_timeout(
    unsandboxed: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    report = tmp_path / "tmpdir.txt"
    args = {"name": "scratch", "report_to": str(report), "sleep_s": 600}
    with pytest.raises(ToolTimeout):
        await unsandboxed.call(tool("temp_dir"), json.dumps(args), limits=SandboxLimits(timeout_s=3), sandbox=False)
    assert report.read_text().startswith("/")
    assert not os.path.exists(report.read_text())


async def test_printing_100_mb(sandbox: Sandbox) -> None:
    with pytest.raises(ToolResourceLimit) as caught:
        await sandbox.call(tool("print_flood"), '{"mb": 100}')
    assert caught.value.details["limit"] == "output"
    assert "printed more than max_output_bytes (1048576)" in caught.value.message
    await assert_healthy(sandbox)


async def test_a_result_over_the_cap(sandbox: Sandbox) -> None:
    with pytest.raises(ToolResourceLimit, match="returned more than max_output_bytes"):
        await sandbox.call(tool("big_result"), '{"mb": 8}')
    await assert_healthy(sandbox)


async def test_concurrent_calls_stay_apart(sandbox: Sandbox) -> None:
    results = await asyncio.gather(*(sandbox.call(tool("add"), json.dumps({"a": i, "b": i})) for i in range(6)))
    assert results == [str(2 * i) for i in range(6)]
