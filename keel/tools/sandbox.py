"""Run one tool call in a fresh, isolated process: `Sandbox.call(target, kwargs_json, limits=...)`.

Each call starts ``python -I -B keel/tools/_runner.py`` (the worker's own interpreter) in a sandbox made by
one of two mechanisms, with the same guarantees: bubblewrap when it works here, else Linux namespaces set
up directly by keel/tools/_namespaces.py (`Sandbox.isolation()` says which; KEEL_SANDBOX_ISOLATION=auto,
bubblewrap or namespaces forces one, and a forced one that cannot work refuses calls rather than falling
back). Both take the same mount plan (`_Mounts`):

- namespaces: new mount, PID, network, IPC, UTS and cgroup namespaces. The network namespace holds only
  a loopback interface: no network at all, unless `network` lists hosts; then the runner relays
  127.0.0.1 to an `EgressProxy` (keel.tools._egress) on a Unix socket bound into the sandbox, which lets
  through only those hosts and never link-local or metadata addresses.
- filesystem: an empty root with read-only binds of /usr (and the /bin, /lib... links to it), the Python
  installation (sys.base_prefix, sys.prefix, site-packages), the keel package, and the target's own
  files and `sys_path` directories; in those, ``.keel``, ``.env`` and ``.git`` entries (and the SQLite
  database) are masked. No /etc, /home, /root, /run or host /tmp. /proc is the sandbox's own; /dev is
  the minimal set (null, zero, random, ...). One writable directory: /tmp (also HOME and TMPDIR), a
  size-capped tmpfs that disappears with the sandbox, even when it is killed.
- identity: no capabilities and no_new_privs. As a non-root worker, a user namespace (the worker's uid
  inside, no further user namespaces within). As root, the kernel exempts uid 0 from the process limit,
  so the tool gets a uid of its own (from a range no account uses), with no groups and an empty bounding
  set: bubblewrap sets up the namespaces without a user namespace and `setpriv` drops the tool to that
  uid; the namespaces mechanism sets up as root too, then gives the tool that uid in a user namespace
  of its own, where it can create no further one (see _namespaces.py).
- limits, set by the runner: RLIMIT_AS (memory_mb), RLIMIT_FSIZE, RLIMIT_NPROC (max_processes, counted
  for the sandbox's own uid or user namespace) and no core files before it imports the tool; RLIMIT_CPU
  (cpu_seconds) from the moment the call's request arrives, the import having a ceiling of its own
  (IMPORT_CPU_SECONDS; see _runner.py for why). A wall-clock timeout, from the moment the call is handed
  over, SIGKILLs the process group, and with it the PID namespace's init, which takes every process in
  the sandbox with it (both mechanisms die with a worker that dies); and a cap on the result and on
  captured stdout+stderr (max_output_bytes each).
- environment: only PATH, HOME, TMPDIR, LANG, PYTHONDONTWRITEBYTECODE and MALLOC_ARENA_MAX at the
  start, never the worker's own environment; the call's `env` (its credential) is handed over with the
  call and set in the tool's os.environ just before it runs (so a module sees none of it at import).

Warm pool (``Sandbox(pool_size=1)``, the default). Importing an app module that imports keel costs about a
second, on every call. So sandboxes are started ahead of time, per (target, limits, network,
isolation): each is exactly what a cold call gets (fresh namespaces, tmpfs, uid, egress proxy, limits), its
runner imports the tool and then blocks on stdin until its one call arrives; it serves that call and
exits, and taking it starts its replacement in the background. Nothing is ever reused between calls.
A sandbox that ends while it waits (its import failed, it was killed) makes calls run cold, and report
what they report today, until one gets past the import; one that waited longer than pool_max_idle_s
is replaced; `aclose` kills them all.

There is no seccomp filter: the tool reaches the kernel as any unprivileged process does. Without either
mechanism (no bubblewrap, and user namespaces disabled), `isolation()` is None and sandboxed calls raise
`SandboxUnavailable`: plain ``unshare`` would still leave the whole filesystem readable. ``sandbox=False``
runs the same runner as a plain subprocess (timeout, CPU/memory/file limits, minimal environment, temp
directory) and logs ``tool.unsandboxed`` at every call; it has the worker's network and filesystem, no
process limit, and a tool that calls setsid() can outlive its timeout there.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import json
import logging
import os
import re
import secrets
import shutil
import signal
import site
import stat
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from keel.config import ToolSettings, resolve_database_url
from keel.errors import (
    ConfigError,
    SandboxUnavailable,
    ToolError,
    ToolInputError,
    ToolOutputError,
    ToolResourceLimit,
    ToolTimeout,
    UsageError,
)
from keel.tools._egress import Destination, EgressProxy, parse_network

log = logging.getLogger("keel.tools.sandbox")

RUNNER = str(Path(__file__).resolve().with_name("_runner.py"))
NAMESPACES_HELPER = str(Path(__file__).resolve().with_name("_namespaces.py"))
KEEL_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])
SANDBOX_EGRESS_SOCKET = "/run/keel/egress.sock"
SANDBOX_TMP = "/tmp"
# Entries hidden inside every bound directory: Keel's SQLite directory, dotenv secrets, git credentials.
HIDDEN_NAMES = (".keel", ".env", ".git")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The result channel carries one header line (an error's message and traceback) before the result.
_HEADER_ALLOWANCE = 64 * 1024
# After the tool's process exits, how long its pipes may take to drain (they close at once in a sandbox).
_DRAIN_GRACE_S = 2.0
# Warm pool defaults: sandboxes waiting per (target, limits, network, isolation), and how long one may
# wait before it is replaced (so code changes and anything the import leaked do not live forever).
DEFAULT_POOL_SIZE = 1
DEFAULT_POOL_MAX_IDLE_S = 300.0
# CPU seconds a tool's import may use (or cpu_seconds, if more); the call's own budget starts after it.
IMPORT_CPU_SECONDS = 30


@dataclass(frozen=True)
class SandboxLimits:
    """Per-call limits; `tmp_mb` caps each of the sandbox's writable /tmp and /dev/shm (tmpfs: memory)."""

    timeout_s: float = 30.0
    memory_mb: int = 256
    cpu_seconds: int = 10
    max_output_bytes: int = 1 << 20
    max_file_mb: int = 64
    max_processes: int = 64
    tmp_mb: int = 128

    def __post_init__(self) -> None:
        for name in ("timeout_s", "memory_mb", "cpu_seconds", "max_output_bytes", "max_file_mb", "tmp_mb"):
            if not getattr(self, name) > 0:
                raise UsageError(f"SandboxLimits.{name} must be positive, got {getattr(self, name)!r}")
        # The runner's own interpreter and, with `network`, its relay thread count as processes too.
        if self.max_processes < 4:
            raise UsageError(f"SandboxLimits.max_processes must be at least 4, got {self.max_processes!r}")


