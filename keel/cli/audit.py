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
    if as_json:
        print_json(report.as_dict())
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
    to: Annotated[Path, typer.Option("--to", help="The directory to write sealed segments into.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Write one sealed, read-only segment per checkpointed range; never overwrite one."""
    from keel.governance import AuditLog

    state: CliState = ctx.obj
    with state.store() as store:
        report = AuditLog(store, signer=None).export(to)
    out: dict[str, Any] = {"written": report.written, "existing": report.existing, "unsealed": report.unsealed}
    if as_json:
        print_json(out)
        return
    for name in report.written:
        console.print(f"wrote {to / name}")
    console.print(
        f"{len(report.written)} segment(s) written, {len(report.existing)} already there; "
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
