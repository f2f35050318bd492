"""The alert webhook: where Keel tells people something happened (the kill switch engaged or
released, a review requested).

Set `KEEL_ALERT_WEBHOOK_URL` to an http(s) URL; each alert is one JSON POST (`{"event": ...}`),
signed `x-keel-signature: sha256=<HMAC-SHA256 of the body>` when `KEEL_ALERT_WEBHOOK_SECRET_ENV`
names a variable holding the secret. One attempt, bounded by a short timeout; a failure is logged
and returned, never raised: an alert reports what already happened and must not undo or delay it.
It lives with the other signals to operators (metrics, logs) so that the engine, which requests
reviews, and every service can post to it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from keel.errors import ConfigError

log = logging.getLogger("keel.observe.alerts")

WEBHOOK_URL_ENV = "KEEL_ALERT_WEBHOOK_URL"
WEBHOOK_SECRET_ENV = "KEEL_ALERT_WEBHOOK_SECRET_ENV"
# One attempt, bounded: what the alert reports has already happened, and whoever is waiting on it
# (an operator on a command) should not wait on a slow receiver.
WEBHOOK_TIMEOUT_S = 3.0
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Webhook:
    """Where alerts are posted, and the variable holding their HMAC secret."""

    url: str
    secret_env: str | None = None

    @classmethod
    def from_env(cls) -> Webhook | None:
        """KEEL_ALERT_WEBHOOK_URL and KEEL_ALERT_WEBHOOK_SECRET_ENV; None when no URL is set."""
        url = os.environ.get(WEBHOOK_URL_ENV) or None
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{WEBHOOK_URL_ENV} must be an http:// or https:// URL with a host", key=WEBHOOK_URL_ENV)
        secret_env = os.environ.get(WEBHOOK_SECRET_ENV) or None
        if secret_env is not None and not _ENV_NAME.fullmatch(secret_env):
            raise ConfigError(
                f"{WEBHOOK_SECRET_ENV} names the environment variable holding the secret, not the secret itself",
                key=WEBHOOK_SECRET_ENV,
            )
        return cls(url, secret_env)

    def post(self, body: dict[str, Any]) -> str:
        """Post `body` once; "sent", or "failed: why" (logged, never raised)."""
        import httpx2  # only when an alert goes out: most commands never post one

        event = body.get("event")
        source = _source(event)
        payload = json.dumps(body, sort_keys=True).encode()
        headers = {"content-type": "application/json", "user-agent": "keel-" + source.replace("_", "-")}
        # Read at each alert, so a rotated secret applies without a restart.
        secret = os.environ.get(self.secret_env) if self.secret_env else None
        if secret:
            headers["x-keel-signature"] = "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
        elif self.secret_env:
            log.warning(
                "alert webhook sent unsigned: %s is not set",
                self.secret_env,
                extra={"event_type": f"{source}.webhook_unsigned", "event": event},
            )
        try:
            response = httpx2.post(self.url, content=payload, headers=headers, timeout=WEBHOOK_TIMEOUT_S)
            problem = "" if response.status_code < 300 else f"HTTP {response.status_code}"
        except httpx2.HTTPError as exc:
            problem = type(exc).__name__
        if not problem:
            return "sent"
        log.error(
            "alert webhook failed for %s: %s",
            event,
            problem,
            extra={"event_type": f"{source}.webhook_failed", "event": event},
        )
        return f"failed: {problem}"


def configured_webhook(event: str) -> Webhook | None:
    """The webhook the environment configures for `event`, None when none is; a bad setting is logged, not raised."""
    try:
        return Webhook.from_env()
    except ConfigError as exc:
        log.error(
            "alert webhook not sent for %s: %s",
            event,
            exc.message,
            extra={"event_type": f"{_source(event)}.webhook_failed", "event": event},
        )
        return None


def post_in_background(body: dict[str, Any]) -> threading.Thread | None:
    """Post `body` to the configured webhook from a thread of its own and return at once: the thread
    (for whoever must wait for it), None when no webhook is configured or its setting is bad (logged)."""
    webhook = configured_webhook(str(body.get("event")))
    if webhook is None:
        return None
    # A daemon thread: a process that exits while the receiver is slow loses this alert rather
    # than waiting up to the timeout for it; its failure is logged either way.
    thread = threading.Thread(target=webhook.post, args=(body,), name="keel-alert-webhook", daemon=True)
    thread.start()
    return thread


def _source(event: object) -> str:
    # Log events are named after what raised the alert (kill_switch.webhook_failed,
    # review.webhook_failed), so an operator's filters on them keep working as alerts are added.
    return str(event or "").partition(".")[0] or "alert"


__all__ = [
    "WEBHOOK_SECRET_ENV",
    "WEBHOOK_TIMEOUT_S",
    "WEBHOOK_URL_ENV",
    "Webhook",
    "configured_webhook",
    "post_in_background",
]
