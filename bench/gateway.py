"""Gateway benchmark: latency Keel adds per model call, over the raw HTTP client to the same server.

    python bench/gateway.py                     # readable table (progress on stderr)
    python bench/gateway.py --json              # one JSON object on stdout
    python bench/gateway.py --calls 500 --rounds 2

The server is a local fake endpoint answering one fixed body per wire format: a chat.completion on
/v1/chat/completions and an Anthropic message on /v1/messages (built with
tests/fake_servers.py, so they are the same wire shapes the gateway tests use). It runs in a
separate PROCESS: the tests' FakeOpenAIServer is one Python thread in the client's process, so it
would compete with the client for the GIL and its own cost would dominate at 32 in flight
(`server_check` in the output measures exactly that, once, for the record).

Variants, each for --calls calls one at a time ("seq": per-call latency, median and p99) and
--conc-calls calls 32 in flight ("conc32": calls/s over the wall time):

- raw: httpx2.AsyncClient POSTing the same JSON body, then json.loads of the answer (the floor);
- provider: keel.gateway.providers.OpenAIProvider.chat(ChatRequest(...));
- gateway: Gateway.complete() over a one-route GatewayConfig, store=None (no circuit-breaker
  round trips: the in-memory path);
- gateway+sqlite: the same with a real SQLite Store, so the shared circuit breakers count;
- cache-hit: Gateway.complete() on a route with cache_ttl_s over the same SQLite store, its answer
  cached by one call before timing, so every timed call is an exact cache hit (no HTTP at all);
- peers, when installed (`bench` extra): openai-sdk (AsyncOpenAI chat.completions.create),
  anthropic-sdk (AsyncAnthropic messages.create), litellm-openai and litellm-anthropic
  (litellm.acompletion on its openai and anthropic routes);
- raw-anthropic: the raw client POSTing the Anthropic-format body to /v1/messages, measured when an
  Anthropic-format peer is: the baseline of anthropic-sdk and litellm-anthropic.

Variants are interleaved in rounds (order rotating each round), every sequential round before any
concurrent one (see `run`); figures are medians over rounds, and every "added" or "x raw" figure
compares with the baseline sample of the same round.
Targets (from the gateway issue): median added latency under 1 ms sequential, at least 0.8x
raw's calls/s at 32 in flight, and an exact cache hit under 1 ms median.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
try:
    import keel  # noqa: F401 - only to learn whether the package is importable
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))
# The fake servers live with the tests, not in the package.
sys.path.insert(0, str(ROOT / "tests"))

import httpx2  # noqa: E402
from fake_servers import FakeAnthropicServer, FakeOpenAIServer  # noqa: E402

from keel.engine.ports import LlmRequest  # noqa: E402
from keel.gateway.config import GatewayConfig  # noqa: E402
from keel.gateway.gateway import Gateway  # noqa: E402
from keel.gateway.providers import OpenAIProvider  # noqa: E402
from keel.gateway.types import ChatRequest, Message  # noqa: E402
from keel.store import open_store  # noqa: E402

MODEL = "gpt-4o-2024-08-06"
# One LiteLLM's offline cost map knows: for a model it does not know, it prints a warning on every call.
ANTHROPIC_MODEL = "claude-sonnet-4-5-20250929"
SYSTEM = "You are a terse assistant."
MESSAGES = [
    {"role": "system", "content": SYSTEM},
    {"role": "user", "content": "Say ok."},
]
MAX_TOKENS = 16
IN_FLIGHT = 32
WARMUP_CALLS = 64
TARGET_ADDED_MS = 1.0
TARGET_CONC_RATIO = 0.8
TARGET_CACHE_HIT_MS = 1.0
CACHE_VARIANT = "cache-hit"
# What each variant is compared with (default: raw). Anthropic-format peers get the raw client on
# the Anthropic endpoint, so that the wire format's own bytes are not counted as overhead.
BASELINES = {"anthropic-sdk": "raw-anthropic", "litellm-anthropic": "raw-anthropic"}
# Keel's own variants: a failure of one of these is a bug, not a peer to skip.
KEEL_VARIANTS = ("raw", "provider", "gateway", "gateway+sqlite", CACHE_VARIANT)

Call = Callable[[], Awaitable[Any]]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- the server (its own process) ------------------------------------------------------------------


def _response_bytes(answer: dict[str, Any]) -> bytes:
    body = json.dumps(answer).encode()
    head = (
        "HTTP/1.1 200 OK\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: keep-alive\r\n\r\n"
    ).encode()
    return head + body


class _FixedAnswer(asyncio.Protocol):
    """HTTP/1.1 keep-alive: reads each request (headers + content-length body) and answers fixed bytes.

    The Anthropic message for a request to /v1/messages, the chat.completion for anything else.
    A bare Protocol rather than asyncio streams or the tests' server: the server's own cost should be
    as small as possible, so that what differs between variants is the client side.
    """

    def __init__(self, openai: bytes, anthropic: bytes) -> None:
        self._openai = openai
        self._anthropic = anthropic
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end].lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                stop = head.find(b"\r\n", at)
                length = int(head[at + 15 : stop if stop >= 0 else len(head)])
            total = end + 4 + length
            if len(self._buffer) < total:
                return
            request_line = self._buffer[: self._buffer.find(b"\r\n")]
            response = self._anthropic if b" /v1/messages" in request_line else self._openai
            self._buffer = self._buffer[total:]
            assert self._transport is not None
            self._transport.write(response)


def _serve(conn: Any) -> None:
    async def main() -> None:
        openai = _response_bytes(FakeOpenAIServer.completion("ok", model=MODEL, input_tokens=12))
        anthropic = _response_bytes(FakeAnthropicServer.message("ok", model=ANTHROPIC_MODEL, input_tokens=12))
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _FixedAnswer(openai, anthropic), "127.0.0.1", 0, backlog=1024)
        conn.send(server.sockets[0].getsockname()[1])
        # Runs until the parent terminates this process.
        await server.serve_forever()

    asyncio.run(main())


def start_server() -> tuple[multiprocessing.process.BaseProcess, str]:
    # spawn, not fork: a forked child would inherit whatever threads and loops the parent has.
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child,), daemon=True, name="keel-bench-fake-provider")
    proc.start()
    if not parent.poll(30):
        proc.terminate()
        raise RuntimeError("the fake provider server process did not start")
    port = parent.recv()
    return proc, f"http://127.0.0.1:{port}"


# -- measuring -------------------------------------------------------------------------------------


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 2 else values[0]


async def measure_seq(call: Call, n: int) -> dict[str, float]:
    latencies = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        latencies.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": statistics.median(latencies), "p99_ms": p99(latencies)}


async def measure_conc(call: Call, n: int, in_flight: int = IN_FLIGHT) -> float:
    """Calls/s with `in_flight` workers sharing `n` calls."""
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return n / (time.perf_counter() - t0)


async def warm(call: Call, *, concurrent: bool) -> None:
    # Sequentially: opens the one connection a sequential loop uses. Concurrently: opens the 32.
    if concurrent:
        await measure_conc(call, WARMUP_CALLS)
    else:
        for _ in range(8):
            await call()


# -- the variants ----------------------------------------------------------------------------------


class Variants:
    """Each variant's call, and what has to be closed afterwards."""

    def __init__(self, base_url: str, tmp: Path) -> None:
        self.base_url = base_url  # server root; OpenAI-style clients take base_url + "/v1"
        self.tmp = tmp
        self.calls: dict[str, Call] = {}
        self.skipped: dict[str, str] = {}
        self.versions: dict[str, str] = {}
        self._closers: list[Callable[[], Awaitable[Any]]] = []
        self._sync_closers: list[Callable[[], Any]] = []
        self._raw: httpx2.AsyncClient | None = None

    async def build(self, peers: bool) -> None:
        v1 = self.base_url + "/v1"
        # Same pool settings as Keel's provider, so the floor does not churn connections at 32 in flight.
        raw = httpx2.AsyncClient(
            limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100, keepalive_expiry=30.0),
            timeout=60.0,
            trust_env=False,
        )
        self._raw = raw
        self._closers.append(raw.aclose)
        self.calls["raw"] = self._raw_call(
            v1 + "/chat/completions",
            {"model": MODEL, "messages": MESSAGES, "max_tokens": MAX_TOKENS},
            {"authorization": "Bearer bench"},
        )

        provider = OpenAIProvider("fake", base_url=v1, api_key="bench")
        self._closers.append(provider.aclose)
        chat = ChatRequest(
            model=MODEL, messages=tuple(Message(m["role"], m["content"]) for m in MESSAGES), max_tokens=MAX_TOKENS
        )

        async def provider_call() -> Any:
            return await provider.chat(chat)

        self.calls["provider"] = provider_call

        config = GatewayConfig.from_dict(
            {
                "providers": {"fake": {"kind": "openai", "base_url": v1}},
                "models": {MODEL: {"provider": "fake", "input_usd_per_mtok": 2.5, "output_usd_per_mtok": 10.0}},
                "routes": {"bench": {"primary": MODEL}, "cached": {"primary": MODEL, "cache_ttl_s": 86400}},
            }
        )
        request = LlmRequest(messages=MESSAGES, max_tokens=MAX_TOKENS)
        gateway = Gateway(config, store=None)
        self._closers.append(gateway.aclose)

        async def gateway_call() -> Any:
            return await gateway.complete("bench", request)

        self.calls["gateway"] = gateway_call

        store = open_store(f"sqlite:///{self.tmp / 'bench.db'}")
        self._sync_closers.append(store.close)
        gateway_db = Gateway(config, store=store)
        self._closers.append(gateway_db.aclose)

        async def gateway_db_call() -> Any:
            return await gateway_db.complete("bench", request)

        self.calls["gateway+sqlite"] = gateway_db_call

        # The exact cache: one call asks the server and stores the answer; every later one is a hit.
        first = await gateway_db.complete("cached", request)
        if first.cached:
            raise RuntimeError("the cache-hit variant found an answer cached before its first call")

        async def cache_hit_call() -> Any:
            result = await gateway_db.complete("cached", request)
            if not result.cached:
                raise RuntimeError("the cache-hit variant missed the cache")
            return result

        self.calls[CACHE_VARIANT] = cache_hit_call

        if peers:
            await self._openai_sdk(v1)
            await self._anthropic_sdk()
            await self._litellm(v1)
            if any(name in self.calls for name, base in BASELINES.items() if base == "raw-anthropic"):
                self.calls["raw-anthropic"] = self._raw_call(
                    self.base_url + "/v1/messages",
                    {"model": ANTHROPIC_MODEL, "max_tokens": MAX_TOKENS, "system": SYSTEM, "messages": MESSAGES[1:]},
                    {"x-api-key": "bench", "anthropic-version": "2023-06-01"},
                )

    def _raw_call(self, url: str, payload: dict[str, Any], auth: dict[str, str]) -> Call:
        raw = self._raw
        assert raw is not None
        body = json.dumps(payload).encode()
        headers = {"content-type": "application/json", "accept": "application/json", **auth}

        async def call() -> Any:
            response = await raw.post(url, content=body, headers=headers)
            response.raise_for_status()
            return json.loads(response.content)

        return call

    async def _openai_sdk(self, v1: str) -> None:
        try:
            import openai
        except ImportError:
            self.skipped["openai-sdk"] = "not installed"
            return
        self.versions["openai"] = openai.__version__
        # No retries: a failure should show, not be hidden behind a second attempt's latency.
        client = openai.AsyncOpenAI(base_url=v1, api_key="bench", max_retries=0)
        self._closers.append(client.close)

        async def call() -> Any:
            return await client.chat.completions.create(
                model=MODEL,
                messages=MESSAGES,  # type: ignore[arg-type]
                max_tokens=MAX_TOKENS,
            )

        self.calls["openai-sdk"] = call

    async def _anthropic_sdk(self) -> None:
        try:
            import anthropic
        except ImportError:
            self.skipped["anthropic-sdk"] = "not installed"
            return
        self.versions["anthropic"] = anthropic.__version__
        # The SDK appends /v1/messages to the server root.
        client = anthropic.AsyncAnthropic(base_url=self.base_url, api_key="bench", max_retries=0)
        self._closers.append(client.close)

        async def call() -> Any:
            return await client.messages.create(
                model=ANTHROPIC_MODEL,
                max_tokens=MAX_TOKENS,
                system=SYSTEM,
                messages=MESSAGES[1:],  # type: ignore[arg-type]
            )

        self.calls["anthropic-sdk"] = call

    async def _litellm(self, v1: str) -> None:
        # Offline: LiteLLM otherwise fetches its model cost map from the network at import.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        try:
            import litellm
        except ImportError:
            self.skipped["litellm-openai"] = self.skipped["litellm-anthropic"] = "not installed"
            return
        from importlib.metadata import version

        self.versions["litellm"] = version("litellm")
        # Its diagnostics go to stdout, where --json prints.
        litellm.suppress_debug_info = True
        # No retries, as for the SDKs.
        options: dict[str, Any] = {"max_tokens": MAX_TOKENS, "api_key": "bench", "num_retries": 0}

        async def openai_route() -> Any:
            return await litellm.acompletion(model=f"openai/{MODEL}", messages=MESSAGES, api_base=v1, **options)

        async def anthropic_route() -> Any:
            # LiteLLM moves the system message to Anthropic's top-level `system` itself.
            return await litellm.acompletion(
                model=f"anthropic/{ANTHROPIC_MODEL}", messages=MESSAGES, api_base=self.base_url, **options
            )

        self.calls["litellm-openai"] = openai_route
        self.calls["litellm-anthropic"] = anthropic_route

    async def warm_all(self, *, concurrent: bool) -> None:
        for name, call in list(self.calls.items()):
            try:
                await warm(call, concurrent=concurrent)
            except Exception as exc:  # noqa: BLE001 - a peer that cannot run is reported, not fatal
                if name in KEEL_VARIANTS:
                    raise
                self.skipped[name] = f"failed: {type(exc).__name__}: {str(exc)[:120]}"
                del self.calls[name]

    async def close(self) -> None:
        for closer in self._closers:
            await closer()
        for sync_closer in self._sync_closers:
            sync_closer()


