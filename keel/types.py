"""Shared value types and the Clock protocol (time comes through here so tests can control it)."""

from __future__ import annotations

import asyncio
import enum
import time
from typing import Protocol


class RunStatus(enum.StrEnum):
    """The states of a run; every transition between them is recorded with its time and cause."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DEAD_LETTER = "dead_letter"
    COMPENSATING = "compensating"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})


class Clock(Protocol):
    """Wall time in epoch seconds and an awaitable sleep."""

    def time(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))
