"""The governed test App on a fresh database with a governor of the test's choosing (shared by the tests)."""

from __future__ import annotations

import pytest

import keel
from governance import governed_app
from keel.governance.governor import KeelGovernor, ResourceRule
from keel.governance.risk import RiskWeights

# lookup: 5 (public) -> allow; refund: 40 + 30 (confidential) = 70 -> review; wipe: 45 + 50 = 95 -> block.
WEIGHTS = RiskWeights(default_tool=5, tools={"refund": 40, "wipe": 45}, run_carry=0)
RESOURCES = {
    "lookup": ResourceRule(kind="order", sensitivity="public", id_arg="order_id"),
    "refund": ResourceRule(kind="order", sensitivity="confidential", id_arg="order_id"),
    "wipe": ResourceRule(kind="account", sensitivity="restricted", id_arg="account"),
}


def fresh_app(monkeypatch: pytest.MonkeyPatch, database_url: str) -> keel.App:
    """governed_app's App, pointed at `database_url` with nothing opened yet (undone after the test)."""
    application = governed_app.app
    monkeypatch.setattr(application, "database_url", database_url)
    for attribute in ("_store", "_engine", "_sealer"):
        monkeypatch.setattr(application, attribute, None)
    monkeypatch.setattr(application.toolbox, "_broker", None)
    return application


def install(app: keel.App, monkeypatch: pytest.MonkeyPatch, governor: KeelGovernor) -> KeelGovernor:
    """Makes `governor` the one the App's next tool call reads."""
    monkeypatch.setattr(app, "_governor_source", governor)
    monkeypatch.setattr(app, "_governor_loaded", False)
    return governor
