"""The egress proxy of a sandboxed tool call: the only way out of the sandbox's empty network namespace.

The parent runs one `EgressProxy` per call on a Unix socket that is bound into the sandbox; the runner
relays 127.0.0.1:<port> to it and points HTTP_PROXY/HTTPS_PROXY/ALL_PROXY (both cases) at the relay. The
proxy speaks HTTP CONNECT (HTTPS and any TCP) and plain HTTP with absolute URIs, and lets through only
destinations on the tool's `network` list. It resolves names itself and connects to the address it
checked (no second lookup for a rebinding DNS server to answer differently), and it always refuses
link-local, cloud metadata, unspecified, broadcast and multicast addresses, even when listed. A refusal
is an HTTP 403 the tool's client raises as an error. A tool that ignores the proxy variables simply has
no network: deny by default.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from keel.errors import UsageError

log = logging.getLogger("keel.tools.egress")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services hand out cloud credentials: AWS/GCP/Azure/Oracle (169.254.169.254, also
# link-local), AWS over IPv6, Alibaba (100.100.100.200, otherwise ordinary carrier-grade NAT space).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
# NAT64 (RFC 6052) embeds an IPv4 address in the last 32 bits: 64:ff9b::a9fe:a9fe is 169.254.169.254.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_HEAD_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Destination:
    """One `network` entry: a host name or IP literal, and a port (None: any port of that host)."""

    host: str
    port: int | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    def allows(self, host: str, port: int) -> bool:
        return self.host == host and (self.port is None or self.port == port)


def refused_address(address: IPAddress) -> str | None:
    """Why an address is never reachable from a tool, or None when the allowlist decides."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address in _NAT64:
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address == ipaddress.IPv4Address("255.255.255.255"):
        return "the broadcast address"
    return None


def _normalize_host(raw: str) -> str:
    """A lowercase host name, or an IP literal in its canonical form; ValueError when it is neither."""
    host = raw.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not host or len(host) > 253 or not all(_HOST_LABEL.match(label) for label in host.split(".")):
        raise ValueError(f"{raw!r} is not a host name or IP address")
    return host


def _split_host_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError(f"{entry!r}: expected [ipv6]:port")
        port = rest[1:] if rest else None
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:
        host, port = entry, None  # a bare name, or a bare IPv6 literal (several colons)
    if port is None:
        return host, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{entry!r}: the port must be a number from 1 to 65535")
    return host, int(port)


def parse_network(entries: Iterable[str]) -> tuple[Destination, ...]:
    """Validate a tool's `network` list ("host" or "host:port" each), raising UsageError on a bad entry."""
    if isinstance(entries, str):
        raise UsageError("network must be a list of hosts, not one string", entry=entries)
    parsed: list[Destination] = []
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip():
            raise UsageError(f"network entries are 'host' or 'host:port' strings, got {entry!r}", entry=repr(entry))
        text = entry.strip()
        if "/" in text or "*" in text or "@" in text:
            raise UsageError(
                f"network entry {text!r}: give 'host' or 'host:port' (no scheme, path, wildcard or user)",
                entry=text,
            )
        try:
            raw_host, port = _split_host_port(text)
            host = _normalize_host(raw_host)
        except ValueError as exc:
            raise UsageError(f"invalid network entry: {exc}", entry=text) from None
        with contextlib.suppress(ValueError):
            reason = refused_address(ipaddress.ip_address(host))
            if reason:
                raise UsageError(f"network entry {text!r} is {reason}, which a tool may never reach", entry=text)
        parsed.append(Destination(host, port))
    return tuple(parsed)


Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


