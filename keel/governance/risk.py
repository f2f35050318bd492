"""Risk scores, 0-100, for each action a run takes and for the run, from weights in configuration.

An action's score is the sum of its factors, capped at 100:

- `tool`: the tool's own weight (`[governance.risk.tools]`, e.g. `refund = 40`), else `default_tool`;
- `sensitivity`: the weight of the data sensitivity of the resource it touches (`public`,
  `internal`, `confidential`, `restricted`: `[governance.risk.sensitivity]`);
- `external`: `external` when the tool may reach the network (its egress allowlist is not empty);
- `cost`: `cost_per_usd` points per whole US dollar the run has spent so far, at most `cost_max`;
- `run`: `run_carry` percent of the run's score so far, so that a run which already did something
  risky makes its next actions riskier too.

A run's score is the highest score of its actions (`run_score`); the engine journals every
action's score, so replaying a run rebuilds it. Everything is an integer: a score is compared with
thresholds and hashed into the audit chain, where a float would be an ambiguity.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from keel.config import GovernanceSettings
from keel.errors import ConfigError

SENSITIVITIES = ("public", "internal", "confidential", "restricted")
MAX_SCORE = 100
REVIEW_AT_ENV = "KEEL_RISK_REVIEW_AT"
BLOCK_AT_ENV = "KEEL_RISK_BLOCK_AT"

_DEFAULT_SENSITIVITY = {"public": 0, "internal": 10, "confidential": 30, "restricted": 50}
_SCALARS = ("review_at", "block_at", "default_tool", "external", "cost_per_usd", "cost_max", "run_carry")


@dataclass(frozen=True)
class RiskWeights:
    """The weights of `[governance.risk]` and the two thresholds (review at 70, block at 90 by default)."""

    review_at: int = 70
    block_at: int = 90
    default_tool: int = 10
    tools: Mapping[str, int] = field(default_factory=dict)
    sensitivity: Mapping[str, int] = field(default_factory=lambda: dict(_DEFAULT_SENSITIVITY))
    external: int = 15
    cost_per_usd: int = 10
    cost_max: int = 20
    run_carry: int = 25  # percent

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            lines = [f"{k}: {m}" for k, m in problems]
            raise ConfigError(lines[0], key=problems[0][0], problems=lines)

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any] | None, *, source: str | None = None) -> RiskWeights:
        """The weights of a parsed `[governance.risk]` table; ConfigError names each bad key."""
        table = dict(table or {})
        where = f" (in {source})" if source else ""
        problems: list[tuple[str, str]] = []
        values: dict[str, Any] = {}
        for key, value in table.items():
            path = f"governance.risk.{key}"
            if key in _SCALARS:
                if _is_score(value):
                    values[key] = value
                else:
                    problems.append((path, "must be an integer from 0 to 100"))
            elif key in ("tools", "sensitivity"):
                if not isinstance(value, Mapping):
                    problems.append((path, "must be a table"))
                    continue
                bad = [name for name, weight in value.items() if not _is_score(weight)]
                problems += [(f"{path}.{name}", "must be an integer from 0 to 100") for name in bad]
                if key == "sensitivity":
                    unknown = sorted(set(value) - set(SENSITIVITIES))
                    problems += [
                        (f"{path}.{name}", f"unknown sensitivity: use {', '.join(SENSITIVITIES)}") for name in unknown
                    ]
                    values[key] = {**_DEFAULT_SENSITIVITY, **value}
                else:
                    values[key] = dict(value)
            else:
                problems.append((path, "unknown key"))
        for key, env in (("review_at", REVIEW_AT_ENV), ("block_at", BLOCK_AT_ENV)):
            raw = os.environ.get(env)
            if raw:
                try:
                    number = int(raw)
                except ValueError:
                    number = -1
                if not 0 <= number <= MAX_SCORE:
                    raise ConfigError(f"{env} must be an integer from 0 to 100, got {raw!r}", key=env)
                values[key] = number
        if problems:
            lines = [f"{k}: {m}" for k, m in problems]
            raise ConfigError(
                lines[0] + where if len(lines) == 1 else "\n  ".join(lines), key=problems[0][0], problems=lines
            )
        try:
            return cls(**values)
        except ConfigError as exc:
            raise ConfigError(exc.message + where, **exc.details) from None

    @classmethod
    def from_settings(cls, settings: GovernanceSettings) -> RiskWeights:
        """The weights of `settings.table["risk"]`, with the environment's thresholds."""
        table = (settings.table or {}).get("risk")
        if table is not None and not isinstance(table, Mapping):
            raise ConfigError("governance.risk: must be a table", key="governance.risk")
        return cls.from_mapping(table, source=settings.source)

    def classify(self, score: int) -> str:
        """What a score calls for by itself: "block" (from block_at), "review" (from review_at) or "allow"."""
        if score >= self.block_at:
            return "block"
        if score >= self.review_at:
            return "review"
        return "allow"


def _is_score(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SCORE


def _problems(weights: RiskWeights) -> list[tuple[str, str]]:
    problems = [
        (f"governance.risk.{key}", "must be an integer from 0 to 100")
        for key in _SCALARS
        if not _is_score(getattr(weights, key))
    ]
    if not problems and weights.review_at > weights.block_at:
        problems.append(("governance.risk.review_at", f"must not be above block_at ({weights.block_at})"))
    for name in SENSITIVITIES:
        if name not in weights.sensitivity:
            problems.append((f"governance.risk.sensitivity.{name}", "missing"))
    return problems


def score_action(
    weights: RiskWeights,
    *,
    tool: str,
    sensitivity: str = "internal",
    external: bool = False,
    cost_usd: float = 0.0,
    run_score: int = 0,
) -> tuple[int, dict[str, int]]:
    """An action's score from 0 to 100 and the points of each factor (tool, sensitivity, external, cost, run).

    `cost_usd` is what the run has spent so far (plus what this call is expected to cost, when
    known); `run_score` the run's score before this action.
    """
    if sensitivity not in weights.sensitivity:
        raise ValueError(f"unknown sensitivity {sensitivity!r}: use {', '.join(SENSITIVITIES)}")
    # Whole micro-dollars first, so the points never depend on how a float rounds.
    micro_usd = max(0, round(cost_usd * 1_000_000))
    factors = {
        "tool": int(weights.tools.get(tool, weights.default_tool)),
        "sensitivity": int(weights.sensitivity[sensitivity]),
        "external": weights.external if external else 0,
        "cost": min(weights.cost_max, micro_usd * weights.cost_per_usd // 1_000_000),
        "run": max(0, min(MAX_SCORE, run_score)) * weights.run_carry // 100,
    }
    return min(MAX_SCORE, sum(factors.values())), factors


def run_score(scores: Iterable[int]) -> int:
    """A run's score: the highest of its actions' (0 for a run that did nothing governed)."""
    return max(scores, default=0)


__all__ = ["SENSITIVITIES", "RiskWeights", "run_score", "score_action"]