@dataclass(frozen=True)
class ToolTarget:
    """Where the child finds the tool function."""

    module: str  # importable module name, e.g. "myapp.tools"
    qualname: str  # attribute path in it, e.g. "lookup_order"
    path: str | None = None  # a .py file to load as `module` instead of importing it by name
    sys_path: tuple[str, ...] = ()  # directories put first on the child's sys.path (bound read-only)

    @property
    def name(self) -> str:
        return f"{self.module}.{self.qualname}"


@dataclass(frozen=True)
class SandboxResult:
    """A call's result JSON, with what the tool printed and the egress the proxy refused."""

    result: str
    stdout: str = ""
    stderr: str = ""
    isolation: str | None = None
    egress_refused: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class _Probe:
    isolation: str | None
    reason: str
    bwrap: str | None = None
    setpriv: str | None = None
    uids: range | None = None


class Sandbox:
    """Runs tool calls each in a fresh isolated process; one instance can serve many concurrent calls.

    Warm pool: with ``pool_size`` > 0 (default 1), sandboxes are started ahead of time, `pool_size` per
    (target, limits, network, isolation). Each is as fresh as a cold one; it imports its tool, waits for
    one call, serves it and exits, and taking it starts its replacement in the background. A pool starts
    at the first call of its target (which runs cold) or at `prewarm`; a sandbox idle for longer than
    ``pool_max_idle_s`` is retired and replaced. `aclose` (or ``async with Sandbox() as sandbox``) kills
    the sandboxes still waiting; calls made after it run cold. ``pool_size=0`` turns pooling off: every
    call starts its sandbox then. A waiting sandbox holds what its import holds (an app module importing
    keel: tens of MB of memory) and, with `network`, an egress proxy in this process.
    """

    def __init__(
        self,
        *,
        hidden: Sequence[str] = (),
        pool_size: int = DEFAULT_POOL_SIZE,
        pool_max_idle_s: float = DEFAULT_POOL_MAX_IDLE_S,
    ) -> None:
        _check_pool_size(pool_size)
        if not pool_max_idle_s > 0:
            raise UsageError(f"pool_max_idle_s must be positive, got {pool_max_idle_s!r}")
        # Extra host paths to mask when a bound directory contains them (e.g. a secrets file).
        self._hidden = tuple(str(Path(p).resolve()) for p in hidden)
        self._uids_in_use: set[int] = set()
        self._pool_size = pool_size
        self._pool_max_idle_s = float(pool_max_idle_s)
        self._pools: dict[_Key, _Pool] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._counts: collections.Counter[str] = collections.Counter()
        # Forgot aclose? At exit, the sandboxes still waiting are killed and their directories removed.
        weakref.finalize(self, _abandon_pools, self._pools)

    @staticmethod
    def isolation() -> str | None:
        """The isolation sandboxed calls get here: "bubblewrap", "namespaces" or None.

        Each mechanism is probed once per process; KEEL_SANDBOX_ISOLATION (auto, bubblewrap or namespaces)
        is read at every call, so a forced mechanism that does not work gives None, never the other one.
        """
        return _probe().isolation

    @staticmethod
    def unavailable_reason() -> str:
        """Why `isolation()` is None ("" when it is not)."""
        return _probe().reason

    async def call(
        self,
        target: ToolTarget,
        kwargs_json: str,
        *,
        limits: SandboxLimits = SandboxLimits(),  # noqa: B008 - frozen, so one shared default is safe
        network: Sequence[str] = (),
        env: Mapping[str, str] = {},  # noqa: B006 - never mutated
        sandbox: bool = True,
    ) -> str:
        """Run the tool once and return its JSON result; raises ToolTimeout, ToolResourceLimit, ToolError."""
        outcome = await self.run(target, kwargs_json, limits=limits, network=network, env=env, sandbox=sandbox)
        return outcome.result

    async def run(
        self,
        target: ToolTarget,
        kwargs_json: str,
        *,
        limits: SandboxLimits = SandboxLimits(),  # noqa: B008 - frozen, so one shared default is safe
        network: Sequence[str] = (),
        env: Mapping[str, str] = {},  # noqa: B006 - never mutated
        sandbox: bool = True,
    ) -> SandboxResult:
        """`call`, also returning what the tool printed and which egress was refused.

        `env` reaches the tool with its call (set in its os.environ just before the tool runs), never
        at the sandbox's start: a pooled sandbox is started before its call's credential exists.
        """
        destinations = parse_network(network)
        _check_target(target)
        _check_env(env)
        if not isinstance(kwargs_json, str):
            raise UsageError("kwargs_json must be a JSON text (str)")
        probe = _probe_for(target, sandbox)
        if probe is None:
            log.warning(
                "tool %s runs without a sandbox (sandbox=False)%s",
                target.name,
                "; its network list is not enforced" if destinations else "",
                extra={"event_type": "tool.unsandboxed", "tool": target.name},
            )
        key = _Key(_canonical(target), limits, destinations, probe.isolation if probe else None)
        call = {"kwargs": kwargs_json, "env": dict(env)}
        pool = self._pool(key, probe)
        raw: _Raw | None = None
        if pool is not None and (child := pool.take()) is not None:
            raw = await _serve(child, call)
            if raw.unstarted:
                # It died before taking the call (killed, or its import failed): nothing of the call ran.
                log.info(
                    "a pooled sandbox for tool %s ended before its call (%s); running the call cold",
                    target.name,
                    raw.describe_end(),
                    extra={"event_type": "tool.sandbox_pool_fallback", "tool": target.name},
                )
                self._counts["fallback"] += 1
                pool.failed()
                raw = None
            else:
                self._counts["warm"] += 1
        if raw is None:
            raw = await _serve(await self._spawn(key, probe, pooled=False), call)
            self._counts["cold"] += 1
            if pool is not None:
                pool.cold_outcome(raw)
        return _interpret(raw, target, limits, isolation=probe.isolation if probe else None, refused=raw.refused)

    async def prewarm(
        self,
        target: ToolTarget,
        *,
        limits: SandboxLimits = SandboxLimits(),  # noqa: B008 - frozen, so one shared default is safe
        network: Sequence[str] = (),
        sandbox: bool = True,
        size: int | None = None,
        timeout_s: float | None = None,
    ) -> int:
        """Start the pool for these call options (if not started yet) and wait until its sandboxes are ready.

        `size` sets this pool's size (default: the Sandbox's `pool_size`). Waits at most `timeout_s`
        (default: `limits.timeout_s`) for the tool's import; returns how many sandboxes have imported it
        and wait (0 when pooling is off, or when the import failed: that is logged, and the next call
        runs cold and raises the load error).
        """
        destinations = parse_network(network)
        _check_target(target)
        if size is not None:
            _check_pool_size(size)
        probe = _probe_for(target, sandbox)
        key = _Key(_canonical(target), limits, destinations, probe.isolation if probe else None)
        pool = self._pool(key, probe, size)
        if pool is None:
            return 0
        return await pool.wait_ready(limits.timeout_s if timeout_s is None else timeout_s)

    async def aclose(self) -> None:
        """Kill every pooled sandbox (and its egress proxy); later calls still work, each one cold."""
        self._closed = True
        pools = list(self._pools.values())
        self._pools.clear()
        if self._loop is not None and self._loop is not asyncio.get_running_loop():
            for pool in pools:
                pool.abandon()
            return
        await asyncio.gather(*(pool.aclose() for pool in pools))
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def __aenter__(self) -> Sandbox:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def pool_stats(self) -> dict[str, int]:
        """Counters: calls served warm / cold / cold after a pooled sandbox ended first ("fallback"),
        pooled sandboxes started, retired when idle too long, ended on their own while idle, and those
        now waiting ("idle") and ready (tool imported)."""
        stats = {name: self._counts[name] for name in ("warm", "cold", "fallback", "started", "retired", "died_idle")}
        stats["idle"] = sum(len(pool.idle) for pool in self._pools.values())
        stats["ready"] = sum(1 for pool in self._pools.values() for child in pool.idle if child.is_ready)
        return stats

    def _pool(self, key: _Key, probe: _Probe | None, size: int | None = None) -> _Pool | None:
        if self._closed:
            return None
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # Pools belong to one event loop; a Sandbox used from another one starts over.
            for old in self._pools.values():
                old.abandon()
            self._pools.clear()
            self._loop = loop
        pool = self._pools.get(key)
        if pool is None:
            if (self._pool_size if size is None else size) == 0:
                return None
            pool = self._pools[key] = _Pool(self, key, probe, self._pool_size, self._pool_max_idle_s)
        if size is not None:
            pool.resize(size)
        return pool

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _spawn(self, key: _Key, probe: _Probe | None, *, pooled: bool) -> _Child:
        """Start a runner for `key`: it sets its limits and imports the tool, then waits for its call."""
        target, limits = key.target, key.limits
        child = _Child(key, sandboxed=probe is not None)
        try:
            socket_path: str | None = None
            if probe is not None and key.network:
                # A private directory: only the sandbox (through its bind) reaches the socket.
                sock_dir = tempfile.mkdtemp(prefix="keel-egress-")
                child.dirs.append(sock_dir)
                socket_path = os.path.join(sock_dir, "egress.sock")
                child.proxy = EgressProxy(key.network, label=target.name)
                await child.proxy.start(socket_path)
            boot: dict[str, Any] = {
                "target": {
                    "module": target.module,
                    "qualname": target.qualname,
                    "path": target.path,  # absolute, as bound: the child's working directory is its /tmp
                    "sys_path": list(target.sys_path),
                },
                "limits": {
                    "cpu_s": limits.cpu_seconds,
                    "import_cpu_s": max(IMPORT_CPU_SECONDS, limits.cpu_seconds),
                    "address_space": limits.memory_mb << 20,
                    "file_size": limits.max_file_mb << 20,
                    "processes": limits.max_processes if probe is not None else None,
                },
                "egress": SANDBOX_EGRESS_SOCKET if socket_path else None,
            }
            cwd: str | None
            if probe is not None:
                uid = self._claim_uid(probe)
                if uid is not None:
                    child.release = functools.partial(self._uids_in_use.discard, uid)
                argv = self._sandbox_argv(probe, target, limits, socket_path, uid)
                child_env = _child_env(SANDBOX_TMP, {})
                cwd = None
            else:
                tmp = tempfile.mkdtemp(prefix="keel-tool-")
                child.dirs.append(tmp)
                argv = [sys.executable, "-I", "-B", RUNNER, target.name]
                child_env = _child_env(tmp, {})
                cwd = tmp
            await child.start(argv, child_env, cwd, boot, pooled=pooled)
        except BaseException:
            await child.aclose()
            raise
        if pooled:
            self._counts["started"] += 1
        return child

    def _claim_uid(self, probe: _Probe) -> int | None:
        """A uid no other call of this sandbox is using (root only; None when bubblewrap maps the uid)."""
        if probe.uids is None:
            return None
        while True:
            uid = probe.uids[secrets.randbelow(len(probe.uids))]
            if uid not in self._uids_in_use:
                self._uids_in_use.add(uid)
                return uid

    def _sandbox_argv(
        self, probe: _Probe, target: ToolTarget, limits: SandboxLimits, socket_path: str | None, uid: int | None
    ) -> list[str]:
        binds = list(_runtime_binds())
        user_binds: list[str] = []
        if target.path:
            binds.append(str(Path(target.path).resolve()))
        for entry in target.sys_path:
            user_binds.append(str(Path(entry).resolve()))
        if uid is not None:
            _check_readable_by_others(target, user_binds)
        hidden = (*self._hidden, *_database_files())
        mounts = _Mounts()
        mounts.special("--proc", "/proc")
        mounts.special("--dev", "/dev")
        mounts.tmpfs(SANDBOX_TMP, limits.tmp_mb << 20)
        mounts.tmpfs("/dev/shm", limits.tmp_mb << 20)  # POSIX semaphores: multiprocessing's locks and queues
        mounts.system()
        for path in _outermost([*binds, *user_binds]):
            if os.path.exists(path):
                mounts.ro_bind(path)
                if os.path.isdir(path):
                    mounts.hide_inside(path, hidden)
        if socket_path is not None:
            mounts.ro_bind(socket_path, SANDBOX_EGRESS_SOCKET)
        # The tool's name is for `ps` only: the runner reads its request from stdin.
        command = [sys.executable, "-I", "-B", RUNNER, target.name]
        if probe.isolation == "namespaces":
            return _namespaces_argv(uid, mounts, command)
        assert probe.bwrap is not None
        argv = [
            probe.bwrap,
            "--die-with-parent",
            *_namespace_args(uid is not None),
            *mounts.args,
            "--remount-ro",
            "/",
            "--chdir",
            SANDBOX_TMP,
        ]
        if uid is not None:
            assert probe.setpriv is not None
            argv += _setpriv_args(probe.setpriv, uid)
        return [*argv, *command]


