"""A worker process for the chaos tests: drains on SIGTERM, dies on SIGKILL."""

from __future__ import annotations

import signal
import sys

_stop_requested = False


def _early_stop(*_: object) -> None:
    # SIGTERM may arrive while the worker is still importing: remember it instead of dying.
    global _stop_requested
    _stop_requested = True


signal.signal(signal.SIGTERM, _early_stop)

import os  # noqa: E402
from pathlib import Path  # noqa: E402

# Tell the test that SIGTERM is now handled (before this, it would kill the interpreter).
Path(os.environ["CHAOS_READY_DIR"], str(os.getpid())).touch()

import asyncio  # noqa: E402

from chaos_app import app  # noqa: E402


async def main() -> None:
    worker = app.worker(concurrency=int(sys.argv[1]) if len(sys.argv) > 1 else 4)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, worker.stop)
    if _stop_requested:
        worker.stop()
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
