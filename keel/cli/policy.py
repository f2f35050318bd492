"""`keel policy propose | approve | reject | show | history | check | validate`: Cedar policies, two
people per change.

`check` exits 0 when the request is allowed and 1 when it is denied (2 on a usage error), so a
script can gate on it; `validate` exits 0 when a set fits Keel's entity model and 1 when it does not.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from keel.cli._output import console, iso, note, print_json, when
from keel.cli._target import CliState
from keel.errors import UsageError

if TYPE_CHECKING:
    from keel.governance.policy import PolicyRecord, PolicyStore

app = typer.Typer(
    help="Cedar policies: propose a version, have a second person approve it, check a request.",
    no_args_is_help=True,
)

By = Annotated[str | None, typer.Option("--by", help="Who is doing this, for the audit log [default: the OS user].")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
ContextKeys = Annotated[
    list[str] | None,
    typer.Option(
        "--context-key",
        help="NAME:TYPE (Long, String or Bool): a context key your code passes besides the governor's; "
        "optional, so policies test `context has NAME` first. Repeatable.",
    ),
]
_INT = re.compile(r"-?[0-9]+")


def _context_keys(items: list[str] | None) -> dict[str, str]:
    keys: dict[str, str] = {}
    for item in items or []:
        name, sep, kind = item.rpartition(":")
        if not sep or not name or not kind:
            raise UsageError(f"--context-key takes NAME:TYPE (e.g. amount:Long), got {item!r}")
        keys[name] = kind
    from keel.governance.policy import keel_schema

    keel_schema(extra_context=keys)  # a bad type is a usage error before anything is read or opened
    return keys


def _resolve(policies: PolicyStore, text: str) -> str:
    """A full version, or an unambiguous prefix of one (with or without `sha256:`)."""
    text = text.strip()
    if policies.get(text) is not None:
        return text
    wanted = text if text.startswith("sha256:") else f"sha256:{text}"
    if len(wanted) < len("sha256:") + 6:
        raise UsageError(f"no policy version {text} (give at least 6 hex digits)")
    found = [r.version for r in policies.history(limit=10_000) if r.version.startswith(wanted)]
    if not found:
        raise UsageError(f"no policy version {text} (see `keel policy history`)")
    if len(found) > 1:
        raise UsageError(f"{text} matches {len(found)} policy versions: give more digits")
    return found[0]


def _record_json(record: PolicyRecord, *, with_text: bool = False) -> dict[str, Any]:
    out = record.as_dict(with_text=with_text)
    for key in ("proposed_at", "approved_at", "rejected_at", "superseded_at"):
        out[key] = iso(out[key])
    return out


@app.command("propose")
def propose_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A .cedar file, or a directory of them (searched recursively).")],
    by: By = None,
    context_keys: ContextKeys = None,
    as_json: AsJson = False,
) -> None:
    """Parse a policy set, validate it against Keel's entity model and propose it; it takes effect
    once someone else approves it."""
    from keel.governance.policy import PolicySchemaError, PolicySet, PolicyStore

    extra_context = _context_keys(context_keys)
    policy_set = PolicySet.from_dir(path)  # refuses a set that does not parse, before touching the database
    state: CliState = ctx.obj
    with state.store() as store:
        policies = PolicyStore(store)
        try:
            version = policies.propose(policy_set, by, extra_context=extra_context)
        except PolicySchemaError as exc:
            for problem in exc.errors:
                note(problem)
            raise UsageError(
                f"not proposed: {len(exc.errors)} problem(s) against Keel's entity model (listed above)"
            ) from None
        record = policies.get(version)
    assert record is not None
    if as_json:
        print_json({**_record_json(record), "policies": list(policy_set.policy_ids)})
        return
    console.print(version, soft_wrap=True, markup=False)
    note(
        f"proposed by {record.proposed_by}: {len(policy_set.files)} file(s), {len(policy_set.policy_ids)} "
        f"policies; it takes effect when someone else approves it: keel policy approve {version} --by NAME"
    )


@app.command("approve")
def approve_command(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="The version to activate (or an unambiguous prefix).")],
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Activate a proposed version; the approver must not be who proposed it."""
    from keel.governance.policy import PolicyStore

    state: CliState = ctx.obj
    with state.store() as store:
        policies = PolicyStore(store)
        record = policies.approve(_resolve(policies, version), by)
    if as_json:
        print_json({**_record_json(record), "superseded": record.superseded, "audit_seq": record.audit_seq})
        return
    console.print(
        f"[green]policy version {record.version} is active[/green]: proposed by {record.proposed_by}, "
        f"approved by {record.approved_by}",
        soft_wrap=True,
    )
    if record.superseded:
        note(f"it replaces {record.superseded}")
    note(f"audited: entry {record.audit_seq}")


