"""Ticket triage: a model classifies the ticket (with a fallback model), a step routes it.

cd examples/triage && keel run triage.py:triage --input '{"ticket": "I was charged twice"}'
"""

from __future__ import annotations

from pydantic import BaseModel

import keel

app = keel.App("triage")  # keel.toml in this folder configures the model gateway


class Triage(BaseModel):
    category: str
    urgent: bool


@app.step()
def route_ticket(category: str, urgent: bool) -> str:
    return f"{'urgent-' if urgent else ''}{category}-queue"


@app.workflow()
async def triage(ctx: keel.Context, ticket: str) -> dict[str, str | float]:
    answer = await ctx.llm(
        "triage",
        f"Classify this support ticket: {ticket}",
        system="You triage support tickets. Answer with JSON only.",
        schema=Triage,
        max_tokens=100,
    )
    queue = await ctx.run(route_ticket, answer.data.category, answer.data.urgent)
    return {"queue": queue, "model": answer.model, "cost_usd": answer.cost_usd}
