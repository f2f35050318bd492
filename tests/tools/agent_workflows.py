"""Agent workflows on the toolbox app that name the protocol their loop speaks (json, native or auto)."""

from __future__ import annotations

from typing import Any

from toolbox_app import app

import keel


async def _support(ctx: keel.Context, question: str, protocol: str, on_refused: str = "continue") -> dict[str, Any]:
    result = await ctx.agent(
        "You answer questions about orders.",
        question,
        tools=["lookup_order"],
        task="agent",
        max_turns=5,
        protocol=protocol,
        on_refused=on_refused,
    )
    return {
        "output": result.output,
        "stopped": result.stopped,
        "partial": result.partial,
        "turns": result.turns,
        "calls": result.tool_calls,
    }


@app.workflow(tools=["lookup_order", "refund"])
async def support_json(ctx: keel.Context, question: str) -> dict[str, Any]:
    return await _support(ctx, question, "json")


@app.workflow(tools=["lookup_order", "refund"])
async def support_native(ctx: keel.Context, question: str) -> dict[str, Any]:
    return await _support(ctx, question, "native")


@app.workflow(tools=["lookup_order", "refund"])
async def support_native_strict(ctx: keel.Context, question: str) -> dict[str, Any]:
    return await _support(ctx, question, "native", on_refused="stop")


@app.workflow(tools=["lookup_order", "refund"])
async def support_auto(ctx: keel.Context, question: str) -> dict[str, Any]:
    return await _support(ctx, question, "auto")


@app.workflow(tools=["bad_output"])
async def failing_tool(ctx: keel.Context, protocol: str) -> dict[str, Any]:
    result = await ctx.agent("Count.", "n=1", tools=["bad_output"], task="agent", max_turns=3, protocol=protocol)
    return {"output": result.output, "calls": result.tool_calls}