class _Mounts:
    """bubblewrap mount arguments, creating each mount point's parents world-traversable.

    The namespaces mechanism (_namespaces.py) takes the same arguments: both build the same filesystem.
    """

    def __init__(self) -> None:
        self.args: list[str] = []
        self._made: set[str] = {"/"}
        self._bound: list[str] = []

    def _parents(self, dest: str) -> None:
        # bubblewrap creates missing parents 0700 when it runs as root: a dropped uid could not reach
        # a Python installed under a home directory, or /run/keel, through them.
        parts = Path(dest).parent.parts
        for i in range(2, len(parts) + 1):
            parent = str(Path(*parts[:i]))
            if parent in self._made or any(_within(parent, b) for b in self._bound):
                continue
            self.args += ["--perms", "0755", "--dir", parent]
            self._made.add(parent)

    def ro_bind(self, source: str, dest: str | None = None) -> None:
        dest = dest or source
        self._parents(dest)
        self.args += ["--ro-bind", source, dest]
        self._bound.append(dest)

    def special(self, option: str, dest: str) -> None:
        """A fresh /proc (--proc) or minimal /dev (--dev)."""
        self.args += [option, dest]
        self._made.add(dest)

    def tmpfs(self, dest: str, size: int) -> None:
        """A writable tmpfs for everyone (sticky, like /tmp), capped at `size` bytes."""
        self._parents(dest)
        self.args += ["--perms", "1777", "--size", str(size), "--tmpfs", dest]
        self._made.add(dest)  # a later --dir on it would reset its mode to 0755

    def system(self) -> None:
        """/usr, and the top-level directories that merged-/usr systems keep as links into it."""
        self.ro_bind("/usr")
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/", name)
            if path.is_symlink():
                self.args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                self.ro_bind(str(path))

    def hide_inside(self, directory: str, hidden: Sequence[str]) -> None:
        candidates = [os.path.join(directory, name) for name in HIDDEN_NAMES]
        candidates += [h for h in hidden if _within(h, directory) and h != directory]
        for path in candidates:
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                self.args += ["--tmpfs", path, "--remount-ro", path]
            elif not stat.S_ISLNK(mode):
                self.args += ["--ro-bind", "/dev/null", path]