async def _resolve(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in seen:
            seen.append(address)
    return seen


class _Refused(Exception):
    """A destination the allowlist does not admit: answered 403 with the message."""


class EgressProxy:
    """An HTTP CONNECT and plain-HTTP proxy on a Unix socket that lets through only `allow`."""

    def __init__(
        self,
        allow: Sequence[Destination],
        *,
        resolver: Resolver | None = None,
        connect_timeout_s: float = 10.0,
        max_connections: int = 64,
        label: str = "",
    ) -> None:
        self.allow = tuple(allow)
        self.refused: list[str] = []  # "host:port: reason", in order, for the caller's record
        self._resolve = resolver or _resolve
        self._connect_timeout_s = connect_timeout_s
        self._slots = asyncio.Semaphore(max_connections)
        self._label = label
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self, path: str) -> None:
        """Listen on the Unix socket `path` (anyone who can reach the file may connect: keep it private)."""
        self._server = await asyncio.start_unix_server(self._accept, path, limit=_HEAD_LIMIT)
        # Writable by the sandbox's own uid; the directory around it keeps everyone else out.
        os.chmod(path, 0o666)

    async def aclose(self) -> None:
        """Stop listening and cut every connection still open."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            async with self._slots:
                await self._handle(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self._connect_timeout_s)
        request_line, _, header_block = head.partition(b"\r\n")
        try:
            method, target, version = request_line.decode("latin-1").split(" ")
        except ValueError:
            await _answer(writer, 400, "Bad Request", "keel egress: malformed request line")
            return
        if method == "CONNECT":
            try:
                raw_host, port = _split_host_port(target)
                host = _normalize_host(raw_host)
            except ValueError:
                await _answer(writer, 400, "Bad Request", f"keel egress: bad CONNECT target {target!r}")
                return
            if port is None:
                await _answer(writer, 400, "Bad Request", "keel egress: CONNECT needs host:port")
                return
            forward = b""
        else:
            url = urlsplit(target)
            if url.scheme != "http" or not url.hostname:
                await _answer(writer, 400, "Bad Request", "keel egress: expected an absolute http:// URI or CONNECT")
                return
            try:
                host, port = _normalize_host(url.hostname), url.port or 80
            except ValueError:
                await _answer(writer, 400, "Bad Request", f"keel egress: bad host in {target!r}")
                return
            forward = _origin_request(method, url.path or "/", url.query, version, header_block)
        try:
            address = await self._check(host, port)
        except _Refused as refusal:
            shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            self.refused.append(f"{shown}: {refusal}")
            log.warning(
                "tool egress to %s refused: %s",
                shown,
                refusal,
                extra={"event_type": "tool.egress_refused", "destination": shown, "tool": self._label},
            )
            await _answer(writer, 403, "Forbidden", f"keel egress: {shown} refused: {refusal}")
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(str(address), port), self._connect_timeout_s
            )
        except (OSError, TimeoutError) as exc:
            await _answer(writer, 502, "Bad Gateway", f"keel egress: could not connect: {exc}")
            return
        self._writers.add(up_writer)
        try:
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
            else:
                up_writer.write(forward)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._writers.discard(up_writer)
            up_writer.close()

    async def _check(self, host: str, port: int) -> IPAddress:
        if not any(d.allows(host, port) for d in self.allow):
            raise _Refused("not on this tool's network allowlist")
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            candidates = [literal]
        else:
            try:
                candidates = await asyncio.wait_for(self._resolve(host, port), self._connect_timeout_s)
            except (OSError, TimeoutError) as exc:
                raise _Refused(f"could not resolve: {exc}") from None
        reasons = [r for r in map(refused_address, candidates) if r]
        usable = [a for a in candidates if refused_address(a) is None]
        if not usable:
            raise _Refused(f"resolves only to {reasons[0]}" if reasons else "resolves to no address")
        return usable[0]


def _origin_request(method: str, path: str, query: str, version: str, header_block: bytes) -> bytes:
    """The request head for the origin server: origin-form target, proxy headers dropped, one request only."""
    lines = [f"{method} {path}{'?' + query if query else ''} {version}".encode("latin-1")]
    for line in header_block.split(b"\r\n"):
        name = line.partition(b":")[0].strip().lower()
        if not line or name in (b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive"):
            continue
        lines.append(line)
    # One request per proxy connection: a client reusing the connection for another host would
    # otherwise have that request sent to this one.
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def _answer(writer: asyncio.StreamWriter, status: int, reason: str, text: str) -> None:
    body = (text + "\n").encode()
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(OSError):
        await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        pass
