"""Tool functions the sandbox tests run in the child process (imported there by name: stdlib only)."""

from __future__ import annotations

import asyncio
import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any


def add(a: int, b: int) -> int:
    print("adding", a, b)  # must not corrupt the result
    print('{"ok": false}', file=sys.stderr)
    return a + b


async def add_async(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


def fail(message: str) -> None:
    raise ValueError(message)


def not_json() -> object:
    return object()


def environment() -> dict[str, str]:
    return dict(os.environ)


def identity() -> dict[str, Any]:
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
    return {
        "uid": os.getuid(),
        "groups": os.getgroups(),
        "cap_eff": status["CapEff"].strip(),
        "cap_bnd": status["CapBnd"].strip(),
        "no_new_privs": status["NoNewPrivs"].strip(),
        "root": sorted(os.listdir("/")),
    }


def namespaces() -> dict[str, str]:
    """The namespaces this process is in (their /proc/self/ns links), and its uid map."""
    found = {name: os.readlink(f"/proc/self/ns/{name}") for name in ("user", "mnt", "net", "pid", "ipc", "uts")}
    with open("/proc/self/uid_map") as uid_map:
        found["uid_map"] = uid_map.read()
    return found


def new_user_namespace() -> str:
    """Try to make a user namespace of one's own (full capabilities inside it): the errno's name, or "created"."""
    import ctypes
    import errno

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x10000000) == 0:  # CLONE_NEWUSER
        return "created"
    return errno.errorcode[ctypes.get_errno()]


def read_file(path: str) -> str:
    with open(path) as f:
        return f.read()


def exists(path: str) -> bool:
    return os.path.exists(path)


def list_dir(path: str) -> list[str]:
    return sorted(os.listdir(path))


def write_file(path: str, text: str, make_dirs: bool = False) -> str:
    if make_dirs:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def temp_dir(name: str, report_to: str | None = None, sleep_s: float = 0.0) -> dict[str, Any]:
    """Write a file in the temp directory; report where it is; optionally outlive the timeout."""
    tmp = os.environ["TMPDIR"]
    seen_before = written_entries(tmp)
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write("scratch")
    if report_to:
        with open(report_to, "w") as f:
            f.write(tmp)
    mounts = [line.split() for line in open("/proc/self/mountinfo").read().splitlines()]
    fstype = next((m[m.index("-") + 1] for m in mounts if m[4] == tmp), None)
    time.sleep(sleep_s)
    return {"tmpdir": tmp, "home": os.environ["HOME"], "file": path, "seen_before": seen_before, "fstype": fstype}


def write_big_file(mb: int) -> int:
    with open(os.path.join(os.environ["TMPDIR"], "big"), "wb") as f:
        for _ in range(mb):
            f.write(b"\0" * (1 << 20))
    return mb


def tcp_connect(host: str, port: int) -> str:
    with socket.create_connection((host, port), timeout=5):
        return "connected"


def http_get(url: str) -> str:
    """GET through whatever proxy the environment names (urllib honours HTTP_PROXY)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def http_get_size(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as response:
        return len(response.read())


def http_get_direct(host: str, port: int) -> str:
    """GET ignoring the proxy variables: with no route out, this must fail."""
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.request("GET", "/")
    return conn.getresponse().read().decode()


def http_get_tunnel(host: str, port: int) -> str:
    """GET through an HTTP CONNECT tunnel to the proxy named by HTTPS_PROXY."""
    proxy = urllib.request.getproxies()["https"]
    proxy_host, proxy_port = proxy.removeprefix("http://").rstrip("/").rsplit(":", 1)
    conn = http.client.HTTPConnection(proxy_host, int(proxy_port), timeout=10)
    conn.set_tunnel(host, port)
    conn.request("GET", "/")
    return conn.getresponse().read().decode()


def fork_bomb(tree_depth: int = 7, main_cap: int = 150) -> int:
    """Forks that fork: an exponential tree, while the tool itself forks until the kernel refuses.

    The caps bound it (2**tree_depth + main_cap processes) should containment ever fail, so that a broken
    sandbox shows up as a failed test rather than a dead machine.
    """
    for depth in range(tree_depth):
        if os.fork() == 0:
            for _ in range(tree_depth - depth - 1):
                if os.fork() != 0:
                    continue
            time.sleep(60)
            os._exit(0)
    forked = 0
    while forked < main_cap:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        forked += 1
    return forked


def semaphore() -> str:
    import multiprocessing

    with multiprocessing.Lock():
        return "locked"


def allocate(gb: int) -> int:
    block = bytearray(gb << 30)
    return len(block)


def spin() -> None:
    while True:
        pass


def hang(marker: str) -> None:
    """Leave a daemon behind (double fork and setsid, so not in our process group), then hang."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", marker])
        os._exit(0)
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", marker])
    time.sleep(600)


def print_flood(mb: int) -> int:
    chunk = "x" * (1 << 20)
    for _ in range(mb):
        sys.stdout.write(chunk)
    sys.stdout.flush()
    return mb


def big_result(mb: int) -> str:
    return "x" * (mb << 20)


def written_entries(tmp: str) -> list[str]:
    """What is in `tmp`, less the directories the sandbox made to hold read-only binds (a checkout under /tmp)."""
    mount_points = [line.split()[4] for line in open("/proc/self/mountinfo").read().splitlines()]
    return sorted(
        name for name in os.listdir(tmp) if not any(m.startswith(os.path.join(tmp, name) + "/") for m in mount_points)
    )
