"""Tools: a sandboxed tool with a scope and a network allowlist, and what it may not reach.

keel run examples/tools/orders.py:probe --input '{"order_id": "A1"}'

The tool `fetch` may reach the orders API on 127.0.0.1:18080 and nothing else: a host not on
its list and the cloud metadata address are refused by the sandbox's egress proxy, and a socket
that skips the proxy finds only the sandbox's own empty loopback.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import keel

API = "127.0.0.1:18080"
app = keel.App("orders")


@app.tool(scopes=["read:orders"], network=[API], timeout=20)
def fetch(url: str, *, creds: str) -> dict[str, Any]:
    """GET a URL through the sandbox's egress proxy (HTTP_PROXY), sending the call's credential."""
    request = urllib.request.Request(url, headers={"authorization": f"Bearer {creds}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return {"status": response.status, "body": json.loads(response.read())}
    except urllib.error.HTTPError as exc:
        return {"status": exc.code, "refused": exc.read().decode(errors="replace").strip()[:200]}
    except OSError as exc:
        return {"status": None, "error": f"{type(exc).__name__}: {exc}"}


@app.tool(network=[API])
def raw_connect(host: str, port: int) -> str:
    """Open a TCP connection directly, ignoring the proxy."""
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return "connected"


class _Orders(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"order": self.path.rsplit("/", 1)[-1], "status": "shipped"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@app.step()
def start_orders_api() -> str:
    """A stand-in orders API on this machine, for the demo (it lives as long as this process)."""
    host, port = API.split(":")
    try:
        server = ThreadingHTTPServer((host, int(port)), _Orders)
    except OSError:
        return "already running"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return "started"


@app.workflow(tools=["fetch", "raw_connect"])
async def probe(ctx: keel.Context, order_id: str) -> dict[str, Any]:
    await ctx.run(start_orders_api)
    return {
        "allowed": await ctx.tool("fetch", url=f"http://{API}/orders/{order_id}"),
        "not on the list": await ctx.tool("fetch", url="http://127.0.0.1:5432/"),
        "cloud metadata": await ctx.tool("fetch", url="http://169.254.169.254/latest/meta-data/"),
        "skipping the proxy": await ctx.tool("raw_connect", host="127.0.0.1", port=18080),
    }
