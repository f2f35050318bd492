"""`keel gdpr export | delete`: a data subject's access and erasure requests (see docs/governance.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import typer

from keel.cli._output import console, note, print_json
from keel.cli._target import CliState
from keel.errors import UsageError

if TYPE_CHECKING:
    from keel.governance.gdpr import CachePurger
    from keel.store import Store

app = typer.Typer(help="GDPR: export or erase everything held about a data subject.", no_args_is_help=True)

Subject = Annotated[str, typer.Option("--subject", help="The data subject: the user id their runs were started for.")]
Operator = Annotated[
    str | None, typer.Option("--operator", help="Who carries the request out, for the audit log [default: login name].")
]


def _operator(given: str | None) -> str:
    from keel.engine.estimate import current_user

    return given or current_user()


def _write_private(path: Path, data: bytes, *, force: bool) -> None:
    """Write `data` to `path` readable by its owner only; an existing file is replaced only with `force`."""
    if path.exists() and not force:
        raise UsageError(f"{path} exists: choose another --out, or add --force to replace it")
    directory = path.parent if str(path.parent) else Path(".")
    # Written whole under a temporary name (mkstemp makes it 0600), then put in place: a reader
    # never sees half a bundle, and the personal data is never readable by others, even briefly.
    fd, tmp = tempfile.mkstemp(prefix=".gdpr-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if force:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if the file appeared meanwhile: nothing is overwritten
            except FileExistsError:
                raise UsageError(f"{path} exists: choose another --out, or add --force to replace it") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


class _RedisPurger:
    """Removes a subject's cached answers from the gateway's Redis cache (RedisCache's key layout)."""

    def __init__(self, url: str, prefix: str) -> None:
        self._url = url
        self._prefix = prefix

    async def purge(self, keys: Sequence[tuple[str, str]]) -> int:
        if not keys:
            return 0
        from redis.asyncio import Redis

        removed = 0
        client = Redis.from_url(self._url)
        try:
            for org_key, request_hash in keys:
                org, hashed = quote(org_key, safe=""), quote(request_hash, safe="")
                removed += int(await client.delete(f"{self._prefix}x:{org}:{hashed}"))
                # The route is not known here; percent-encoding leaves no glob character in org or hash.
                async for raw in client.scan_iter(match=f"{self._prefix}s:{org}:*:{hashed}", count=500):
                    key = raw.decode() if isinstance(raw, bytes) else str(raw)
                    route = key[len(f"{self._prefix}s:{org}:") : -len(f":{hashed}")]
                    await client.zrem(f"{self._prefix}i:{org}:{route}", request_hash)
                    removed += int(await client.delete(key))
        finally:
            await client.aclose()
        return removed


def _external_caches(config_path: Path | None) -> list[CachePurger]:
    """The gateway's Redis cache, when keel.toml configures one (the database caches are purged in SQL)."""
    from keel.gateway.cache import DEFAULT_REDIS_PREFIX
    from keel.gateway.config import load_config

    config = load_config(config_path)
    if config is None or config.cache.backend != "redis":
        return []
    return [_RedisPurger(config.cache.redis_url_value(), DEFAULT_REDIS_PREFIX)]


def _audit_and_vault(store: Store) -> tuple[Any, Any]:
    from keel.governance import AuditLog
    from keel.guard.vault import Vault

    return AuditLog.from_env(store), Vault.from_env(store)


@app.command("export")
def export_command(
    ctx: typer.Context,
    subject: Subject,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the bundle to this file (mode 0600) instead of stdout.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
    operator: Operator = None,
) -> None:
    """Gather everything held about a subject into one JSON bundle: runs, journals, vault values, audit entries."""
    from keel.governance.gdpr import export_subject

    state: CliState = ctx.obj
    if out is not None and out.exists() and not force:
        raise UsageError(f"{out} exists: choose another --out, or add --force to replace it")
    who = _operator(operator)
    with state.store() as store:
        audit, vault = _audit_and_vault(store)
        bundle = asyncio.run(export_subject(store, subject, vault=vault, audit=audit, operator=who))
    counts = bundle["manifest"]["counts"]
    if out is None:
        print_json(bundle)
        return
    _write_private(out, (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode("utf-8"), force=force)
    console.print(
        f"wrote {out}: {counts['runs']} run(s), {counts['journal_entries']} journal entries, "
        f"{counts['vault_values']} vault value(s), {counts['audit_entries']} audit entries (mode 0600)",
        soft_wrap=True,
        markup=False,
    )


def _confirm(subject: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("deleting a subject's data cannot be undone: confirm with --yes (stdin is not a terminal)")
    sys.stderr.write(
        f"Erase everything held about subject {subject!r} (their runs' values, journal, vault key, cached answers)? "
        "This cannot be undone. [y/N] "
    )
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        note("nothing erased")
        raise typer.Exit(1)


@app.command("delete")
def delete_command(
    ctx: typer.Context,
    subject: Subject,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    cancel_running: Annotated[
        bool,
        typer.Option("--cancel-running", help="Cancel the subject's runs in flight first (else they refuse it)."),
    ] = False,
    wait: Annotated[
        float, typer.Option("--wait", help="With --cancel-running: seconds to wait for them to end.", min=0)
    ] = 30.0,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="keel.toml, for a Redis answer cache [default: $KEEL_CONFIG or ./keel.toml]."),
    ] = None,
    operator: Operator = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Erase a subject: shred their vault key, tombstone their runs' stored values, purge cached answers. Audited."""
    from keel.governance.gdpr import delete_subject

    state: CliState = ctx.obj
    _confirm(subject, yes)
    who = _operator(operator)
    caches = _external_caches(config)
    with state.store() as store:
        audit, vault = _audit_and_vault(store)
        report = asyncio.run(
            delete_subject(
                store,
                subject,
                operator=who,
                vault=vault,
                audit=audit,
                caches=caches,
                cancel_running=cancel_running,
                wait_s=wait,
            )
        )
    if json_out:
        print_json(report.as_dict())
        return
    console.print(
        f"erased subject {subject!r}: {report.runs} run(s), {report.steps} journal entries, "
        f"{report.spans} span(s), {report.signals} signal(s), {report.blobs_deleted} blob(s) deleted; "
        f"{report.vault_values} vault value(s) shredded; "
        f"{report.cache_exact + report.cache_semantic + report.cache_external} cached answer(s) purged; "
        f"audited as {report.audit_event_id}",
        soft_wrap=True,
        markup=False,
    )


__all__ = ["app"]