def _within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _outermost(paths: Sequence[str]) -> list[str]:
    """Distinct paths, parents before children, without those already inside /usr."""
    unique = sorted({p for p in paths if p and not _within(p, "/usr")}, key=lambda p: (p.count("/"), p))
    kept: list[str] = []
    for path in unique:
        if not any(_within(path, k) for k in kept):
            kept.append(path)
    return kept


@functools.cache
def _runtime_binds() -> tuple[str, ...]:
    """What the runner needs to start: the Python installation, its site-packages, and the keel package."""
    paths = {sys.base_prefix, sys.prefix, sys.base_exec_prefix, sys.exec_prefix, KEEL_PACKAGE_DIR}
    paths.update(site.getsitepackages())
    executable = os.path.realpath(sys.executable)
    paths.add(os.path.dirname(executable))
    resolved = set()
    for path in paths:
        if path and os.path.exists(path):
            resolved.add(os.path.realpath(path))
            if os.path.realpath(path) != os.path.abspath(path):
                resolved.add(os.path.abspath(path))  # a symlinked prefix: reachable by both names
    return tuple(sorted(resolved))


def _database_files() -> tuple[str, ...]:
    """The SQLite database and its journal files, masked should a bound directory contain them."""
    try:
        url = resolve_database_url()
    except ConfigError:
        return ()
    if not url.startswith("sqlite"):
        return ()
    path = url.split(":///", 1)[-1].split("?", 1)[0]
    if not path or path == ":memory:":
        return ()
    db = str(Path(path).resolve())
    return (db, db + "-wal", db + "-shm", db + "-journal")


def _namespace_args(drop_to_own_uid: bool) -> list[str]:
    args = [
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "keel-tool",
    ]
    if drop_to_own_uid:
        # Root: no user namespace (its uid 0 would still be exempt from RLIMIT_NPROC); keep only what
        # setpriv needs to drop to the tool's own uid, which then clears every capability.
        return [
            *args,
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
            "--cap-add",
            "CAP_SETPCAP",
        ]
    return [*args, "--unshare-user", "--disable-userns", "--cap-drop", "ALL"]


def _namespaces_argv(uid: int | None, mounts: _Mounts, command: Sequence[str]) -> list[str]:
    # -S: no site-packages code runs in the setup, which starts as root when the worker is root.
    argv = [sys.executable, "-I", "-S", "-B", NAMESPACES_HELPER]
    if uid is not None:
        argv += ["--uid", str(uid)]
    argv += ["--hostname", "keel-tool", *mounts.args, "--remount-ro", "/", "--chdir", SANDBOX_TMP]
    return [*argv, "--", *command]


def _setpriv_args(setpriv: str, uid: int) -> list[str]:
    return [
        setpriv,
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
    ]


def _child_env(tmp: str, extra: Mapping[str, str]) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": tmp,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        # RLIMIT_AS counts reserved address space: glibc's default of one 64 MB arena per thread would
        # make a tool with a few threads hit memory_mb without using the memory.
        "MALLOC_ARENA_MAX": "2",
    }
    env.update(extra)
    return env


def _check_target(target: ToolTarget) -> None:
    if not target.module or not target.qualname:
        raise UsageError("a ToolTarget needs a module and a qualname", target=repr(target))
    if target.path is not None and not os.path.isfile(target.path):
        raise UsageError(f"tool file {target.path!r} does not exist", target=target.name)
    for entry in target.sys_path:
        if not os.path.isdir(entry):
            raise UsageError(f"sys_path entry {entry!r} of tool {target.name} is not a directory", target=target.name)
        if Path(entry).resolve() == Path("/"):
            raise UsageError(f"tool {target.name} cannot have / on its sys_path: it would see everything")


def _check_readable_by_others(target: ToolTarget, directories: Sequence[str]) -> None:
    """As root, the tool runs as a uid of its own: its files must be readable by others (o+r, dirs o+rx)."""
    checks = [(d, stat.S_IROTH | stat.S_IXOTH) for d in directories]
    if target.path:
        checks.append((target.path, stat.S_IROTH))
    for path, needed in checks:
        if os.stat(path).st_mode & needed != needed:
            raise UsageError(
                f"{path} is not readable by other users, and tool {target.name} runs as an unprivileged uid of "
                "its own in the sandbox: make it world-readable (chmod o+rX) or move it",
                target=target.name,
            )


def _check_env(env: Mapping[str, str]) -> None:
    for name, value in env.items():
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise UsageError(f"invalid environment variable name {name!r} for a tool")
        if not isinstance(value, str) or "\0" in value:
            raise UsageError(f"environment variable {name} for a tool must be a string without NUL bytes")


def _remove_tree(path: str) -> None:
    def writable_then_retry(function: Any, failed: str, _exc: BaseException) -> None:
        # A tool may leave read-only directories behind; make them writable and try once more.
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(failed), 0o700)
            function(failed)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=writable_then_retry)
    else:
        shutil.rmtree(path, onerror=lambda f, p, e: writable_then_retry(f, p, e[1]))


