"""The child side of a sandboxed tool call: read the request, set limits, import the tool, call it, report.

Started by keel.tools.sandbox as ``python -I -B <this file>`` (by path, not ``-m keel.tools._runner``:
``-m`` would import ``keel/__init__``, which loads the whole app and costs about a second of cold start
per call). So this file imports nothing of keel and only what it needs from the standard library.

Protocol. The parent writes two JSON lines to stdin. The first, at start, says what to load::

    {"target": {"module", "qualname", "path", "sys_path"}, "result_fd": N, "ready_fd": M | null,
     "limits": {"cpu_s", "import_cpu_s", "address_space", "file_size", "processes"},
     "egress": "<unix socket>" | null}

The runner sets its limits, starts the egress relay, imports the tool and resolves the function; then it
reads the second line, the call, which a pooled sandbox waits for (a cold call has it written at once)::

    {"kwargs": "<JSON text>", "env": {"NAME": "value", ...}}

With a ``ready_fd`` (pooled sandboxes), the runner writes ``R`` there once the tool is loaded and ``A``
once it has the call, then closes it: a sandbox that dies without ``A`` never started its call, and the
parent runs the call in a fresh one instead. The request channel is moved off fd 0 first: the tool's
module and the tool read an empty stdin. One runner serves exactly one call, then exits.

The outcome goes to ``result_fd``, never to stdout/stderr (the tool's prints cannot corrupt it): one JSON
header line, then, on success, the result's JSON text::

    {"ok": true}\\n<result JSON>
    {"ok": false, "kind": "exception"|"limit"|"output"|"load"|"input", "error_type", "message", ...}\\n
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys

# Not `from typing import ...`: importing typing costs the cold start several milliseconds.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Only the process that started the runner reports; a child the tool forked (a fork bomb's copies, or a
# child that returns through our frames) must exit quietly instead of writing a second outcome.
_MAIN_PID = os.getpid()
_result_fd = -1
_processes_limited = False
_phase = "load"  # "call" once the call's request has arrived: which budget a SIGXCPU ends


def _report(header: dict[str, Any], body: bytes = b"") -> None:
    if os.getpid() != _MAIN_PID or _result_fd < 0:
        return
    # "replace": a message with a lone surrogate must still reach the parent.
    data = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode(errors="replace") + b"\n" + body
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(_result_fd, view) :]
    except OSError:
        pass  # the parent stopped reading (output cap or timeout): it kills us anyway


def _fail(kind: str, exc: BaseException, *, limit: str | None = None) -> None:
    header: dict[str, Any] = {
        "ok": False,
        "kind": kind,
        "error_type": _type_name(type(exc)),
        "message": str(exc)[:2000],
    }
    if limit is not None:
        header["kind"] = "limit"
        header["limit"] = limit
    errno = getattr(exc, "errno", None)
    if isinstance(errno, int):
        header["errno"] = errno
    wait = _retry_after(exc)
    if wait is not None:
        header["retry_after_s"] = wait
    if kind in ("exception", "load"):
        try:
            import traceback

            # Capped (the end is where the tool's frames are): the header must stay well under the
            # parent's allowance whatever max_output_bytes is.
            header["traceback"] = "".join(traceback.format_exception(exc))[-4000:]
        except Exception:  # noqa: BLE001 - a traceback is a courtesy; the outcome must still be written
            pass
    _report(header)


def _retry_after(exc: BaseException) -> float | None:
    """How long the service the tool called asked to be left alone: backpressure, honoured by retries.

    From the exception's own `retry_after_s`, or from an HTTP error (a 429 or 503 response, as
    requests, httpx and urllib raise them) carrying a `Retry-After` header in seconds.
    """
    value = getattr(exc, "retry_after_s", None)
    if value is None:
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None) or getattr(exc, "code", None)
        headers = getattr(response, "headers", None) or getattr(exc, "headers", None)
        if status in (429, 503) and headers is not None:
            try:
                value = headers.get("retry-after") or headers.get("Retry-After")
            except Exception:  # noqa: BLE001 - an odd headers object is no backpressure
                value = None
    try:
        seconds = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None  # an HTTP date: not worth a date parser in the child; the backoff applies
    return seconds if seconds is not None and 0 <= seconds <= 3600 else None


def _type_name(cls: type[BaseException]) -> str:
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", "__main__") else f"{module}.{cls.__qualname__}"


def _limit_of(exc: BaseException) -> str | None:
    """Which resource limit an exception from the tool comes from, when it is one of ours."""
    import errno

    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, OSError):
        if exc.errno == errno.EFBIG:
            return "file_size"
        # fork(), clone() and pthread_create() fail with EAGAIN at RLIMIT_NPROC.
        if exc.errno == errno.EAGAIN and _processes_limited:
            return "processes"
    return None


def _on_cpu_limit(signum: int, frame: object) -> None:
    # SIGXCPU arrives at the soft CPU limit; the hard limit one second later kills outright if this
    # handler never gets to run (a tool stuck in C code).
    header = {"ok": False, "kind": "limit", "limit": "cpu", "error_type": "SIGXCPU", "message": "CPU time limit"}
    _report({**header, "phase": _phase})
    os._exit(124)


# Where the limits apply. The caps (address space, file size, processes, no core files) are set before
# the import, exactly as for a cold call: they bound what the process holds, and what the import holds
# (its modules' memory, any thread or process it starts) stays for the call anyway, so setting them first
# makes an import that does not fit fail as a clear load error instead of leaving the call less room than
# it was given. The CPU budget (cpu_seconds) starts when the call's request arrives, in pooled and cold
# sandboxes alike: the import is the app's own code, fixed before any model-chosen argument exists, while
# the call is where untrusted arguments arrive; counting the import would make cpu_seconds mean less for
# a cold call than for a warm one (a tool that imports keel spends about a second there before it starts).
# The import still runs under a ceiling of its own (import_cpu_s), so a runaway import stops too.
def _set_limits(limits: dict[str, Any]) -> None:
    global _processes_limited
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = int(limits.get("cpu_s") or 0)
    ceiling = int(limits.get("import_cpu_s") or 0)
    if cpu and ceiling:
        # The hard limit leaves room for the call's budget, set later: no process can raise it.
        resource.setrlimit(resource.RLIMIT_CPU, (ceiling, ceiling + cpu + 2))
    for name, which in (("address_space", resource.RLIMIT_AS), ("file_size", resource.RLIMIT_FSIZE)):
        value = limits.get(name)
        if value:
            resource.setrlimit(which, (int(value), int(value)))
    processes = limits.get("processes")
    if processes:
        # Counted per user: meaningful only because the sandbox gives this process a uid of its own
        # (or a user namespace of its own); the parent leaves it out when that is not so.
        resource.setrlimit(resource.RLIMIT_NPROC, (int(processes), int(processes)))
        _processes_limited = True


def _start_cpu_budget(limits: dict[str, Any]) -> None:
    """RLIMIT_CPU counts the process's CPU time since it started: give the call cpu_s more from now."""
    cpu = int(limits.get("cpu_s") or 0)
    if not cpu:
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    spent = usage.ru_utime + usage.ru_stime
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(-(-spent // 1)) + cpu  # whole seconds, rounded up
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
        hard = min(soft + 1, hard)
    else:
        hard = soft + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


class _Relay:
    """Relays each connection to 127.0.0.1:<port> inside the sandbox to the egress proxy's Unix socket.

    The sandbox's network namespace has no route out; this relay and the proxy behind it (which enforces
    the allowlist) are the only way out. A tool that ignores the proxy variables simply has no network.
    One thread and a selector for all connections: no asyncio (about 30-60 ms to import) and no thread
    per connection (each would count against RLIMIT_NPROC, and its stack against RLIMIT_AS).
    """

    BUFFER = 1 << 18  # stop reading a side while this much waits to be written to the other

    def __init__(self, socket_path: str) -> None:
        import selectors
        import socket

        self._selectors = selectors
        self._socket = socket
        self._path = socket_path
        self._selector = selectors.DefaultSelector()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self._selector.register(self._listener, selectors.EVENT_READ)
        self.port: int = self._listener.getsockname()[1]
        self._peer: dict[Any, Any] = {}
        self._outbox: dict[Any, bytearray] = {}
        self._eof: set[Any] = set()

    def start(self) -> None:
        import threading

        threading.Thread(target=self._run, name="keel-egress-relay", daemon=True).start()

    def _run(self) -> None:
        while True:
            for key, mask in self._selector.select():
                sock = key.fileobj
                if sock is self._listener:
                    self._accept()
                    continue
                if sock not in self._peer:
                    continue  # closed earlier in this same batch of events
                try:
                    if mask & self._selectors.EVENT_WRITE:
                        self._flush(sock)
                    if mask & self._selectors.EVENT_READ:
                        self._read(sock)
                except OSError:
                    self._close(sock)
                    continue
                self._update(sock)

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        upstream = self._socket.socket(self._socket.AF_UNIX)
        try:
            upstream.connect(self._path)
        except OSError:
            client.close()
            upstream.close()
            return
        for sock, other in ((client, upstream), (upstream, client)):
            sock.setblocking(False)
            self._peer[sock] = other
            self._outbox[sock] = bytearray()
            self._selector.register(sock, self._selectors.EVENT_READ)

    def _read(self, sock: Any) -> None:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return
        other = self._peer[sock]
        if data:
            self._outbox[other] += data
            self._flush(other)
        else:
            self._eof.add(sock)
            self._flush(other)

    def _flush(self, sock: Any) -> None:
        box = self._outbox[sock]
        if box:
            try:
                del box[: sock.send(box)]
            except BlockingIOError:
                return
        if not box and self._peer[sock] in self._eof:
            try:
                sock.shutdown(self._socket.SHUT_WR)
            except OSError:
                pass

    def _update(self, sock: Any) -> None:
        other = self._peer[sock]
        if sock in self._eof and other in self._eof and not self._outbox[sock] and not self._outbox[other]:
            self._close(sock)
            return
        for one, two in ((sock, other), (other, sock)):
            events = 0
            if one not in self._eof and len(self._outbox[two]) < self.BUFFER:
                events |= self._selectors.EVENT_READ
            if self._outbox[one]:
                events |= self._selectors.EVENT_WRITE
            registered = one in self._selector.get_map()
            if events and registered:
                self._selector.modify(one, events)
            elif events:
                self._selector.register(one, events)
            elif registered:
                self._selector.unregister(one)

    def _close(self, sock: Any) -> None:
        for one in (sock, self._peer.get(sock)):
            if one is None or one not in self._peer:
                continue
            if one in self._selector.get_map():
                self._selector.unregister(one)
            one.close()
            del self._peer[one], self._outbox[one]
            self._eof.discard(one)


def _load(target: dict[str, Any]) -> Any:
    import importlib
    import importlib.util

    for entry in reversed(target.get("sys_path") or []):
        sys.path.insert(0, entry)
    module_name = target["module"]
    path = target.get("path")
    if path:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    obj: Any = module
    for part in target["qualname"].split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{module_name}.{target['qualname']} is not callable")
    return obj


def _jsonable(value: Any) -> Any:
    # pydantic models and dataclasses, without importing either (the tool already did, if it uses them).
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None and not isinstance(value, type):
        return {name: getattr(value, name) for name in fields}
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _call(fn: Any, kwargs: dict[str, Any]) -> Any:
    result = fn(**kwargs)
    if hasattr(result, "__await__"):
        import asyncio

        async def wait() -> Any:
            return await result

        result = asyncio.run(wait())
    return result


def _signal_parent(fd: int, flag: bytes) -> None:
    try:
        os.write(fd, flag)
    except OSError:
        pass  # the parent is gone or stopped listening: it kills us anyway


def main() -> None:
    global _result_fd, _phase
    # The request channel moves off fd 0 (os.dup: not inherited by programs the tool executes); the
    # tool's module and the tool get an empty stdin.
    channel = os.fdopen(os.dup(0), "rb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    boot = json.loads(channel.readline())
    _result_fd = int(boot["result_fd"])
    # Forked children share it, but programs the tool executes do not inherit the result channel.
    os.set_inheritable(_result_fd, False)
    ready_fd = boot.get("ready_fd")
    if ready_fd is not None:
        os.set_inheritable(ready_fd, False)
    limits = boot.get("limits") or {}
    signal.signal(signal.SIGXCPU, _on_cpu_limit)
    proxy = None
    try:
        _set_limits(limits)
        egress = boot.get("egress")
        if egress:
            relay = _Relay(egress)
            relay.start()
            proxy = f"http://127.0.0.1:{relay.port}"
            _point_at_proxy(proxy)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises ToolError
        _fail("load", exc)
        return
    try:
        fn = _load(boot["target"])
    except BaseException as exc:  # noqa: BLE001 - SystemExit or errors at import time are load failures
        _fail("load", exc, limit=_limit_of(exc))
        return
    if ready_fd is not None:
        _signal_parent(ready_fd, b"R")
    # A pooled sandbox waits here, its tool imported, until the call arrives (or the parent goes away).
    line = channel.read()
    channel.close()
    if not line.strip():
        return  # retired before a call: nothing to report
    if ready_fd is not None:
        _signal_parent(ready_fd, b"A")
        os.close(ready_fd)
    _phase = "call"
    try:
        _start_cpu_budget(limits)
        request = json.loads(line)  # under the limits: the call's arguments are the call's memory
        # The call's own environment (its credential, minted per call): set here, never at the start.
        for name, value in (request.get("env") or {}).items():
            os.environ[name] = value
        if proxy is not None:
            _point_at_proxy(proxy)  # the relay is the only way out, whatever the env said
    except MemoryError as exc:
        _fail("input", exc, limit="memory")
        return
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises ToolError
        _fail("load", exc)
        return
    try:
        kwargs = json.loads(request["kwargs"])
        if not isinstance(kwargs, dict):
            raise TypeError(f"arguments must be a JSON object, got {type(kwargs).__name__}")
    except (ValueError, TypeError) as exc:
        _fail("input", exc)
        return
    try:
        value = _call(fn, kwargs)
    except BaseException as exc:  # noqa: BLE001 - whatever the tool raised, including SystemExit
        _fail("exception", exc, limit=_limit_of(exc))
        return
    if os.getpid() != _MAIN_PID:
        return  # a forked child of the tool came back through here: only the runner reports
    try:
        try:
            body = json.dumps(value, default=_jsonable, ensure_ascii=False, allow_nan=False).encode()
        except UnicodeEncodeError:  # a lone surrogate: valid JSON only as a \u escape
            body = json.dumps(value, default=_jsonable, allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        _fail("output", exc)
        return
    except MemoryError as exc:
        _fail("output", exc, limit="memory")
        return
    _report({"ok": True}, body)


def _point_at_proxy(proxy: str) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        os.environ[name] = proxy
    for name in ("NO_PROXY", "no_proxy"):
        os.environ.pop(name, None)


if __name__ == "__main__":
    try:
        main()
    finally:
        if os.getpid() != _MAIN_PID:
            os._exit(0)
        # Flush what the tool printed, then leave without running atexit hooks or joining threads the
        # tool left behind (the relay's, or the tool's own non-daemon threads): the call is over.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed or broken stream has nothing left to say
                pass
        os._exit(0)
