"""`keel audit verify | proof | export | checkpoint`: check, prove and seal the governance audit log."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from keel.cli._output import console, note, print_json
from keel.cli._target import CliState
from keel.errors import UsageError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

app = typer.Typer(help="The audit log: verify it, prove an entry, export sealed segments.", no_args_is_help=True)


def _trusted_keys(path: Path | None) -> dict[str, Ed25519PublicKey] | None:
    """Pinned public keys from a JSON file: {key_id: hex} or an export's keys.json ({key_id: {public_key}})."""
    if path is None:
        return None
    from keel.governance.keys import key_id, load_public_key

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the trusted keys in {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise UsageError(f"{path} must hold a JSON object of key id -> public key")
    keys: dict[str, Ed25519PublicKey] = {}
    for kid, value in raw.items():
        public_hex = value.get("public_key") if isinstance(value, dict) else value
        try:
            key = load_public_key(str(public_hex))
        except ValueError:
            raise UsageError(f"{path}: key {kid!r} is not a hex Ed25519 public key") from None
        if key_id(key) != kid:
            raise UsageError(f"{path}: key {kid!r} does not have that id (it is {key_id(key)})")
        keys[kid] = key
    return keys


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    full: Annotated[
        bool, typer.Option("--full", help="Check every entry's signature, not only those no checkpoint covers.")
    ] = False,
    trusted: Annotated[
        Path | None,
        typer.Option("--trusted-keys", help="Trust only these public keys (JSON), not the database's key table."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Check the chain, hashes, signatures and checkpoints; exit 1 naming the first bad entry."""
    from keel.governance import AuditLog

    state: CliState = ctx.obj
    keys = _trusted_keys(trusted)
    last = [time.monotonic()]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] > 2 or done >= total:
            print(f"  verified {done:,}/{total:,} entries", file=sys.stderr, flush=True)
            last[0] = now

    with state.store() as store:
        report = AuditLog(store, signer=None).verify(full=full, trusted_keys=keys, progress=progress)
        waiting, oldest = store.audit_outbox_backlog()
    if as_json:
        print_json({**report.as_dict(), "outbox": {"waiting": waiting, "oldest_at": oldest}})
    elif report.ok:
        console.print(
            f"[green]ok[/green]: {report.entries:,} entries, {report.checkpoints:,} checkpoints, "
            f"{report.signatures_checked:,} entry signatures checked ({report.unsealed:,} not yet checkpointed), "
            f"{report.seconds:.2f} s",
            soft_wrap=True,
        )
    else:
        assert report.problem is not None
        console.print(f"[red]BAD[/red] {report.problem.describe()}", soft_wrap=True)
        note(f"checked {report.entries:,} entries before it; nothing after it can be trusted")
    if waiting:
        # Committed with the runs' checkpoints but not chained yet: a worker (or `keel audit seal`) will.
        note(f"{waiting:,} event(s) committed by runs wait in the outbox to be sealed (keel audit seal)")
    if not report.ok:
        raise typer.Exit(1)


@app.command("proof", no_args_is_help=True)
def proof_command(
    ctx: typer.Context,
    event_id: Annotated[str, typer.Argument(metavar="EVENT_ID", help="The entry's event id.")],
    checkpoint: Annotated[
        int | None,
        typer.Option("--checkpoint", min=1, help="Prove against this checkpoint (tree size); default the newest."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Print the inclusion proof of one entry in a signed checkpoint, and check it."""
    from keel.governance import AuditLog

    state: CliState = ctx.obj
    with state.store() as store:
        log = AuditLog(store, signer=None)
        proof = log.inclusion_proof(event_id, checkpoint)
        problem = proof.verify(log.public_keys())
    if as_json:
        print_json({**proof.as_dict(), "verified": problem is None, "problem": problem})
    else:
        entry, cp = proof.entry, proof.checkpoint
        console.print(
            f"entry {entry.seq} ({entry.event_type} by {entry.actor.kind}:{entry.actor.id}, {entry.timestamp})"
        )
        console.print(f"  hash       {entry.hash}")
        console.print(f"  leaf hash  {proof.leaf_hash}  (index {entry.seq - 1})")
        for i, node in enumerate(proof.path):
            console.print(f"  path[{i}]    {node}")
        console.print(f"checkpoint size {cp.size}, root {cp.root}, {cp.timestamp}, key {cp.key_id}")
        if problem is None:
            console.print("[green]verified[/green]: the entry is in the tree the checkpoint signed")
        else:
            console.print(f"[red]NOT VERIFIED[/red]: {problem}")
    if problem is not None:
        raise typer.Exit(1)


@app.command("export", no_args_is_help=True)
def export_command(
    ctx: typer.Context,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="DIR|s3://BUCKET/PREFIX",
            help="A directory, or an S3 bucket with Object Lock (endpoint and credentials from AWS_* variables).",
        ),
    ],
    retain_days: Annotated[
        int | None,
        typer.Option(
            "--retain-days",
            min=1,
            help="S3 only: Object Lock retention of each object, in days [default: the audit retention, 2557].",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Write one sealed, read-only segment per checkpointed range; never overwrite one."""
    from keel.governance import AuditLog
    from keel.governance.retention import RetentionPolicy
    from keel.governance.sinks import DirectorySink, sink_for

    state: CliState = ctx.obj
    if retain_days is None:
        retain_days = RetentionPolicy.from_env().audit_limit_days() or RetentionPolicy().audit_days
    sink = sink_for(to, retain_days=retain_days)
    with state.store() as store:
        report = AuditLog(store, signer=None).export(sink)
    out: dict[str, Any] = {"written": report.written, "existing": report.existing, "unsealed": report.unsealed}
    if report.pruned:
        out["pruned"] = report.pruned  # segments retention purged from the database (exported before)
    if as_json:
        print_json(out)
        return
    where = str(sink.root) if isinstance(sink, DirectorySink) else sink.name
    for name in report.written:
        console.print(f"wrote {where}/{name}")
    pruned = f", {report.pruned} purged by retention" if report.pruned else ""
    console.print(
        f"{len(report.written)} segment(s) written, {len(report.existing)} already there{pruned}; "
        f"{report.unsealed} entries wait for the next checkpoint"
    )


@app.command("checkpoint")
def checkpoint_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Sign a checkpoint over every entry now (needs the signing key: KEEL_AUDIT_KEY or KEEL_AUDIT_KEY_FILE)."""
    from keel.governance import AuditLog

    state: CliState = ctx.obj
    with state.store() as store:
        cp = AuditLog.from_env(store).checkpoint()
    if as_json:
        print_json(None if cp is None else cp.as_dict())
    elif cp is None:
        console.print("the audit log is empty: nothing to checkpoint", style="dim")
    else:
        console.print(f"checkpoint size {cp.size}, root {cp.root}, {cp.timestamp}")


@app.command("seal")
def seal_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Chain the events runs committed to the outbox now (workers do it on their own; needs the signing key)."""
    from keel.governance import AuditLog
    from keel.governance.outbox import seal

    state: CliState = ctx.obj
    with state.store() as store:
        sealed = seal(AuditLog.from_env(store))
        waiting, _oldest = store.audit_outbox_backlog()
    if as_json:
        print_json({"sealed": sealed, "waiting": waiting})
    else:
        console.print(f"sealed {sealed:,} event(s) into the chain; {waiting:,} waiting")
