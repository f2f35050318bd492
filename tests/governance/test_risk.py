"""Risk scores: the factors from the weights, the thresholds, integers only, and the configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

import keel
from keel.config import GovernanceSettings
from keel.errors import ConfigError
from keel.governance.governor import KeelGovernor
from keel.governance.risk import RiskWeights, run_score, score_action


def test_an_actions_score_is_the_sum_of_its_factors() -> None:
    weights = RiskWeights(tools={"refund": 40})
    score, factors = score_action(
        weights, tool="refund", sensitivity="confidential", external=True, cost_usd=1.5, run_score=40
    )
    assert factors == {"tool": 40, "sensitivity": 30, "external": 15, "cost": 15, "run": 10}
    assert score == 100  # 110, capped
    score, factors = score_action(weights, tool="lookup", sensitivity="public")
    assert (score, factors) == (10, {"tool": 10, "sensitivity": 0, "external": 0, "cost": 0, "run": 0})


def test_scores_are_integers_whatever_the_cost() -> None:
    weights = RiskWeights(cost_per_usd=7, cost_max=100, default_tool=0)
    for cost in (0.0, 0.1 + 0.2, 0.999999, 1.0, 2.4999999999, 13.37):
        score, factors = score_action(weights, tool="t", sensitivity="public", cost_usd=cost)
        assert type(score) is int and all(type(v) is int for v in factors.values())
    # Whole micro-dollars first: 0.1 + 0.2 is 300,000 micro-dollars, not a hair under.
    assert score_action(
        RiskWeights(cost_per_usd=10, default_tool=0), tool="t", sensitivity="public", cost_usd=0.1 + 0.2
    )[1]["cost"] == (300_000 * 10 // 1_000_000)
    assert score_action(weights, tool="t", sensitivity="public", cost_usd=2.4999999999)[1]["cost"] == 17
    assert score_action(weights, tool="t", sensitivity="public", cost_usd=-5.0)[0] == 0


def test_the_cost_factor_is_capped() -> None:
    weights = RiskWeights(cost_per_usd=10, cost_max=20)
    assert score_action(weights, tool="t", cost_usd=1000.0)[1]["cost"] == 20


@pytest.mark.parametrize(
    ("score", "expected"), [(0, "allow"), (69, "allow"), (70, "review"), (89, "review"), (90, "block"), (100, "block")]
)
def test_thresholds_route_to_review_or_block(score: int, expected: str) -> None:
    assert RiskWeights().classify(score) == expected


def test_a_runs_score_is_its_highest() -> None:
    assert run_score([]) == 0
    assert run_score([12, 80, 35]) == 80


def test_weights_from_a_table_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    weights = RiskWeights.from_mapping(
        {"review_at": 60, "tools": {"refund": 40}, "sensitivity": {"restricted": 70}, "run_carry": 0}
    )
    assert (weights.review_at, weights.block_at, weights.tools["refund"], weights.run_carry) == (60, 90, 40, 0)
    assert weights.sensitivity == {"public": 0, "internal": 10, "confidential": 30, "restricted": 70}
    monkeypatch.setenv("KEEL_RISK_BLOCK_AT", "95")
    monkeypatch.setenv("KEEL_RISK_REVIEW_AT", "50")
    weights = RiskWeights.from_mapping({"review_at": 60})
    assert (weights.review_at, weights.block_at) == (50, 95)
    monkeypatch.setenv("KEEL_RISK_BLOCK_AT", "ninety")
    with pytest.raises(ConfigError, match="KEEL_RISK_BLOCK_AT must be an integer from 0 to 100"):
        RiskWeights.from_mapping({})


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"review_at": 70.5}, "governance.risk.review_at: must be an integer from 0 to 100"),
        ({"block_at": 101}, "governance.risk.block_at: must be an integer from 0 to 100"),
        ({"external": True}, "governance.risk.external: must be an integer from 0 to 100"),
        ({"tools": {"refund": -1}}, "governance.risk.tools.refund: must be an integer from 0 to 100"),
        ({"tools": 40}, "governance.risk.tools: must be a table"),
        ({"sensitivity": {"secret": 90}}, "governance.risk.sensitivity.secret: unknown sensitivity"),
        ({"weight": 3}, "governance.risk.weight: unknown key"),
        ({"review_at": 95}, "governance.risk.review_at: must not be above block_at"),
    ],
)
def test_bad_weights_are_refused_with_their_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        RiskWeights.from_mapping(table, source="keel.toml")


def test_an_unknown_sensitivity_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown sensitivity"):
        score_action(RiskWeights(), tool="t", sensitivity="top-secret")


GOVERNED_TOML = """
[governance]
default_sensitivity = "confidential"
review_timeout_s = 3600

