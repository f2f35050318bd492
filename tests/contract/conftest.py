"""Helpers for the engine contract tests: apps that close themselves, and driving runs by hand."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest

import keel
from keel.testing import SkippingClock


@pytest.fixture
def make_app(db_url) -> Iterator[Callable[..., keel.App]]:
    """`make_app(clock=..., **settings)`: a keel.App on the test database, closed at teardown."""
    apps: list[keel.App] = []

    def make(clock: object | None = None, name: str = "test", **settings: object) -> keel.App:
        params = {"lease_ttl_s": 15.0, "poll_interval_s": 0.05, **settings}
        app = keel.App(name, db_url, clock=clock, settings=keel.EngineSettings(**params))  # type: ignore[arg-type]
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


@pytest.fixture
def clock() -> SkippingClock:
    return SkippingClock()


@pytest.fixture
def drive_once() -> Callable[[keel.App], Awaitable[str | None]]:
    """Claim one runnable run with `app`'s engine and drive it until it stops; its status, or None."""

    async def drive(app: keel.App, run_id: str | None = None) -> str | None:
        claims = await app.engine.claim(1, run_id=run_id)
        if not claims:
            return None
        return await asyncio.wait_for(app.engine.drive(claims[0]), 60)

    return drive