@app.command("reject")
def reject_command(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="The proposed version to reject (or an unambiguous prefix).")],
    by: By = None,
    as_json: AsJson = False,
) -> None:
    """Reject a proposed version (its proposer may withdraw it this way)."""
    from keel.governance.policy import PolicyStore

    state: CliState = ctx.obj
    with state.store() as store:
        policies = PolicyStore(store)
        record = policies.reject(_resolve(policies, version), by)
    if as_json:
        print_json({**_record_json(record), "audit_seq": record.audit_seq})
        return
    console.print(f"policy version {record.version} rejected by {record.rejected_by}", soft_wrap=True)
    note(f"audited: entry {record.audit_seq}")


@app.command("show")
def show_command(ctx: typer.Context, as_json: AsJson = False) -> None:
    """The active version: who proposed and approved it, and its files; versions awaiting approval."""
    from keel.governance.policy import PolicyStore

    state: CliState = ctx.obj
    with state.store() as store:
        policies = PolicyStore(store)
        active = policies.active_record()
        pending = [r for r in policies.history(limit=10_000) if r.status == "proposed"]
    if as_json:
        print_json(
            {
                "active": None if active is None else _record_json(active, with_text=True),
                "pending": [_record_json(r) for r in pending],
            }
        )
        return
    if active is None:
        console.print("[yellow]no active policy version[/yellow]: every request is denied", soft_wrap=True)
    else:
        console.print(f"active: {active.version}", soft_wrap=True, markup=False)
        console.print(f"  proposed by {active.proposed_by} at {iso(active.proposed_at)}", soft_wrap=True)
        console.print(f"  approved by {active.approved_by} at {iso(active.approved_at)}", soft_wrap=True)
        for name, text in active.files.items():
            console.print(f"\n--- {name} ({len(text.encode())} bytes)", soft_wrap=True, markup=False)
            console.print(text, soft_wrap=True, markup=False, highlight=False)
    for r in pending:
        note(f"awaiting approval: {r.version} (proposed by {r.proposed_by} at {iso(r.proposed_at)})")


@app.command("history")
def history_command(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many versions.")] = 50,
    as_json: AsJson = False,
) -> None:
    """Every version, the most recently proposed first, with who proposed, approved or rejected it."""
    from keel.governance.policy import PolicyStore

    state: CliState = ctx.obj
    with state.store() as store:
        records = PolicyStore(store).history(limit=limit)
    if as_json:
        print_json([_record_json(r) for r in records])
        return
    if not records:
        console.print("no policy version proposed yet")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("VERSION", no_wrap=True)
    table.add_column("STATUS", no_wrap=True)
    table.add_column("PROPOSED (UTC)", no_wrap=True)
    table.add_column("BY")
    table.add_column("DECIDED BY")
    table.add_column("FILES")
    for r in records:
        decided = r.approved_by or r.rejected_by or "-"
        table.add_row(r.version[:19], r.status, when(r.proposed_at), r.proposed_by, decided, ", ".join(r.files))
    console.print(table)


def _split(option: str, value: str) -> tuple[str, str]:
    kind, sep, ident = value.partition(":")
    if not sep or not kind or not ident:
        raise UsageError(f"{option} must be KIND:ID (e.g. user:alice, order:8812), got {value!r}")
    return kind, ident


def _context_value(item: str) -> tuple[str, int | str | bool]:
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise UsageError(f"--context takes KEY=VALUE, got {item!r}")
    if _INT.fullmatch(raw):
        return key, int(raw)
    if raw in ("true", "false"):
        return key, raw == "true"
    try:
        float(raw)
    except ValueError:
        return key, raw
    raise UsageError(f"--context {key}={raw}: Cedar has no floats, pass an integer")


