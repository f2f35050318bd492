"""The review queue made visible, on SQLite and PostgreSQL: the gauge agent_human_review_queue_depth
follows the pending reviews, and each new review request is logged and posted, signed, to the alert
webhook once (not again when the run resumes), without the webhook ever holding up or failing the run."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fake_servers import WebhookReceiver
from prometheus_client import REGISTRY

import keel
from governance import governed_app
from governance.governed_setup import RESOURCES, WEIGHTS, fresh_app, install
from keel.governance.governor import KeelGovernor
from keel.governance.review import ReviewDesk
from keel.observe import alerts
from keel.observe.metrics import set_review_queue_depth
from keel.store import open_store

SECRET = "test-only-review-webhook-secret"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    """A receiver the alert webhook points at, its posts signed with SECRET."""
    r = WebhookReceiver()
    webhook_to(monkeypatch, r.url)
    yield r
    r.close()


def webhook_to(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv(alerts.WEBHOOK_URL_ENV, url)
    monkeypatch.setenv(alerts.WEBHOOK_SECRET_ENV, "KEEL_TEST_REVIEW_WEBHOOK_SECRET")
    monkeypatch.setenv("KEEL_TEST_REVIEW_WEBHOOK_SECRET", SECRET)


@pytest.fixture
def app(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[keel.App]:
    """The governed test App on a fresh database, governed by risk alone (the allowlist as the policy)."""
    application = fresh_app(monkeypatch, db_url)
    monkeypatch.delenv(alerts.WEBHOOK_URL_ENV, raising=False)
    governor = KeelGovernor(
        application.store, weights=WEIGHTS, resources=RESOURCES, without_policy="allowlist", clock=application.clock
    )
    install(application, monkeypatch, governor)
    set_review_queue_depth(-1)  # whatever an earlier test left, this one must see it set
    yield application
    application.close()


def depth() -> float | None:
    return REGISTRY.get_sample_value("agent_human_review_queue_depth")


async def until_waiting(app: keel.App, handle: keel.app.RunHandle) -> None:
    """Drive the run here until it suspends on its review."""
    claims = await app.engine.claim(1, run_id=handle.run_id)
    assert claims, "the run should be claimable"
    assert await app.engine.drive(claims[0]) == "waiting"


def signed_json(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-keel-signature"], expected)
    return json.loads(body)  # type: ignore[no-any-return]


def requested_events(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event_type", None) == "review.requested"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_gauge_counts_a_waiting_review_and_drops_to_zero_when_it_is_approved(app: keel.App) -> None:
    handle = app.start(governed_app.refund_flow, "A1", 1999, org_id="acme")
    await until_waiting(app, handle)
    assert depth() == 1  # read by the worker right after its run asked, not at its next refresh
    outcome = ReviewDesk(app.store).approve(f"{handle.run_id}:2", "alice")
    assert outcome.decided
    assert depth() == 0  # set by the desk in this process
    assert await handle.result(timeout=60) == {"status": "shipped", "refunded": 1999}
    assert depth() == 0


async def test_a_rejection_and_an_overrides_two_approvals_keep_the_gauge_true(app: keel.App) -> None:
    refund = app.start(governed_app.refund_flow, "B2", 500, org_id="acme")
    wipe = app.start(governed_app.wipe_flow, "acct-9", org_id="acme")
    await until_waiting(app, refund)
    await until_waiting(app, wipe)
    assert depth() == 2
    desk = ReviewDesk(app.store)
    desk.approve(f"{wipe.run_id}:0", "alice")
    assert depth() == 2  # an override's first approval decides nothing
    desk.reject(f"{refund.run_id}:2", "bob", "over the limit")
    assert depth() == 1
    desk.approve(f"{wipe.run_id}:0", "bob")
    assert depth() == 0


async def test_a_worker_reads_the_depth_at_most_every_few_seconds(app: keel.App, db_url: str) -> None:
    """Reviews requested elsewhere (another process) show at the worker's next reading, which is bounded."""
    store = open_store(db_url)
    try:
        for step in (1, 2):
            store.review_request(
                review_id=f"elsewhere:{step}",
                run_id="elsewhere",
                step=step,
                action="tool:refund",
                risk_score=70,
                policy_version=None,
                kind="review",
                details={},
                now=1.0,
            )
            if step == 1:
                await app.engine.refresh_review_queue()
                assert depth() == 1
        await app.engine.refresh_review_queue()  # read a moment ago: not read again
        assert depth() == 1
        await app.engine.refresh_review_queue(max_age=0)
        assert depth() == 2
        assert store.review_pending_count() == 2
    finally:
        store.close()