# --- running the child ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Key:
    """What makes two calls' sandboxes interchangeable: a pool holds sandboxes for one key."""

    target: ToolTarget  # canonical: absolute paths, sys_path a tuple
    limits: SandboxLimits
    network: tuple[Destination, ...]
    isolation: str | None  # None: sandbox=False


def _canonical(target: ToolTarget) -> ToolTarget:
    return ToolTarget(
        target.module,
        target.qualname,
        str(Path(target.path).resolve()) if target.path else None,
        tuple(str(Path(p).resolve()) for p in target.sys_path),
    )


def _probe_for(target: ToolTarget, sandbox: bool) -> _Probe | None:
    """The isolation probe for a sandboxed call (raising SandboxUnavailable without one), None for sandbox=False."""
    if not sandbox:
        return None
    probe = _probe()
    if probe.isolation is None:
        raise SandboxUnavailable(
            f"cannot run tool {target.name} in a sandbox: {probe.reason}. Install bubblewrap (or allow user "
            "namespaces), or declare the tool with sandbox=False to run it without isolation.",
            tool=target.name,
        )
    return probe


def _abandon_pools(pools: dict[_Key, _Pool]) -> None:
    for pool in pools.values():
        pool.abandon()
    pools.clear()


def _check_pool_size(size: int) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise UsageError(f"a sandbox pool size must be an integer >= 0, got {size!r}")


@dataclass
class _Raw:
    returncode: int | None
    result: bytes
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    overflow: str | None = None  # "result" or "output"
    sandboxed: bool = True
    accepted: bool = True  # False: a pooled runner that never took its call
    refused: tuple[str, ...] = ()

    @property
    def unstarted(self) -> bool:
        """A pooled sandbox that ended on its own before its call began: run the call in a fresh one."""
        return not self.accepted and not self.timed_out and self.overflow is None

    def header(self) -> dict[str, Any] | None:
        header_line, newline, _body = self.result.partition(b"\n")
        if not newline:
            return None
        try:
            header = json.loads(header_line)
        except ValueError:
            return None
        return header if isinstance(header, dict) else None

    def describe_end(self) -> str:
        header = self.header()
        if header is not None and header.get("ok") is not True:
            return f"{header.get('kind')} error: {header.get('error_type')}: {str(header.get('message'))[:300]}"
        signum = _signal_of(self)
        how = f"killed by {signal.Signals(signum).name}" if signum else f"exit code {self.returncode}"
        tail = self.stderr.decode("utf-8", "replace").strip()[-300:]
        return f"{how}: {tail}" if tail else how


class _Capture:
    """Bytes up to a cap; past it, nothing more is kept and `overflow` is set (the caller kills the child)."""

    def __init__(self, cap: int, overflow: asyncio.Event) -> None:
        self.left = cap
        self.exceeded = False
        self._overflow = overflow

    def add(self, sink: bytearray, data: bytes) -> None:
        if self.exceeded:
            return
        if len(data) > self.left:
            sink += data[: self.left]
            self.left = 0
            self.exceeded = True
            self._overflow.set()
            return
        sink += data
        self.left -= len(data)


