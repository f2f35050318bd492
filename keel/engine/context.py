"""Context: what a workflow function sees; every call is journaled or derived from the journal."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid as uuidlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.engine.executor import RunExecution


class Context:
    """The handle a workflow uses to run steps, sleep and wait, replay-safely."""

    def __init__(self, execution: RunExecution) -> None:
        self._x = execution
        self._uuids = 0

    @property
    def run_id(self) -> str:
        return self._x.run.run_id

    @property
    def workflow_name(self) -> str:
        return self._x.run.workflow_name

    @property
    def workflow_version(self) -> str:
        return self._x.run.workflow_version

    @property
    def org_id(self) -> str | None:
        return self._x.run.org_id

    @property
    def user_id(self) -> str | None:
        return self._x.run.user_id

    async def run(self, fn: Callable[..., Any] | str, /, *args: Any, **kwargs: Any) -> Any:
        """Run `fn` as a durable step: executed once, its JSON result journaled and replayed."""
        return await self._x.run_step(fn, args, kwargs)

    async def sleep(self, seconds: float | dt.timedelta) -> None:
        """A durable timer: the run holds no worker while it waits, and survives restarts."""
        if isinstance(seconds, dt.timedelta):
            seconds = seconds.total_seconds()
        await self._x.sleep(float(seconds))

    async def wait_for_signal(self, name: str, timeout: float | dt.timedelta | None = None) -> Any:
        """Wait durably for `app.signal(run_id, name, payload)`; returns the payload.

        Raises SignalTimeoutError when `timeout` seconds pass first.
        """
        if isinstance(timeout, dt.timedelta):
            timeout = timeout.total_seconds()
        return await self._x.wait_for_signal(name, timeout)

    def now(self) -> dt.datetime:
        """The current UTC time, recorded on first execution and the same on every replay."""
        return dt.datetime.fromtimestamp(self._x.now_value(), tz=dt.UTC)

    def uuid(self) -> uuidlib.UUID:
        """A random-looking UUID that is the same on every replay of this run."""
        self._uuids += 1
        digest = hashlib.sha256(f"{self.run_id}/{self._uuids}".encode()).digest()
        return uuidlib.UUID(bytes=digest[:16], version=4)