@app.command("check")
def check_command(
    ctx: typer.Context,
    principal: Annotated[str, typer.Option("--principal", help="agent:ID or user:ID.")],
    org: Annotated[str, typer.Option("--org", help="The principal's org.")],
    role: Annotated[str, typer.Option("--role", help="The principal's role.")],
    action: Annotated[str, typer.Option("--action", help="e.g. tool:refund.")],
    resource: Annotated[str, typer.Option("--resource", help="KIND:ID, e.g. order:8812.")],
    sensitivity: Annotated[
        str, typer.Option("--sensitivity", help="public, internal, confidential or restricted.")
    ] = "internal",
    resource_org: Annotated[
        str | None, typer.Option("--resource-org", help="The resource's org [default: --org].")
    ] = None,
    context: Annotated[
        list[str] | None, typer.Option("--context", help="KEY=VALUE (integers, true/false, text); repeatable.")
    ] = None,
    policies_path: Annotated[
        Path | None, typer.Option("--policies", help="Check against these .cedar files, not the active version.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Evaluate one request: prints allow or deny, the version and the deciding policies.

    Exit status: 0 allowed, 1 denied, 2 a usage error."""
    from keel.governance.policy import (
        PolicyEngine,
        PolicyRequest,
        PolicySet,
        Principal,
        Resource,
        active_engine,
    )

    p_kind, p_id = _split("--principal", principal)
    r_kind, r_id = _split("--resource", resource)
    ctx_values = dict(_context_value(item) for item in context or [])
    try:
        request = PolicyRequest(
            Principal(p_kind, p_id, org, role),
            action,
            Resource(r_kind, r_id, resource_org or org, sensitivity),
            ctx_values,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if policies_path is not None:
        candidate = PolicySet.from_dir(policies_path)
        for problem in candidate.validate():
            note(f"warning: {problem}")  # the decision still shows what this set would do
        engine: PolicyEngine | None = PolicyEngine(candidate)
    else:
        state: CliState = ctx.obj
        with state.store() as store:
            engine = active_engine(store)
    if engine is None:
        decision: dict[str, Any] = {
            "decision": "deny",
            "policy_version": None,
            "reasons": [],
            "errors": ["no active policy version: every request is denied"],
        }
    else:
        decision = engine.decide(request).as_dict()
    if as_json:
        print_json(decision)
    else:
        style = "green" if decision["decision"] == "allow" else "red"
        console.print(f"[{style}]{decision['decision']}[/{style}]")
        note(f"policy version: {decision['policy_version'] or 'none active'}")
        note(f"reasons: {', '.join(decision['reasons']) or '(none: denied by default)'}")
        for error in decision["errors"]:
            note(f"error: {error}")
    if decision["decision"] != "allow":
        raise typer.Exit(1)


@app.command("validate")
def validate_command(
    path: Annotated[Path, typer.Argument(help="A .cedar file, or a directory of them (searched recursively).")],
    context_keys: ContextKeys = None,
    as_json: AsJson = False,
) -> None:
    """Check a policy set against Keel's entity model without proposing it (no database needed).

    Exit status: 0 valid, 1 invalid (including a file that does not parse), 2 a usage error."""
    from keel.governance.policy import PolicyParseError, PolicySet

    extra_context = _context_keys(context_keys)
    version: str | None = None
    policies = 0
    try:
        policy_set = PolicySet.from_dir(path)
    except PolicyParseError as exc:
        problems = [exc.message]
    else:
        version, policies = policy_set.version, len(policy_set.policy_ids)
        problems = policy_set.validate(extra_context)
    if as_json:
        print_json({"valid": not problems, "version": version, "policies": policies, "errors": problems})
    elif problems:
        for problem in problems:
            console.print(problem, soft_wrap=True, markup=False)
        note(f"invalid: {len(problems)} problem(s)")
    else:
        console.print(f"valid: {policies} policies", soft_wrap=True)
        note(f"version {version}")
    if problems:
        raise typer.Exit(1)