class _Reader(asyncio.Protocol):
    """One pipe from the runner, kept up to a shared cap: stdout, stderr, or the result channel (its own
    pipe, so nothing the tool prints can forge or corrupt the result)."""

    def __init__(self, capture: _Capture) -> None:
        self.capture = capture
        self.data = bytearray()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.capture.add(self.data, data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class _SignalProtocol(asyncio.Protocol):
    """A pooled runner's signals: ``R`` when its tool is imported, ``A`` when it has taken its call."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[bool] = loop.create_future()
        self.accepted = False
        self.closed: asyncio.Future[None] = loop.create_future()

    def data_received(self, data: bytes) -> None:
        if b"R" in data and not self.ready.done():
            self.ready.set_result(True)
        if b"A" in data:
            self.accepted = True

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_result(False)
        if not self.closed.done():
            self.closed.set_result(None)


def _kill_tree(pid: int) -> None:
    # The child leads its own process group (start_new_session). In a sandbox, bubblewrap's PID-namespace
    # init is in it too, and its death takes every process of the namespace with it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class _Child:
    """One runner process: started (cold: its call follows at once; pooled: it imports, then waits), handed
    exactly one call, then killed with whatever it left running, its proxy, directories and uid released.

    Started with subprocess.Popen and its pipes connected here, its exit seen through a pidfd, rather than
    with loop.subprocess_exec: cancelling that halfway (as asyncio.run's shutdown does to every task,
    including its internal pipe-connecting one) can leave it waiting forever on Python 3.11, and pools
    start processes in the background, where such a moment is common. No thread per waiting sandbox either.
    """

    def __init__(self, key: _Key, *, sandboxed: bool) -> None:
        self.key = key
        self.sandboxed = sandboxed
        self.started_at = time.monotonic()
        self.proxy: EgressProxy | None = None
        self.dirs: list[str] = []  # removed when the child is closed
        self.release: Callable[[], None] | None = None  # gives its uid back
        self.pid = -1
        self.overflow = asyncio.Event()
        limits = key.limits
        log_capture = _Capture(limits.max_output_bytes, self.overflow)  # stdout and stderr together
        self._result_capture = _Capture(limits.max_output_bytes + _HEADER_ALLOWANCE, self.overflow)
        self._log_capture = log_capture
        self._stdout = _Reader(log_capture)
        self._stderr = _Reader(log_capture)
        self._results = _Reader(self._result_capture)
        self._signals: _SignalProtocol | None = None
        self.exited: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pidfd = -1
        self._stdin: asyncio.WriteTransport | None = None
        self._transports: list[asyncio.BaseTransport] = []
        self._files: list[IO[bytes]] = []  # pipes not yet handed to a transport
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def ready(self) -> asyncio.Future[bool]:
        assert self._signals is not None, "only pooled children signal readiness"
        return self._signals.ready

    @property
    def is_ready(self) -> bool:
        return self._signals is not None and self._signals.ready.done() and self._signals.ready.result()

    @property
    def alive(self) -> bool:
        gave_up = self._signals is not None and self._signals.ready.done() and not self._signals.ready.result()
        return (
            self._proc is not None
            and self._proc.returncode is None
            and not self.exited.done()
            and not self.overflow.is_set()
            and not gave_up
        )

    async def start(
        self, argv: list[str], env: dict[str, str], cwd: str | None, boot: dict[str, Any], *, pooled: bool
    ) -> None:
        loop = asyncio.get_running_loop()
        name = self.key.target.name
        result_r, result_w = os.pipe()
        ours, theirs = [result_r], [result_w]
        boot["result_fd"], boot["ready_fd"] = result_w, None
        if pooled:
            ready_r, ready_w = os.pipe()
            ours.append(ready_r)
            theirs.append(ready_w)
            boot["ready_fd"] = ready_w
        try:
            self._proc = proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=cwd,
                pass_fds=theirs,
                start_new_session=True,
            )
        except OSError as exc:
            for fd in ours:
                os.close(fd)
            raise ToolError(f"could not start tool {name}: {exc}", tool=name) from None
        finally:
            for fd in theirs:
                os.close(fd)
        # From here on, aclose() kills and reaps the process whatever happens.
        self.pid = proc.pid
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        self._files = [proc.stdin, proc.stdout, proc.stderr, *(os.fdopen(fd, "rb", buffering=0) for fd in ours)]
        self._watch_exit(loop, proc)
        readers: list[tuple[IO[bytes], asyncio.Protocol]] = [
            (proc.stdout, self._stdout),
            (proc.stderr, self._stderr),
            (self._files[3], self._results),
        ]
        if pooled:
            self._signals = _SignalProtocol()
            readers.append((self._files[4], self._signals))
        for pipe, protocol in readers:
            transport, _ = await loop.connect_read_pipe(functools.partial(_same, protocol), pipe)
            self._transports.append(transport)
        stdin, _ = await loop.connect_write_pipe(asyncio.Protocol, proc.stdin)
        self._transports.append(stdin)
        self._files.clear()  # every pipe belongs to its transport now
        assert isinstance(stdin, asyncio.WriteTransport)
        self._stdin = stdin
        stdin.write(json.dumps(boot).encode() + b"\n")

    def _watch_exit(self, loop: asyncio.AbstractEventLoop, proc: subprocess.Popen[bytes]) -> None:
        try:
            self._pidfd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):  # Linux before 5.3: a thread waits instead
            threading.Thread(target=self._wait_in_thread, args=(loop, proc), daemon=True).start()
            return
        self._loop = loop
        loop.add_reader(self._pidfd, self._on_exit)

    def _on_exit(self) -> None:
        self._forget_pidfd()
        assert self._proc is not None
        self._proc.poll()  # reaps it: the pidfd is readable once the process has exited
        self._mark_exited()

    def _mark_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def _wait_in_thread(self, loop: asyncio.AbstractEventLoop, proc: subprocess.Popen[bytes]) -> None:
        proc.wait()
        with contextlib.suppress(RuntimeError):  # the event loop is closed
            loop.call_soon_threadsafe(self._mark_exited)

    def _forget_pidfd(self) -> None:
        if self._pidfd >= 0:
            if self._loop is not None:
                with contextlib.suppress(RuntimeError):  # the event loop is closed
                    self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1

    def hand_over(self, call: dict[str, Any]) -> None:
        """Give the runner its call (a child that died first just makes the write go nowhere)."""
        assert self._stdin is not None
        self._stdin.write(json.dumps(call).encode())
        self._stdin.close()  # EOF: the call is complete

    async def finish(self) -> _Raw:
        """Wait for the outcome of the call just handed over, under the timeout and the output cap."""
        assert self._proc is not None
        loop = asyncio.get_running_loop()
        limits = self.key.limits
        raw = _Raw(None, b"", b"", b"", sandboxed=self.sandboxed)
        overflowed = loop.create_task(self.overflow.wait())
        try:
            waiters: set[asyncio.Future[Any]] = {self.exited, overflowed}
            done, _ = await asyncio.wait(waiters, timeout=limits.timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            overflowed.cancel()
        if self.exited not in done:
            raw.timed_out = not self.overflow.is_set()
            _kill_tree(self.pid)
            await asyncio.wait({self.exited}, timeout=_DRAIN_GRACE_S)
        # Whatever the tool left running (a daemon, a fork bomb's remains) goes with the call.
        _kill_tree(self.pid)
        await asyncio.wait(self._drained(), timeout=_DRAIN_GRACE_S)
        if self._result_capture.exceeded:
            raw.overflow = "result"
        elif self._log_capture.exceeded:
            raw.overflow = "output"
        raw.returncode = self._proc.returncode
        raw.result, raw.stdout, raw.stderr = (
            bytes(self._results.data),
            bytes(self._stdout.data),
            bytes(self._stderr.data),
        )
        raw.accepted = self._signals is None or self._signals.accepted
        raw.refused = tuple(self.proxy.refused) if self.proxy is not None else ()
        return raw

    def _drained(self) -> set[asyncio.Future[None]]:
        futures = {self._stdout.closed, self._stderr.closed, self._results.closed}
        if self._signals is not None:
            futures.add(self._signals.closed)
        return futures

    async def idle_end(self) -> str:
        """Why a pooled child that exited while waiting did (after its pipes drain)."""
        await asyncio.wait(self._drained(), timeout=_DRAIN_GRACE_S)
        returncode = self._proc.returncode if self._proc is not None else None
        raw = _Raw(returncode, bytes(self._results.data), b"", bytes(self._stderr.data), sandboxed=self.sandboxed)
        return raw.describe_end()

    async def aclose(self) -> None:
        """Kill the child's process tree and release what it held; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._proc is not None:
                _kill_tree(self.pid)
                if not self.exited.done():
                    await asyncio.wait({self.exited}, timeout=_DRAIN_GRACE_S)
            if self.proxy is not None:
                await self.proxy.aclose()
        finally:
            self.abandon()

    def abandon(self) -> None:
        """What `aclose` does without awaiting anything (also for a child of an event loop that is gone)."""
        self._closed = True
        if self._proc is not None:
            _kill_tree(self.pid)
            if self._proc.returncode is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=_DRAIN_GRACE_S)  # SIGKILLed: at once
        self._forget_pidfd()
        for transport in self._transports:
            with contextlib.suppress(RuntimeError):  # its event loop is closed
                transport.close()
        for pipe in self._files:
            pipe.close()
        self._files.clear()
        for path in self.dirs:
            _remove_tree(path)
        self.dirs.clear()
        if self.release is not None:
            self.release()
            self.release = None


def _same(protocol: asyncio.Protocol) -> asyncio.Protocol:
    return protocol


async def _serve(child: _Child, call: dict[str, Any]) -> _Raw:
    """Hand the call to the child and wait for its outcome; the child is gone afterwards, whatever happens."""
    try:
        child.hand_over(call)
        return await child.finish()
    finally:
        await child.aclose()


