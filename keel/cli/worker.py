"""`keel worker`: serve an App's workflows until SIGTERM/SIGINT, then drain and exit 0."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.engine import make_url

from keel.app import App
from keel.cli._output import StepLogger, setup_logging
from keel.cli._target import CliError, CliState, load_app
from keel.config import ToolSettings
from keel.errors import UsageError

if TYPE_CHECKING:
    # Imported by the command itself: every other command starts without the run machinery.
    from keel.engine.worker import Worker
    from keel.observe import metrics

log = logging.getLogger("keel.cli.worker")

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def serve(worker: Worker, app: App | None = None) -> None:
    """Run the worker; the first SIGTERM/SIGINT drains it, a second one stops at once."""
    loop = asyncio.get_running_loop()
    warming: asyncio.Task[None] | None = None
    if app is not None and app.has_tools:
        # Sandboxes started ahead of calls, in this loop (the one the calls run in): a tool's
        # first call does not pay the process start and its module's import.
        app.toolbox.use_pool(ToolSettings.from_env().pool_size)
        warming = asyncio.create_task(app.toolbox.prewarm())
    guard_warming = asyncio.create_task(_warm_guard(app)) if app is not None else None

    def drain(sig: signal.Signals) -> None:
        log.info(
            "received %s: draining (current steps finish, runs are released at the next step boundary)",
            sig.name,
            extra={"event_type": "worker.draining", "signal": sig.name},
        )
        worker.stop()
        for s in _SIGNALS:
            loop.remove_signal_handler(s)  # a second signal gets the default behaviour

    with contextlib.suppress(NotImplementedError):  # no loop signal handlers on Windows
        for s in _SIGNALS:
            loop.add_signal_handler(s, drain, s)
    try:
        await worker.run()
    finally:
        if guard_warming is not None:
            guard_warming.cancel()
        if warming is not None:
            warming.cancel()
            assert app is not None
            await app.toolbox.aclose()  # no pooled sandbox outlives the worker


async def _warm_guard(app: App) -> None:
    """Load the guard's models (injection encoders, NER) in a thread, so the first model call does not wait ~2 s."""
    try:
        # The guard screens model calls only, so an App without a gateway never needs it.
        guard = app.guard if app.gateway is not None else None
        if guard is not None:
            await asyncio.to_thread(guard.warm_up)
            log.info("guard models loaded", extra={"event_type": "guard.warmed_up"})
    except Exception as exc:  # noqa: BLE001  (the first model call reports it; the worker serves on)
        log.warning("could not warm up the guard: %s", exc, extra={"event_type": "guard.warm_up_failed"})


def _serve_metrics(app: App, port: int) -> metrics.MetricsServer:
    from keel.observe import metrics

    """Serve the metrics of every worker of this host sharing `port`, whichever of them answers."""
    queue = metrics.QueueCollector(lambda: app.store.queue_stats(time.time()))
    try:
        return metrics.serve(port, collectors=[queue])
    except OSError as exc:
        raise CliError(f"cannot serve metrics on port {port}: {exc.strerror or exc}") from None


def worker_command(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            metavar="MODULE_OR_FILE",
            help="module or path/to/file.py holding a keel.App (MODULE_OR_FILE:NAME picks one of several)",
        ),
    ],
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, help="Runs driven at the same time.")] = 8,
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", min=1, max=65535, help="Serve Prometheus metrics on this port.")
    ] = None,
) -> None:
    """Claim queued runs of an App's workflows and drive them; SIGTERM drains and exits 0."""
    from keel.observe import metrics

    state: CliState = ctx.obj
    if metrics_port is not None:
        # First of all: a metric used before this (by the app's module, say) would keep its values
        # in this process only, out of the sum every worker on the port serves.
        metrics.use_multiprocess_dir(metrics.default_multiprocess_dir(metrics_port))
    setup_logging(state.log_level or "info", state.log_format or "json")  # JSON lines: a worker runs in production
    app, where = load_app(source, state)
    versions = app.registry.versions()
    if not versions:
        raise UsageError(f"app {app.name!r} in {where} registers no workflows")
    metrics_server: metrics.MetricsServer | None = None
    try:
        app.store  # noqa: B018 - open now, so a bad URL or an old schema fails before "serving"
        if metrics_port is not None:
            metrics_server = _serve_metrics(app, metrics_port)
        app.listeners.append(StepLogger())
        worker = app.worker(concurrency)
        log.info(
            "serving %s from %s",
            ", ".join(f"{name} v{version}" for name, version in versions),
            where,
            extra={
                "event_type": "worker.serving",
                "app": app.name,
                "worker_id": app.engine.worker_id,
                "concurrency": concurrency,
                "database": make_url(app.database_url).render_as_string(hide_password=True),
            },
        )
        try:
            asyncio.run(serve(worker, app))
        except KeyboardInterrupt:
            log.warning(
                "stopped without draining: runs in flight are taken over when their leases lapse",
                extra={"event_type": "worker.interrupted"},
            )
            raise typer.Exit(130) from None
    finally:
        if metrics_server is not None:
            metrics_server.close()  # before the store closes, so no scrape reads a closed store
        app.close()
    log.info("worker exited cleanly", extra={"event_type": "worker.exited"})