async def server_check(calls: int) -> dict[str, Any]:
    """raw conc32 calls/s against the tests' in-thread FakeOpenAIServer (the reason it is not used)."""
    with FakeOpenAIServer() as server:
        client = httpx2.AsyncClient(limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100))
        body = json.dumps({"model": MODEL, "messages": MESSAGES, "max_tokens": MAX_TOKENS}).encode()
        url = server.base_url + "/chat/completions"

        async def call() -> Any:
            response = await client.post(url, content=body, headers={"content-type": "application/json"})
            return json.loads(response.content)

        try:
            await warm(call, concurrent=True)
            return {"fake_in_thread_calls_per_s": await measure_conc(call, calls)}
        finally:
            await client.aclose()


def rotation(names: list[str], rnd: int) -> list[str]:
    """raw first in every round (the baseline), the others rotating so none always follows it."""
    others = names[1:]
    shift = rnd % len(others) if others else 0
    return ["raw", *others[shift:], *others[:shift]]


async def run(args: argparse.Namespace, base_url: str, tmp: Path) -> dict[str, Any]:
    variants = Variants(base_url, tmp)
    try:
        await variants.build(peers=not args.no_peers)
        # Every sequential round runs before any concurrent one. httpcore2 probes each idle pooled
        # connection's socket on every request, so a sequential loop right after a 32-in-flight burst
        # pays for the 31 idle connections it left (about +1.4 ms per call here) until they expire,
        # after 30 s for Keel and 5 s for the SDKs: a measure of pool state and timing, not of overhead.
        await variants.warm_all(concurrent=False)
        names = list(variants.calls)
        seq: dict[str, list[dict[str, float]]] = {name: [] for name in names}
        conc: dict[str, list[float]] = {name: [] for name in names}
        for rnd in range(args.rounds):
            for name in rotation(names, rnd):
                gc.collect()
                result = await measure_seq(variants.calls[name], args.calls)
                seq[name].append(result)
                log(
                    f"seq round {rnd + 1}/{args.rounds} {name:>17}: median {result['median_ms']:.3f} ms "
                    f"p99 {result['p99_ms']:.3f} ms"
                )
        await variants.warm_all(concurrent=True)
        names = [name for name in names if name in variants.calls]
        for rnd in range(args.rounds):
            for name in rotation(names, rnd):
                gc.collect()
                calls_per_s = await measure_conc(variants.calls[name], args.conc_calls)
                conc[name].append(calls_per_s)
                log(f"conc round {rnd + 1}/{args.rounds} {name:>17}: conc{IN_FLIGHT} {calls_per_s:,.0f} calls/s")
        samples = {
            name: [{**s, "conc_calls_per_s": c} for s, c in zip(seq[name], conc[name], strict=True)] for name in names
        }
        check = None
        if not args.no_server_check:
            log("server check: raw client against the tests' in-thread FakeOpenAIServer")
            check = await server_check(min(args.conc_calls, 2000))
    finally:
        await variants.close()
    return summarize(samples, variants, check, args)