class _Pool:
    """Sandboxes started ahead of time for one key, each waiting for one call."""

    def __init__(self, owner: Sandbox, key: _Key, probe: _Probe | None, size: int, max_idle_s: float) -> None:
        self._owner = owner
        self.key = key
        self._probe = probe
        self.size = size
        self._max_idle_s = max_idle_s
        self.idle: list[_Child] = []  # oldest first
        self._watchers: dict[_Child, asyncio.Task[None]] = {}
        self._filler: asyncio.Task[None] | None = None
        # Set when a pooled sandbox ended on its own (its import failed, or it was killed): no new ones
        # start until a cold call of the target gets past its import.
        self._failing = False
        self._closed = False

    def take(self) -> _Child | None:
        """A waiting sandbox (the oldest, maybe still importing), or None: the call then starts one cold."""
        now = time.monotonic()
        child: _Child | None = None
        while self.idle and child is None:
            candidate = self.idle.pop(0)
            self._watchers.pop(candidate).cancel()
            if not candidate.alive:
                self._drop(candidate, ended=True)
            elif now - candidate.started_at >= self._max_idle_s:
                self._drop(candidate, ended=False)
            else:
                child = candidate
        self.refill()
        return child

    def failed(self) -> None:
        """A taken sandbox ended before its call: stop refilling until a cold call loads the tool."""
        self._failing = True

    def cold_outcome(self, raw: _Raw) -> None:
        header = raw.header()
        if self._failing and not (header is not None and header.get("kind") == "load"):
            self._failing = False
            self.refill()

    def resize(self, size: int) -> None:
        self.size = size
        while len(self.idle) > size:
            child = self.idle.pop()
            self._watchers.pop(child).cancel()
            self._owner._background(child.aclose())
        self.refill()

    def refill(self) -> None:
        if self._closed or self._failing or len(self.idle) >= self.size:
            return
        if self._filler is None or self._filler.done():
            self._filler = asyncio.get_running_loop().create_task(self._fill())

    async def _fill(self) -> None:
        while not self._closed and not self._failing and len(self.idle) < self.size:
            try:
                child = await self._owner._spawn(self.key, self._probe, pooled=True)
            except Exception as exc:  # noqa: BLE001 - calls run cold instead, and report the problem
                log.warning(
                    "could not start a pooled sandbox for tool %s (%s); its calls start cold",
                    self.key.target.name,
                    exc,
                    extra={"event_type": "tool.sandbox_pool_failed", "tool": self.key.target.name},
                )
                self._failing = True
                return
            self.idle.append(child)
            self._watchers[child] = asyncio.get_running_loop().create_task(self._watch(child))

    async def _watch(self, child: _Child) -> None:
        """While `child` waits in the pool: retire it when too old, drop it when it ends on its own."""
        overflowed = asyncio.get_running_loop().create_task(child.overflow.wait())
        try:
            timeout = max(0.0, self._max_idle_s - (time.monotonic() - child.started_at))
            ends: set[asyncio.Future[Any]] = {child.exited, overflowed}
            await asyncio.wait(ends, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            overflowed.cancel()
        # Still idle here: take() cancels this task before it hands the child out.
        self.idle.remove(child)
        del self._watchers[child]
        self._drop(child, ended=child.exited.done() or child.overflow.is_set())
        self.refill()

    def _drop(self, child: _Child, *, ended: bool) -> None:
        """Take a waiting sandbox out of service: it ended on its own (`ended`), or it waited too long."""
        if ended:
            # Its import failed, or something killed it: start no more until a cold call loads the tool.
            self._failing = True
            self._owner._counts["died_idle"] += 1
        else:
            self._owner._counts["retired"] += 1
        # As a task of the Sandbox's own, which its aclose waits for.
        self._owner._background(self._retire(child, ended=ended))

    async def _retire(self, child: _Child, *, ended: bool) -> None:
        if ended:
            why = "it printed more than max_output_bytes" if child.overflow.is_set() else await child.idle_end()
            log.warning(
                "a pooled sandbox for tool %s ended before any call (%s); its calls start cold until one loads it",
                self.key.target.name,
                why,
                extra={"event_type": "tool.sandbox_pool_failed", "tool": self.key.target.name},
            )
        await child.aclose()

    async def wait_ready(self, timeout_s: float) -> int:
        """Fill the pool and wait (at most `timeout_s`) until its sandboxes have imported the tool."""
        self._failing = False  # an explicit request: try again (the tool's module may have been fixed)
        self.refill()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            pending: list[asyncio.Future[Any]] = [child.ready for child in self.idle if not child.ready.done()]
            if self._filler is not None and not self._filler.done():
                pending.append(self._filler)
            remaining = deadline - loop.time()
            if not pending or remaining <= 0:
                break
            await asyncio.wait(pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            await asyncio.sleep(0)  # let a watcher drop a sandbox that just died
        return sum(1 for child in self.idle if child.is_ready)

    async def aclose(self) -> None:
        self._closed = True
        tasks = [task for task in (self._filler, *self._watchers.values()) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        children, self.idle = self.idle, []
        self._watchers.clear()
        await asyncio.gather(*(child.aclose() for child in children))

    def abandon(self) -> None:
        """Kill the waiting sandboxes without awaiting anything (their event loop is gone)."""
        self._closed = True
        for child in self.idle:
            child.abandon()
        self.idle.clear()
        self._watchers.clear()
        self._filler = None


def _signal_of(raw: _Raw) -> int | None:
    code = raw.returncode
    if code is None:
        return None
    if code < 0:
        return -code
    # bubblewrap exits with 128 + the signal that killed the command.
    if raw.sandboxed and code > 128:
        return code - 128
    return None


def _interpret(
    raw: _Raw, target: ToolTarget, limits: SandboxLimits, *, isolation: str | None, refused: tuple[str, ...]
) -> SandboxResult:
    name = target.name
    stdout = raw.stdout.decode("utf-8", "replace")
    stderr = raw.stderr.decode("utf-8", "replace")
    details: dict[str, Any] = {"tool": name}
    if refused:
        details["egress_refused"] = list(refused)
    if raw.timed_out:
        raise ToolTimeout(
            f"tool {name} ran past its {limits.timeout_s:g}s timeout; its process tree was killed",
            timeout_s=limits.timeout_s,
            **details,
        )
    if raw.overflow == "result":
        raise ToolResourceLimit(
            f"tool {name} returned more than max_output_bytes ({limits.max_output_bytes}); it was killed",
            limit="output",
            **details,
        )
    if raw.overflow == "output":
        raise ToolResourceLimit(
            f"tool {name} printed more than max_output_bytes ({limits.max_output_bytes}) to stdout/stderr; "
            "it was killed",
            limit="output",
            **details,
        )
    header = raw.header()
    if header is not None:
        if header.get("ok") is True:
            body = raw.result.partition(b"\n")[2]
            return SandboxResult(body.decode(), stdout, stderr, isolation, refused)
        _raise_reported(header, target, limits, details)
    tail = stderr[-2048:]
    signum = _signal_of(raw)
    if signum == signal.SIGXCPU:
        raise ToolResourceLimit(
            f"tool {name} used more than its {limits.cpu_seconds}s of CPU time", limit="cpu", **details
        )
    if signum == signal.SIGXFSZ:
        raise ToolResourceLimit(
            f"tool {name} wrote a file larger than {limits.max_file_mb} MB", limit="file_size", **details
        )
    if signum == signal.SIGKILL:
        raise ToolResourceLimit(
            f"tool {name} was killed (SIGKILL): its CPU time hard limit ({limits.cpu_seconds}s + 1s) "
            "or the kernel's out-of-memory killer",
            limit="killed",
            stderr_tail=tail,
            **details,
        )
    if raw.sandboxed and raw.returncode == 1 and stderr.startswith(("bwrap:", "keel-namespaces:")):
        raise SandboxUnavailable(f"{isolation} could not set up the sandbox for tool {name}: {tail.strip()}", **details)
    how = f"died of signal {signal.Signals(signum).name}" if signum else f"exited with code {raw.returncode}"
    raise ToolError(f"tool {name} {how} without a result", stderr_tail=tail, **details)


def _raise_reported(header: dict[str, Any], target: ToolTarget, limits: SandboxLimits, details: dict[str, Any]) -> None:
    name = target.name
    kind = header.get("kind")
    error_type = str(header.get("error_type", "Exception"))
    message = str(header.get("message", ""))
    described = f"{error_type}: {message}" if message else error_type
    details = {**details, "error_type": error_type}
    if isinstance(header.get("retry_after_s"), int | float):
        details["retry_after_s"] = float(header["retry_after_s"])  # the step's retry waits this long
    if "traceback" in header:
        details["traceback"] = str(header["traceback"])
    if kind == "limit":
        limit = str(header.get("limit"))
        text = {
            "memory": f"tool {name} ran out of memory (limit {limits.memory_mb} MB): {described}",
            "processes": f"tool {name} hit its process limit ({limits.max_processes}): {described}",
            "file_size": f"tool {name} wrote a file larger than {limits.max_file_mb} MB: {described}",
            "cpu": f"tool {name} used more than its {limits.cpu_seconds}s of CPU time",
        }.get(limit, f"tool {name} hit a resource limit ({limit}): {described}")
        if limit == "cpu" and header.get("phase") == "load":
            ceiling = max(IMPORT_CPU_SECONDS, limits.cpu_seconds)
            text = f"could not load tool {name}: its import used more than {ceiling}s of CPU time"
        raise ToolResourceLimit(text, limit=limit, **details)
    if kind == "input":
        raise ToolInputError(f"arguments for tool {name} are not a JSON object: {described}", **details)
    if kind == "output":
        raise ToolOutputError(f"tool {name} returned a value that is not JSON: {described}", **details)
    if kind == "load":
        raise ToolError(f"could not load tool {name}: {described}", **details)
    raise ToolError(described, **details)


# --- probing ---------------------------------------------------------------------------------------------


def _uid_range() -> range | None:
    """uids for root's sandboxes: a window no account uses, mapped in this (possibly container) namespace."""
    windows = (range(2_000_000_000, 2_000_000_000 + (1 << 20)), range(40_000, 60_000))

    def mapped(path: str) -> list[range]:
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            return []
        extents = []
        for line in lines:
            inside, _outside, count = (int(x) for x in line.split())
            extents.append(range(inside, inside + count))
        return extents

    uid_extents, gid_extents = mapped("/proc/self/uid_map"), mapped("/proc/self/gid_map")
    for window in windows:
        if all(
            any(e.start <= window.start and window.stop <= e.stop for e in extents)
            for extents in (uid_extents, gid_extents)
        ):
            return window
    return None


def _probe() -> _Probe:
    """The mechanism sandboxed calls use now: KEEL_SANDBOX_ISOLATION's choice (auto: bubblewrap, else namespaces).

    A forced mechanism that does not work gives no isolation, with the reason: never the other mechanism.
    """
    choice = ToolSettings.isolation_from_env()
    if not sys.platform.startswith("linux"):
        return _Probe(None, "process sandboxing needs Linux namespaces")
    if choice == "auto":
        bwrap = _probe_bubblewrap()
        if bwrap.isolation is not None:
            return bwrap
        namespaces = _probe_namespaces()
        if namespaces.isolation is not None:
            return namespaces
        return _Probe(None, f"{bwrap.reason}; and {namespaces.reason}")
    probe = _probe_bubblewrap() if choice == "bubblewrap" else _probe_namespaces()
    if probe.isolation is None:
        return _Probe(None, f"KEEL_SANDBOX_ISOLATION={choice}, but {probe.reason}")
    return probe


def _probe_mounts() -> _Mounts:
    """What every sandbox has, for a probe that runs `true` in one."""
    mounts = _Mounts()
    mounts.special("--proc", "/proc")
    mounts.special("--dev", "/dev")
    mounts.tmpfs(SANDBOX_TMP, 1 << 20)
    mounts.system()
    return mounts


def _run_probe(argv: list[str]) -> str | None:
    """Run a probe's sandbox; None when it worked, else why not."""
    try:
        done = subprocess.run(argv, capture_output=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"could not be run: {exc}"
    if done.returncode != 0:
        return done.stderr.decode("utf-8", "replace").strip()[-500:] or f"exit code {done.returncode}"
    return None


def _true() -> str:
    return shutil.which("true", path="/usr/bin:/bin") or "/bin/true"


@functools.cache
def _probe_bubblewrap() -> _Probe:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return _Probe(None, "bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)")
    setpriv: str | None = None
    uids: range | None = None
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            return _Probe(
                None, "running as root, bubblewrap needs setpriv (util-linux) to drop the tool to a uid of its own"
            )
        uids = _uid_range()
        if uids is None:
            return _Probe(None, "bubblewrap: running as root, no unused uid range is mapped for the tool's uids")
    mounts = _probe_mounts()
    argv = [bwrap, "--die-with-parent", *_namespace_args(uids is not None), *mounts.args, "--remount-ro", "/"]
    if uids is not None and setpriv is not None:
        argv += _setpriv_args(setpriv, uids.start)
    why = _run_probe([*argv, _true()])
    if why is not None:
        return _Probe(None, f"bubblewrap cannot create namespaces here ({why})")
    return _Probe("bubblewrap", "", bwrap, setpriv, uids)


@functools.cache
def _probe_namespaces() -> _Probe:
    uids: range | None = None
    if os.geteuid() == 0:
        uids = _uid_range()
        if uids is None:
            return _Probe(None, "Linux namespaces: running as root, no unused uid range is mapped for the tool's uids")
    why = _run_probe(_namespaces_argv(uids.start if uids else None, _probe_mounts(), [_true()]))
    if why is not None:
        return _Probe(None, f"Linux namespaces cannot be used here ({why})")
    return _Probe("namespaces", "", uids=uids)
