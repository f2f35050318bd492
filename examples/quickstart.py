"""Quickstart: onboard a customer in five durable steps.

    keel run examples/quickstart.py:onboard --input '{"customer": "Ada"}'

Every step's result is checkpointed before the next one starts, so if the process dies the
run continues where it stopped (`keel worker examples/quickstart.py` picks it up). Nothing here
talks to the network: the "services" are stand-ins that return at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from keel import App, Context, NonRetryableError, RetryPolicy

app = App("quickstart")

# Welcome emails that already failed once, by idempotency key: the demo's mail server
# rejects the first attempt of every run, so each run shows one retry (and only one).
_mail_attempted: set[str] = set()


@dataclass
class Workspace:
    workspace_id: str
    region: str


@app.step(retry=RetryPolicy(max_attempts=1))
def check_customer(customer: str, plan: str) -> str:
    """Validate the input; a bad name is not worth retrying."""
    name = customer.strip()
    if not name:
        raise NonRetryableError("customer name must not be empty")
    if plan not in ("starter", "team", "enterprise"):
        raise NonRetryableError(f"unknown plan {plan!r}")
    return name


@app.step()
def delete_workspace(customer: str, workspace_id: str, *, result: dict[str, str]) -> None:
    """Compensation: undo create_workspace if the run is aborted or cancelled later."""
    # Called with create_workspace's arguments and its journaled result (as JSON).


@app.step(compensate=delete_workspace)
def create_workspace(customer: str, workspace_id: str, *, idempotency_key: str) -> Workspace:
    """Provision a workspace; a real provider deduplicates on the idempotency key."""
    # The key is "{run_id}:{seq}": the same on every retry and after a crash, so a
    # provider that honours it never creates a second workspace for this run.
    return Workspace(workspace_id=workspace_id, region="eu-west-1")


@app.step(retry=RetryPolicy(max_attempts=3, initial_backoff=0.2))
def send_welcome_email(customer: str, workspace: Workspace, *, idempotency_key: str) -> str:
    """Send the welcome email; the first attempt fails with a transient error."""
    if idempotency_key not in _mail_attempted:
        _mail_attempted.add(idempotency_key)
        raise ConnectionError("mail server busy, try again")
    return f"welcome email sent to {customer} for workspace {workspace.workspace_id}"


@app.step()
def activate_account(customer: str, plan: str, workspace: Workspace, signed_up_at: str) -> dict[str, str]:
    """Mark the account active and return its summary."""
    return {
        "customer": customer,
        "plan": plan,
        "workspace": workspace.workspace_id,
        "region": workspace.region,
        "signed_up_at": signed_up_at,
        "status": "active",
    }


@app.workflow()
async def onboard(ctx: Context, customer: str, plan: str = "starter") -> dict[str, str]:
    """Onboard one customer: validate, provision, wait, email, activate."""
    name = await ctx.run(check_customer, customer, plan)
    # ctx.uuid() and ctx.now() are the same on every replay of this run.
    workspace = await ctx.run(create_workspace, name, f"ws-{ctx.uuid().hex[:8]}")
    await ctx.sleep(0.5)  # a durable timer: "wait until the workspace is ready"
    await ctx.run(send_welcome_email, name, workspace)
    signed_up_at = ctx.now().isoformat(timespec="seconds")
    summary: dict[str, str] = await ctx.run(activate_account, name, plan, workspace, signed_up_at)
    return summary