def test_a_request_says_whether_it_created_the_review_and_only_pending_ones_count(db_url: str) -> None:
    store = open_store(db_url, migrate=True)
    try:
        fields: dict[str, Any] = dict(
            review_id="r:1",
            run_id="r",
            step=1,
            action="tool:refund",
            risk_score=70,
            policy_version=None,
            kind="review",
            details={},
        )
        first = store.review_request(**fields, now=1.0)
        again = store.review_request(**fields, now=2.0)  # a replay, or another worker after a lost lease
        assert (first.created, again.created) == (True, False)
        assert again.review == first.review and again.review.requested_at == 1.0
        assert store.review_pending_count() == 1
        store.review_reject("r:1", by="bob", reason="no", now=3.0)
        assert store.review_pending_count() == 0
    finally:
        store.close()


async def test_a_review_request_is_posted_signed_once_and_not_again_when_the_run_resumes(
    app: keel.App, receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="keel")
    handle = app.start(governed_app.refund_flow, "A1-secret-order", 1999, org_id="acme")
    await until_waiting(app, handle)
    receiver.wait_for(1)
    body, headers = receiver.received[0]
    posted = signed_json(body, headers)
    review_id = f"{handle.run_id}:2"
    requested_at = posted.pop("requested_at")
    assert posted == {
        "event": "review.requested",
        "review_id": review_id,
        "run_id": handle.run_id,
        "action": "tool:refund",
        "risk_score": 70,
        "kind": "review",
        "workflow": "refund_flow",
    }
    assert requested_at.endswith("+00:00")  # ISO 8601, UTC
    # Names only: no argument of the call, nothing from the request's details.
    assert b"A1-secret-order" not in body and b"1999" not in body and b"factors" not in body
    (logged,) = requested_events(caplog)
    assert (logged.review_id, logged.kind, logged.risk_score) == (review_id, "review", 70)  # type: ignore[attr-defined]

    ReviewDesk(app.store).approve(review_id, "alice")
    assert await handle.result(timeout=60) == {"status": "shipped", "refunded": 1999}
    # The resumed run asked for the same review again (insert-or-ignore) and found it: nothing more.
    assert len(requested_events(caplog)) == 1
    time.sleep(0.3)  # a second post, had there been one, would have started by now
    assert len(receiver.received) == 1


async def test_an_override_is_posted_as_one(app: keel.App, receiver: WebhookReceiver) -> None:
    handle = app.start(governed_app.wipe_flow, "acct-9", org_id="acme")
    await until_waiting(app, handle)
    receiver.wait_for(1)
    posted = signed_json(*receiver.received[0])
    assert (posted["kind"], posted["risk_score"], posted["action"]) == ("override", 95, "tool:wipe")


async def test_a_failing_webhook_does_not_fail_the_run(
    app: keel.App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="keel")
    failing = WebhookReceiver(status=500)
    try:
        webhook_to(monkeypatch, failing.url)
        handle = app.start(governed_app.refund_flow, "C3", 700, org_id="acme")
        await until_waiting(app, handle)
        failing.wait_for(1)
        ReviewDesk(app.store).approve(f"{handle.run_id}:2", "alice")
        assert await handle.result(timeout=60) == {"status": "shipped", "refunded": 700}
    finally:
        failing.close()
    deadline = time.monotonic() + 10
    while not any(getattr(r, "event_type", None) == "review.webhook_failed" for r in caplog.records):
        assert time.monotonic() < deadline, "the failed post should be logged"
        time.sleep(0.02)
    # Nobody listening at all, or a URL that is not one: the run waits for its review all the same.
    for url in (f"http://127.0.0.1:{free_port()}/nobody", "not a url"):
        webhook_to(monkeypatch, url)
        handle = app.start(governed_app.refund_flow, "D4", 1, org_id="acme")
        await until_waiting(app, handle)


async def test_a_slow_webhook_does_not_hold_the_run_up(app: keel.App, monkeypatch: pytest.MonkeyPatch) -> None:
    # Were the post made on the run's path, driving the run would take the whole (widened) timeout.
    monkeypatch.setattr(alerts, "WEBHOOK_TIMEOUT_S", 60.0)
    hold = threading.Event()
    slow = WebhookReceiver(hold=hold)
    try:
        webhook_to(monkeypatch, slow.url)
        handle = app.start(governed_app.refund_flow, "E5", 5, org_id="acme")
        started = time.monotonic()
        await until_waiting(app, handle)
        assert time.monotonic() - started < 20
        slow.wait_for(1)
        assert handle.status() == "waiting"
    finally:
        hold.set()
        slow.close()
