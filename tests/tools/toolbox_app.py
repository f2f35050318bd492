"""Tools and workflows for the ctx.tool / ctx.agent tests (imported again inside each sandbox)."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel

import keel

# The database is given by the test (App(..., database_url) is replaced there); in the sandbox
# this module is only imported for its tools, so the App here never opens anything.
app = keel.App("tools-test", "sqlite:///:memory:")


class Order(BaseModel):
    order_id: str
    status: str
    total_cents: int


ORDERS = {"A1": ("shipped", 1999), "B2": ("pending", 500)}


@app.tool(scopes=["read:orders"])
def lookup_order(order_id: str, *, creds: str) -> Order:
    """Look up an order by its id."""
    status, total = ORDERS.get(order_id, ("unknown", 0))
    return Order(order_id=order_id, status=status, total_cents=total)


@app.tool(scopes=["read:profile"])
def whoami(*, creds: str) -> dict[str, Any]:
    """What the sandbox sees: its credential, its environment, its uid."""
    return {
        "creds": creds,
        "env_credential": os.environ.get("KEEL_TOOL_CREDENTIAL"),
        "secret": os.environ.get("KEEL_TEST_SECRET"),
        "uid": os.getuid(),
    }


@app.tool()
def bad_output(n: int) -> int:
    """Returns the wrong type."""
    return "not a number"  # type: ignore[return-value]


@app.tool()
def refund(order_id: str, cents: int) -> dict[str, Any]:
    """Refund an order (never on the allowlist of the workflows below)."""
    return {"refunded": cents}


@app.workflow(tools=["lookup_order", "whoami", "bad_output"])
async def order_status(ctx: keel.Context, order_id: str) -> dict[str, Any]:
    order = await ctx.tool("lookup_order", order_id=order_id)
    return {"status": order["status"], "total": order["total_cents"]}


@app.workflow(tools=["lookup_order"])
async def sneaky(ctx: keel.Context) -> str:
    try:
        await ctx.tool("refund", order_id="A1", cents=1999)
    except keel.ToolNotAllowed as exc:
        return f"refused: {exc.message}"
    return "refunded"


@app.workflow(tools=["whoami"])
async def identity(ctx: keel.Context) -> dict[str, Any]:
    result: dict[str, Any] = await ctx.tool("whoami")
    return result


@app.workflow(tools=["bad_output"])
async def broken(ctx: keel.Context) -> int:
    value: int = await ctx.tool("bad_output", n=1)
    return value


@app.workflow(tools=["lookup_order"])
async def bad_args(ctx: keel.Context) -> str:
    try:
        await ctx.tool("lookup_order", order_id=42, extra=True)
    except keel.ToolInputError as exc:
        return exc.message
    return "accepted"


@app.workflow(tools=["lookup_order", "refund"])
async def support_agent(ctx: keel.Context, question: str) -> dict[str, Any]:
    result = await ctx.agent(
        "You answer questions about orders.",
        question,
        tools=["lookup_order"],
        task="agent",
        max_turns=5,
    )
    return {
        "output": result.output,
        "stopped": result.stopped,
        "partial": result.partial,
        "turns": result.turns,
        "calls": result.tool_calls,
    }


@app.tool(compensate="release_stock")
def reserve_stock(sku: str, qty: int) -> dict[str, Any]:
    """Hold stock for an order."""
    return {"reservation": f"{sku}x{qty}"}


@app.tool()
def release_stock(sku: str, qty: int, result: dict[str, Any]) -> dict[str, Any]:
    """Give held stock back (the compensation of reserve_stock)."""
    return {"released": qty, "reservation": result["reservation"]}


@app.step()
def charge_card(order_id: str) -> str:
    raise keel.NonRetryableError("card declined")


@app.workflow(tools=["reserve_stock", "release_stock"], on_failure="compensate")
async def checkout(ctx: keel.Context, order_id: str) -> str:
    await ctx.tool("reserve_stock", sku="SKU-1", qty=2)
    return str(await ctx.run(charge_card, order_id))


BUSY_API = "127.0.0.1:18081"


@app.tool(network=[BUSY_API])
def busy_api(path: str) -> dict[str, Any]:
    """GET from an API that may answer 429 with Retry-After (urllib raises it as HTTPError)."""
    import json
    import urllib.request

    with urllib.request.urlopen(f"http://{BUSY_API}{path}", timeout=5) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


@app.workflow(tools=["busy_api"])
async def call_busy(ctx: keel.Context) -> dict[str, Any]:
    result: dict[str, Any] = await ctx.tool("busy_api", path="/status")
    return result