def summarize(
    samples: dict[str, list[dict[str, float]]], variants: Variants, check: dict[str, Any] | None, args: Any
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, rounds in samples.items():
        entry: dict[str, Any] = {
            "seq_median_ms": statistics.median(r["median_ms"] for r in rounds),
            "seq_p99_ms": statistics.median(r["p99_ms"] for r in rounds),
            "conc_calls_per_s": statistics.median(r["conc_calls_per_s"] for r in rounds),
        }
        if name != "raw":
            baseline = BASELINES.get(name, "raw")
            if baseline not in samples:
                baseline = "raw"
            base = samples[baseline]
            added = statistics.median(r["median_ms"] - b["median_ms"] for r, b in zip(rounds, base, strict=True))
            added_p99 = statistics.median(r["p99_ms"] - b["p99_ms"] for r, b in zip(rounds, base, strict=True))
            ratio = statistics.median(
                r["conc_calls_per_s"] / b["conc_calls_per_s"] for r, b in zip(rounds, base, strict=True)
            )
            entry.update(baseline=baseline, added_median_ms=added, added_p99_ms=added_p99, conc_x_raw=ratio)
            if name == CACHE_VARIANT:
                # Its target is absolute: a hit answers without the server, so "added" is negative.
                entry.update(target_hit_met=entry["seq_median_ms"] < TARGET_CACHE_HIT_MS)
            else:
                entry.update(target_added_met=added < TARGET_ADDED_MS, target_conc_met=ratio >= TARGET_CONC_RATIO)
        results[name] = entry
    for name, reason in variants.skipped.items():
        results[name] = {"skipped": reason}
    notes = [
        "server: fixed chat.completion and Anthropic message bodies from a minimal asyncio server in a"
        " separate process",
        "gateway: store=None, so no circuit breaker; gateway+sqlite keeps breakers in SQLite"
        " (read at most once a second while closed and clean, written when a call fails)",
        f"{CACHE_VARIANT}: Gateway.complete on a route with cache_ttl_s over the SQLite store, every timed call"
        " an exact hit (no HTTP); its target is absolute, median under"
        f" {TARGET_CACHE_HIT_MS:g} ms",
    ]
    if "raw-anthropic" in results:
        notes.append(
            "anthropic-sdk and litellm-anthropic are compared with raw-anthropic (the raw client on /v1/messages)"
        )
    if check is not None:
        raw_conc = results["raw"]["conc_calls_per_s"]
        fake = check["fake_in_thread_calls_per_s"]
        check["process_server_raw_calls_per_s"] = raw_conc
        notes.append(
            f"server check: the tests' in-thread FakeOpenAIServer serves raw at {fake:,.0f} calls/s "
            f"(conc{IN_FLIGHT}) vs {raw_conc:,.0f} from the separate process"
            + (" - it would have been the bottleneck" if fake < 0.8 * raw_conc else "")
        )
    return {
        "params": {
            "calls": args.calls,
            "conc_calls": args.conc_calls,
            "in_flight": IN_FLIGHT,
            "rounds": args.rounds,
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "peer_versions": variants.versions,
        },
        "targets": {
            "added_median_ms_below": TARGET_ADDED_MS,
            "conc_x_raw_at_least": TARGET_CONC_RATIO,
            "cache_hit_median_ms_below": TARGET_CACHE_HIT_MS,
        },
        "variants": results,
        "server_check": check,
        "notes": notes,
    }


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def table(report: dict[str, Any]) -> str:
    p = report["params"]
    versions = ", ".join(f"{k} {v}" for k, v in p["peer_versions"].items())
    lines = [
        f"Gateway latency: {p['calls']} calls one at a time, {p['conc_calls']} calls {p['in_flight']} in flight, "
        f"median of {p['rounds']} rounds ({p['cpus']} CPUs, Python {p['python']}"
        + (f"; {versions}" if versions else "")
        + ")",
        "",
        f"{'variant':<17} {'seq med ms':>10} {'seq p99 ms':>10} {'added med':>10} {'added p99':>10} "
        f"{'conc calls/s':>12} {'x base':>6}  targets (added < 1 ms; >= 0.8x raw; cache hit < 1 ms)",
    ]
    for name, r in report["variants"].items():
        if "skipped" in r:
            lines.append(f"{name:<17} {r['skipped']}")
            continue
        if name == "raw":
            lines.append(
                f"{name:<17} {r['seq_median_ms']:>10.3f} {r['seq_p99_ms']:>10.3f} {'-':>10} {'-':>10} "
                f"{r['conc_calls_per_s']:>12,.0f} {'1.00':>6}  (baseline)"
            )
            continue
        if name == CACHE_VARIANT:
            marks = f"hit {_met(r['target_hit_met'])}"
        else:
            marks = f"added {_met(r['target_added_met'])}, conc {_met(r['target_conc_met'])}"
        if r["baseline"] != "raw":
            marks += f" (vs {r['baseline']})"
        lines.append(
            f"{name:<17} {r['seq_median_ms']:>10.3f} {r['seq_p99_ms']:>10.3f} {r['added_median_ms']:>+10.3f} "
            f"{r['added_p99_ms']:>+10.3f} {r['conc_calls_per_s']:>12,.0f} {r['conc_x_raw']:>6.2f}  {marks}"
        )
    lines.append("")
    lines += [f"note: {n}" for n in report["notes"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=2000, help="sequential calls per variant per round (2000)")
    parser.add_argument("--conc-calls", type=int, default=4000, help=f"calls {IN_FLIGHT} in flight per round (4000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported (3)")
    parser.add_argument("--no-peers", action="store_true", help="skip the OpenAI and Anthropic SDKs and LiteLLM")
    parser.add_argument("--no-server-check", action="store_true", help="skip the in-thread fake server check")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args()
    if args.calls < 2 or args.conc_calls < IN_FLIGHT or args.rounds < 1:
        parser.error(f"--calls must be at least 2, --conc-calls at least {IN_FLIGHT}, --rounds at least 1")
    proc, base_url = start_server()
    log(f"fake provider server (pid {proc.pid}) at {base_url}")
    try:
        with tempfile.TemporaryDirectory(prefix="keel-bench-gateway-") as tmp:
            report = asyncio.run(run(args, base_url, Path(tmp)))
    finally:
        proc.terminate()
        proc.join(10)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(table(report))


if __name__ == "__main__":
    main()
