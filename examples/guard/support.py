"""A support reply drafted by a model that never sees the customer's personal data.

cd examples/guard
keel run support.py:reply --user jane --input '{"ticket": "Hi, Jane Doe here (jane.doe@example.com).
    My card 4111 1111 1111 1111 was charged twice."}'     # (one line)
keel runs reveal RUN_ID --as jane      # the reply with the values put back, for the data subject only
"""

from __future__ import annotations

import keel

app = keel.App("guard-example")  # keel.toml in this folder configures the (offline) model


@app.workflow()  # guard={"pii": "redact", "injection": "block"}: the defaults
async def reply(ctx: keel.Context, ticket: str) -> dict[str, object]:
    answer = await ctx.llm(
        "reply",
        messages=[
            {"role": "system", "content": "You draft short replies to support tickets."},
            {"role": "user", "content": ticket},
        ],
        max_tokens=200,
    )
    # The model saw placeholders; its answer comes back with placeholders too (the address it
    # repeated is redacted on the way out), and `guard` says what was found: types and counts only.
    return {"reply": answer.text, "guard": answer.guard}