[governance.roles]
ivan = "intern"

[governance.risk]
review_at = 60
[governance.risk.tools]
refund = 40

[governance.resources.refund]
kind = "order"
id_arg = "order_id"
sensitivity = "restricted"
"""


def test_governance_is_off_unless_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEEL_CONFIG", raising=False)
    monkeypatch.delenv("KEEL_GOVERNANCE", raising=False)
    assert GovernanceSettings.from_env() == GovernanceSettings(enabled=False)
    with keel.App("plain", f"sqlite:///{tmp_path / 'keel.db'}") as app:
        assert app.governor is None
    monkeypatch.setenv("KEEL_GOVERNANCE", "true")
    with keel.App("on", f"sqlite:///{tmp_path / 'keel.db'}") as app:
        governor = app.governor
        assert isinstance(governor, KeelGovernor)
        assert governor.weights == RiskWeights() and governor.policy == "active"


def test_a_governance_table_in_keel_toml_turns_it_on_and_configures_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "governed.toml"
    config.write_text(GOVERNED_TOML)
    monkeypatch.setenv("KEEL_CONFIG", str(config))
    monkeypatch.delenv("KEEL_GOVERNANCE", raising=False)
    settings = GovernanceSettings.from_env()
    assert settings.enabled and settings.source == str(config)
    with keel.App("governed", f"sqlite:///{tmp_path / 'keel.db'}") as app:
        governor = app.governor
        assert isinstance(governor, KeelGovernor)
        assert (governor.weights.review_at, governor.weights.tools) == (60, {"refund": 40})
        assert governor.roles == {"ivan": "intern"}
        assert governor.default_sensitivity == "confidential"
        assert governor.resources["refund"].sensitivity == "restricted"
        assert governor.review_timeout_s == 3600.0
    monkeypatch.setenv("KEEL_GOVERNANCE", "false")
    with keel.App("governed", f"sqlite:///{tmp_path / 'keel.db'}") as app:
        assert app.governor is None
    assert keel.App("explicit-off", f"sqlite:///{tmp_path / 'keel.db'}", governor=False).governor is None


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[governance]\nrisk = 3\n", "governance.risk: must be a table"),
        ("[governance]\nwithout_policy = 'maybe'\n", "governance.without_policy must be allowlist or deny"),
        ("[governance]\nreview_timeout_s = 0\n", "governance.review_timeout_s: a number of seconds above 0"),
        ("[governance]\nsurprise = 1\n", "governance.surprise: unknown key"),
        ("[governance.resources.refund]\nsensitivity = 'secret'\n", "governance.resources.refund.sensitivity"),
        ("[governance.roles]\nivan = 3\n", "governance.roles: each role is a non-empty string"),
        ("[governance.risk]\nreview_at = 'high'\n", "governance.risk.review_at: must be an integer"),
    ],
)
def test_a_bad_governance_table_fails_at_start_up_naming_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, message: str
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    monkeypatch.delenv("KEEL_GOVERNANCE", raising=False)
    with keel.App("bad", f"sqlite:///{tmp_path / 'keel.db'}", governor=GovernanceSettings.from_env(config)) as app:
        with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
            app.governor  # noqa: B018 - building it is what fails


def test_one_keel_toml_holds_the_gateway_and_the_governance_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keel.gateway.config import load_config

    model = "local-model-2025-01-01"
    (tmp_path / "keel.toml").write_text(
        '[providers.local]\nkind = "scripted"\n\n'
        f'[models."{model}"]\nprovider = "local"\ninput_usd_per_mtok = 0.0\noutput_usd_per_mtok = 0.0\n\n'
        f'[routes.answer]\nprimary = "{model}"\n' + GOVERNED_TOML
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEEL_CONFIG", raising=False)
    monkeypatch.delenv("KEEL_GOVERNANCE", raising=False)
    config = load_config(None)
    assert config is not None and list(config.routes) == ["answer"]
    with keel.App("both", f"sqlite:///{tmp_path / 'keel.db'}") as app:
        assert app.gateway is not None
        assert isinstance(app.governor, KeelGovernor)
