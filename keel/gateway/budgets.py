"""The one budget evaluator every model call goes through: which budgets a call falls under,
reserving its worst case before it is sent, settling it with the real usage, and alerts.

Budgets (`[budgets]` in keel.toml) and the ledger each uses:

- `run_usd`, `run_tokens`, `workflow_version_max_tokens`: `run:<run id>` (the tightest token
  limit of the three applies);
- `user_daily_usd`/`_tokens`: `user:<org>/<user>:day:<UTC date>` (runs without a user skip it);
- `org_monthly_usd`/`_tokens`: `org:<org>:month:<UTC month>` (runs without an org share `none`);
- `[budgets.tags.NAME]`: `tag:NAME:<period>` for every call that carries tag NAME. Each call
  carries `workflow:NAME`, `workflow:NAME@VERSION`, `route:TASK`, `model:ID`, `org:ORG`, plus
  the tags the workflow passes to `ctx.llm(tags=...)`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx2

from keel.engine.ports import CallScope
from keel.errors import BudgetExceeded
from keel.gateway.config import BudgetsConfig
from keel.observe import metrics
from keel.observe.metrics import NO_ORG
from keel.store import Store
from keel.store.budgets import Crossed, Ledger, LedgerState, Refusal
from keel.types import Clock

log = logging.getLogger("keel.gateway.budgets")

# A hold outlives its call's timeout by this much before it is presumed abandoned (its worker
# died) and released: long enough for a slow settle commit, short enough not to starve a budget.
HOLD_GRACE_S = 60.0
WEBHOOK_TIMEOUT_S = 5.0
WEBHOOK_ATTEMPTS = 3


@dataclass(frozen=True)
class Hold:
    """A reservation made for one provider call (`None` ledgers: no budget applies)."""

    hold_id: str
    keys: tuple[str, ...]
    usd: float
    tokens: int


def call_tags(scope: CallScope, task: str, model: str) -> tuple[str, ...]:
    """Every tag a call carries, automatic ones first."""
    tags = [f"route:{task}", f"model:{model}", f"org:{scope.org_id or NO_ORG}"]
    if scope.workflow:
        tags.append(f"workflow:{scope.workflow}")
        if scope.workflow_version:
            tags.append(f"workflow:{scope.workflow}@{scope.workflow_version}")
    tags.extend(scope.tags)
    return tuple(dict.fromkeys(tags))


class BudgetEvaluator:
    """Reserves and settles model calls against the configured budgets, in Keel's database."""

    def __init__(self, config: BudgetsConfig, store: Store, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self._webhook: _Webhook | None = None

    def ledgers(self, scope: CallScope, task: str, model: str) -> list[Ledger]:
        """The budgets a call of `task` on `model` for `scope` falls under, keyed by period."""
        cfg = self.config
        now = datetime.fromtimestamp(self.clock.time(), UTC)
        day, month = now.strftime("%Y-%m-%d"), now.strftime("%Y-%m")
        org = scope.org_id or NO_ORG
        found: list[Ledger] = []
        if scope.run_id is not None:
            token_limits = [x for x in (cfg.run_tokens, cfg.workflow_version_max_tokens) if x is not None]
            if cfg.run_usd is not None or token_limits:
                found.append(
                    Ledger(f"run:{scope.run_id}", "run", cfg.run_usd, min(token_limits) if token_limits else None)
                )
        if scope.user_id is not None and (cfg.user_daily_usd is not None or cfg.user_daily_tokens is not None):
            found.append(
                Ledger(f"user:{org}/{scope.user_id}:day:{day}", "user_daily", cfg.user_daily_usd, cfg.user_daily_tokens)
            )
        if cfg.org_monthly_usd is not None or cfg.org_monthly_tokens is not None:
            found.append(Ledger(f"org:{org}:month:{month}", "org_monthly", cfg.org_monthly_usd, cfg.org_monthly_tokens))
        if cfg.tags:
            for tag in call_tags(scope, task, model):
                budget = cfg.tags.get(tag)
                if budget is None:
                    continue
                if budget.period == "run":
                    if scope.run_id is None:
                        continue
                    period = f"run:{scope.run_id}"
                else:
                    period = f"day:{day}" if budget.period == "day" else f"month:{month}"
                found.append(Ledger(f"tag:{tag}:{period}", f"tag:{tag}", budget.usd, budget.tokens))
        return found

    async def reserve(
        self, scope: CallScope, task: str, model: str, *, usd: float, tokens: int, timeout_s: float
    ) -> Hold:
        """Hold a call's worst case on every budget it falls under, or raise BudgetExceeded."""
        ledgers = self.ledgers(scope, task, model)
        if not ledgers:
            return Hold("", (), 0.0, 0)
        hold_id = str(uuid.uuid4())
        now = self.clock.time()
        refusal = await self.store.abudget_reserve(
            hold_id,
            ledgers,
            usd=usd,
            tokens=tokens,
            run_id=scope.run_id,
            now=now,
            expires_at=now + timeout_s + HOLD_GRACE_S,
        )
        if refusal is not None:
            raise self._exceeded(refusal, model)
        return Hold(hold_id, tuple(sorted(ledger.key for ledger in ledgers)), usd, tokens)

    async def settle(self, hold: Hold, *, usd: float, tokens: int) -> None:
        """Charge what the call really cost and release its hold; alert on thresholds crossed."""
        if not hold.keys:
            return
        crossed = await self.store.abudget_settle(
            hold.hold_id,
            hold.keys,
            usd=usd,
            tokens=tokens,
            thresholds=self.config.alert_thresholds,
            now=self.clock.time(),
        )
        for alert in crossed:
            self._alert(alert)

    def _exceeded(self, refusal: Refusal, model: str) -> BudgetExceeded:
        ledger = refusal.ledger
        # Levels are configured names (bounded), so they are safe as a label value.
        metrics.METRICS.budget_refusals.labels(ledger.level).inc()
        details = {
            "level": ledger.level,
            "budget": ledger.key,
            "model": model,
            **_limits(ledger),
            "reserved_usd": round(ledger.reserved_usd, 6),
            "reserved_tokens": ledger.reserved_tokens,
            "asked_usd": round(refusal.asked_usd, 6),
            "asked_tokens": refusal.asked_tokens,
        }
        log.warning(
            "budget %s has no room for a call to %s",
            ledger.key,
            model,
            extra={"event_type": "budget.exceeded", **details},
        )
        return BudgetExceeded(f"{_describe(ledger)}: no room for a call that may cost {_asked(refusal)}", **details)

    def _alert(self, crossed: Crossed) -> None:
        ledger = crossed.ledger
        percent = round(crossed.threshold * 100)
        metrics.METRICS.budget_alerts.labels(ledger.level, str(percent)).inc()
        body = {
            "event": "budget.alert",
            "level": ledger.level,
            "budget": ledger.key,
            "threshold": crossed.threshold,
            **_limits(ledger),
            "used_fraction": round(ledger.used_fraction(), 6),
            "at": datetime.fromtimestamp(self.clock.time(), UTC).isoformat(),
        }
        log.warning(
            "budget %s passed %d%% of its limit", ledger.key, percent, extra={"event_type": "budget.alert", **body}
        )
        if self.config.alert_webhook_url is not None:
            if self._webhook is None:
                self._webhook = _Webhook(self.config.alert_webhook_url, self.config.alert_webhook_secret_env)
            self._webhook.send(body)

    def close(self) -> None:
        """Deliver the alerts still queued for the webhook (a few seconds at most), then stop."""
        if self._webhook is not None:
            self._webhook.close()
            self._webhook = None


class _Webhook:
    """Posts alerts from a thread of its own: a call never waits for it, and an alert raised just
    before a script's event loop ends is still delivered (the App's close waits for it)."""

    def __init__(self, url: str, secret_env: str | None) -> None:
        self.url = url
        self.secret_env = secret_env
        self._queue: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="keel-budget-webhook", daemon=True)
        self._thread.start()

    def send(self, body: dict[str, Any]) -> None:
        self._queue.put(body)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=WEBHOOK_TIMEOUT_S * WEBHOOK_ATTEMPTS)

    def _loop(self) -> None:
        with httpx2.Client(timeout=WEBHOOK_TIMEOUT_S) as client:
            while (body := self._queue.get()) is not None:
                self._post(client, body)

    def _post(self, client: httpx2.Client, body: dict[str, Any]) -> None:
        """Deliver one alert, a few times at most; a failure is logged, never raised."""
        payload = json.dumps(body, sort_keys=True).encode()
        headers = {"content-type": "application/json", "user-agent": "keel-budget-alerts"}
        # Read at each alert, so a rotated secret applies without a restart.
        secret = os.environ.get(self.secret_env) if self.secret_env else None
        if secret:
            digest = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
            headers["x-keel-signature"] = f"sha256={digest}"
        problem = ""
        for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
            try:
                response = client.post(self.url, content=payload, headers=headers)
                if response.status_code < 300:
                    return
                problem = f"HTTP {response.status_code}"
            except httpx2.HTTPError as exc:
                problem = type(exc).__name__
            if attempt < WEBHOOK_ATTEMPTS:
                time.sleep(0.5 * 2 ** (attempt - 1))
        log.warning(
            "budget alert webhook failed after %d attempts: %s",
            WEBHOOK_ATTEMPTS,
            problem,
            extra={"event_type": "budget.webhook_failed", "budget": body["budget"]},
        )


def _limits(ledger: LedgerState) -> dict[str, Any]:
    return {
        "limit_usd": ledger.limit_usd,
        "limit_tokens": ledger.limit_tokens,
        "spent_usd": round(ledger.spent_usd, 6),
        "spent_tokens": ledger.spent_tokens,
    }


def _describe(ledger: LedgerState) -> str:
    parts = []
    if ledger.limit_usd is not None:
        parts.append(f"${ledger.spent_usd:.4f} spent + ${ledger.reserved_usd:.4f} held of ${ledger.limit_usd:g}")
    if ledger.limit_tokens is not None:
        parts.append(f"{ledger.spent_tokens} + {ledger.reserved_tokens} held of {ledger.limit_tokens} tokens")
    return f"budget {ledger.level} ({ledger.key}): " + ", ".join(parts)


def _asked(refusal: Refusal) -> str:
    return f"${refusal.asked_usd:.4f} / {refusal.asked_tokens} tokens"


__all__ = ["BudgetEvaluator", "Hold", "call_tags"]
