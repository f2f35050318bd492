"""Tools and workflows for the governed tool-call tests (imported again in each tool's child process)."""

from __future__ import annotations

from typing import Any

import keel

# The test gives the database and the governor; in a tool's child process this module is only
# imported for its tools, so this App never opens anything there.
app = keel.App("governed-test", "sqlite:///:memory:", guard=False, governor=False)


@app.tool(sandbox=False)
def lookup(order_id: str) -> dict[str, Any]:
    """Look an order up (low risk)."""
    return {"order_id": order_id, "status": "shipped"}


@app.tool(sandbox=False)
def refund(order_id: str, cents: int) -> dict[str, Any]:
    """Refund an order (risky enough for a person to approve)."""
    return {"refunded": cents, "order_id": order_id}


@app.tool(sandbox=False)
def wipe(account: str) -> dict[str, Any]:
    """Erase an account (blocked unless two people approve an override)."""
    return {"wiped": account}


@app.workflow(tools=["lookup", "refund"])
async def refund_flow(ctx: keel.Context, order_id: str, cents: int) -> dict[str, Any]:
    order = await ctx.tool("lookup", order_id=order_id)
    try:
        done = await ctx.tool("refund", order_id=order_id, cents=cents)
    except keel.ToolNotAllowed as exc:
        return {"status": order["status"], "refused": exc.message}
    return {"status": order["status"], "refunded": done["refunded"]}


@app.workflow(tools=["lookup"])
async def lookup_flow(ctx: keel.Context, order_id: str) -> dict[str, Any]:
    result: dict[str, Any] = await ctx.tool("lookup", order_id=order_id)
    return result


@app.workflow(tools=["wipe"])
async def wipe_flow(ctx: keel.Context, account: str) -> dict[str, Any]:
    result: dict[str, Any] = await ctx.tool("wipe", account=account)
    return result


@app.workflow(tools=["refund"])
async def refund_then_wait(ctx: keel.Context, order_id: str) -> str:
    """A refused call, then a durable wait: resuming replays the refusal from the journal."""
    try:
        await ctx.tool("refund", order_id=order_id, cents=100)
        outcome = "refunded"
    except keel.ToolNotAllowed as exc:
        outcome = f"refused: {exc.message}"
    await ctx.wait_for_signal("go")
    return outcome
