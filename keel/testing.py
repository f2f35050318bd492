"""Keel's public test kit: a time-skipping clock and helpers for tests of workflows."""

from __future__ import annotations

import asyncio


class SkippingClock:
    """A clock whose sleeps return at once after advancing time (as Temporal's test server does).

    Lets a test observe every backoff and timer a workflow asks for without waiting for it.
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.now += seconds


__all__ = ["SkippingClock"]
