"""A worker loads the guard's models at start, so the first model call does not pay for them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import keel
from keel.cli.worker import _warm_guard
from keel.gateway.config import GatewayConfig
from keel.guard.guard import Guard
from keel.guard.injection import InjectionDetector
from keel.guard.pii import PiiDetector

MODEL = "local-model-2025-01-01"


def _sessions(detector: InjectionDetector) -> list[object]:
    model = detector._model
    assert model is not None
    return [encoder._session for encoder in (model.encoder, model.tool_encoder) if encoder is not None]


def test_warm_up_loads_the_injection_model_and_every_encoder(tmp_path: Path) -> None:
    app = keel.App("warm", f"sqlite:///{tmp_path / 'k.db'}")
    detector = InjectionDetector()
    guard = Guard(app.store, injection=detector, pii=PiiDetector(ner=False))
    assert detector._model is None
    guard.warm_up()
    sessions = _sessions(detector)
    assert sessions and all(session is not None for session in sessions)
    # Turned off, the encoders are never loaded: a scan would not use them.
    off = InjectionDetector(encoder=False)
    Guard(app.store, injection=off, pii=PiiDetector(ner=False)).warm_up()
    assert all(session is None for session in _sessions(off))
    app.close()


def test_a_worker_warms_the_guard_only_for_an_app_that_calls_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEEL_GUARD_KEY", raising=False)
    monkeypatch.setenv("KEEL_GUARD_KEY_FILE", str(tmp_path / "guard.key"))
    (tmp_path / "guard.key").write_text("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n")
    (tmp_path / "guard.key").chmod(0o600)
    plain = keel.App("plain", f"sqlite:///{tmp_path / 'plain.db'}")
    asyncio.run(_warm_guard(plain))
    assert plain._guard is None  # no gateway: the guard is never even built
    plain.close()

    config = GatewayConfig.from_dict(
        {
            "providers": {"local": {"kind": "scripted"}},
            "models": {MODEL: {"provider": "local", "input_usd_per_mtok": 0.0, "output_usd_per_mtok": 0.0}},
            "routes": {"answer": {"primary": MODEL}},
        }
    )
    calling = keel.App("calling", f"sqlite:///{tmp_path / 'calling.db'}", gateway=config)
    detector = InjectionDetector()
    # Before anything opened the store: the guard opens it outside the lock that opening it takes
    # (this once deadlocked).
    guard = calling.guard
    assert guard is not None
    guard._injection = detector
    guard._pii = PiiDetector(ner=False)
    asyncio.run(_warm_guard(calling))
    assert all(session is not None for session in _sessions(detector))
    calling.close()
