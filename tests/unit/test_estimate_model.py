"""The estimate model, CostEstimate's validation, the cost gate's decisions and the hook checks."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import BaseModel

import keel
from keel.engine.estimate import (
    CostEstimate,
    CostGate,
    check_hook,
    from_history,
    from_hook,
    percentile,
    usd,
)
from keel.engine.registry import WorkflowDef
from keel.errors import InputValidationError, UsageError


def usage(size: int, cost: float, *, calls: int = 1, tokens_in: int = 400, tokens_out: int = 20) -> dict[str, Any]:
    return {
        "run_id": "r",
        "input_size": size,
        "calls": calls,
        "tokens_input": tokens_in,
        "tokens_output": tokens_out,
        "cost_usd": cost,
    }


def test_percentile_interpolates_between_ranks() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]
    assert percentile(values, 50) == 6.0
    assert percentile(values, 10) == pytest.approx(2.0)
    assert percentile(values, 90) == pytest.approx(10.0)
    assert percentile([4.0, 1.0], 50) == 2.5
    assert percentile([7.0], 10) == percentile([7.0], 90) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_no_history_no_estimate() -> None:
    assert from_history([], 100, workflow="w v1") is None


def test_inputs_of_about_the_same_size_are_not_scaled() -> None:
    # Past inputs within 10% of this one's size: the figures are taken as they are.
    usages = [usage(100, 0.01), usage(105, 0.02), usage(95, 0.03), usage(100, 0.04), usage(100, 0.05)]
    est = from_history(usages, 100, workflow="triage v1")
    assert est is not None
    assert est.usd == pytest.approx(0.03)
    assert (est.usd_low, est.usd_high) == (pytest.approx(0.014), pytest.approx(0.046))
    assert (est.calls, est.input_tokens, est.output_tokens) == (1, 400, 20)
    assert est.source == "history" and est.runs == 5
    assert "all 5 succeeded runs of triage v1" in est.detail and "not scaled" in est.detail


def test_tokens_and_cost_scale_with_input_size_but_calls_do_not() -> None:
    # Every past run cost $0.01 per 100 characters of input; this input is 400 characters.
    usages = [usage(100, 0.01, calls=2), usage(200, 0.02, calls=2, tokens_in=800), usage(50, 0.005, calls=3)]
    est = from_history(usages, 400, workflow="w v1")
    assert est is not None
    assert est.usd == est.usd_low == est.usd_high == pytest.approx(0.04)
    assert est.calls == 2  # the median of 2, 2, 3: a longer input is not assumed to need more calls
    assert est.input_tokens == 1600  # 400 * 4, 800 * 2, 400 * 8 -> median 1600
    assert "scaled by input size (this input 400 B, past inputs 50 B–200 B)" in est.detail


def test_a_full_window_says_most_recent() -> None:
    est = from_history([usage(10, 0.0)] * 3, 10, workflow="w v1", limit=3)
    assert est is not None and "the 3 most recent" in est.detail
    one = from_history([usage(10, 0.5)], 10, workflow="w v1")
    assert one is not None and "the only succeeded run of w v1" in one.detail and "range" not in one.detail


def test_cost_estimate_validates_its_fields() -> None:
    ok = CostEstimate(calls=1, input_tokens=10, output_tokens=2, usd=1, usd_low=0.5, usd_high=2)
    assert ok.usd == 1.0 and isinstance(ok.usd, float) and ok.source == "hook"
    assert ok.to_dict()["usd_high"] == 2.0
    assert ok.describe() == "~$1.00 ($0.50–$2.00)"
    bad: list[dict[str, Any]] = [
        {"calls": -1},
        {"calls": 1.5},
        {"calls": True},
        {"input_tokens": "10"},
        {"usd": math.nan},
        {"usd": -0.1, "usd_low": -0.2},
        {"usd_low": 1.5},
        {"usd_high": 0.9},
        {"source": ""},
    ]
    for change in bad:
        fields: dict[str, Any] = {
            "calls": 1,
            "input_tokens": 10,
            "output_tokens": 2,
            "usd": 1.0,
            "usd_low": 0.5,
            "usd_high": 2.0,
            **change,
        }
        with pytest.raises(UsageError, match="CostEstimate"):
            CostEstimate(**fields)


def test_usd_is_readable_at_every_scale() -> None:
    assert usd(12) == "$12.00"
    assert usd(1234.5) == "$1,234.50"
    assert usd(0) == "$0.00"
    assert usd(0.5) == "$0.50"
    assert usd(0.012) == "$0.012"
    assert usd(0.000412) == "$0.00041"


def estimate(value: float) -> CostEstimate:
    return CostEstimate(calls=1, input_tokens=1, output_tokens=1, usd=value, usd_low=value / 2, usd_high=value * 2)


def test_the_gate_holds_above_the_threshold_by_the_point_estimate() -> None:
    above = CostGate("triage v1", 10.0, estimate(12.0))
    assert above.needs_approval
    assert above.note() == (
        "awaiting approval: estimated ~$12.00 ($6.00–$24.00) is above confirm_above_usd $10.00",
        True,
    )
    assert above.note("alice") == (
        "cost approved up front by alice: estimated ~$12.00 ($6.00–$24.00) is above confirm_above_usd $10.00",
        False,
    )
    assert above.question() == "This will cost ~$12.00 ($6.00–$24.00). Proceed? [y/N] "
    # Only the point estimate counts: a high end above the threshold does not hold the run.
    within = CostGate("triage v1", 10.0, estimate(10.0))
    assert not within.needs_approval
    assert within.note("alice") == (
        "estimated ~$10.00 ($5.00–$20.00) is within confirm_above_usd $10.00: no approval needed",
        False,
    )


def test_the_gate_denies_by_default_without_an_estimate() -> None:
    gate = CostGate("triage v1", 10.0, None, "no estimate hook, and no succeeded runs of triage v1 to learn from")
    assert gate.needs_approval
    cause, held = gate.note()
    assert held and cause.startswith("awaiting approval: no cost estimate for triage v1 (no estimate hook")
    assert "No cost estimate is available" in gate.question()


class Ticket(BaseModel):
    text: str
    priority: int = 0


async def _workflow(ctx: keel.Context, ticket: Ticket, *, model: str = "small") -> None:
    """A workflow signature for the hook checks."""


def test_a_hook_must_accept_the_workflows_parameters_and_be_sync() -> None:
    def good(ticket: Ticket, *, model: str = "small") -> None:
        return None

    def loose(*args: Any, **kwargs: Any) -> None:
        return None

    check_hook(good, _workflow, "w")
    check_hook(loose, _workflow, "w")

    def missing(ticket: Ticket) -> None:
        return None

    async def asynchronous(ticket: Ticket, *, model: str = "small") -> None:
        return None

    with pytest.raises(UsageError, match=r"must accept the workflow's parameters without ctx \(ticket, model\)"):
        check_hook(missing, _workflow, "w")
    with pytest.raises(UsageError, match="not async"):
        check_hook(asynchronous, _workflow, "w")
    with pytest.raises(UsageError, match="must be a function"):
        check_hook(3, _workflow, "w")


def workflow_def(hook: Any) -> WorkflowDef:
    return WorkflowDef(fn=_workflow, name="w", version="2", estimate=hook)


def test_the_hook_receives_the_input_as_the_workflow_would() -> None:
    seen: list[Any] = []

    def hook(ticket: Ticket, *, model: str = "small") -> CostEstimate:
        seen.append((ticket, model))
        return estimate(0.1 * ticket.priority)

    wf = workflow_def(hook)
    est = from_hook(wf, '{"args":[{"text":"hi","priority":3}],"kwargs":{"model":"large"}}')
    assert est is not None and est.usd == pytest.approx(0.3)
    assert seen == [(Ticket(text="hi", priority=3), "large")]  # revived to the annotated model
    with pytest.raises(InputValidationError):
        from_hook(wf, '{"args":[{"priority":3}],"kwargs":{}}')


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ({"usd": 1}, r"returned dict; it must return keel.CostEstimate, or None"),
        (0.5, r"returned float"),
    ],
)
def test_a_hook_returning_garbage_is_a_usage_error_naming_the_workflow(returned: Any, message: str) -> None:
    wf = workflow_def(lambda ticket, model="small": returned)
    with pytest.raises(UsageError, match=r"the estimate hook of workflow 'w' \(version 2\) " + message):
        from_hook(wf, '{"args":[{"text":"hi"}],"kwargs":{}}')


def test_a_hook_that_raises_is_a_usage_error_naming_the_workflow() -> None:
    def broken(ticket: Ticket, model: str = "small") -> CostEstimate:
        raise KeyError("price")

    def invalid(ticket: Ticket, model: str = "small") -> CostEstimate:
        return CostEstimate(calls=-1, input_tokens=0, output_tokens=0, usd=0, usd_low=0, usd_high=0)

    with pytest.raises(UsageError, match=r"estimate hook of workflow 'w' \(version 2\) raised KeyError: 'price'"):
        from_hook(workflow_def(broken), '{"args":[{"text":"hi"}],"kwargs":{}}')
    with pytest.raises(UsageError, match=r"estimate hook of workflow 'w' \(version 2\): CostEstimate.calls"):
        from_hook(workflow_def(invalid), '{"args":[{"text":"hi"}],"kwargs":{}}')


def test_a_hook_may_defer_to_history() -> None:
    assert from_hook(workflow_def(lambda ticket, model="small": None), '{"args":[{"text":"x"}],"kwargs":{}}') is None


def test_the_decorator_validates_its_cost_options(tmp_path: Any) -> None:
    app = keel.App("opts", f"sqlite:///{tmp_path / 'k.db'}")
    for bad in (-1, math.inf, "10", True):
        with pytest.raises(UsageError, match="confirm_above_usd"):
            app.workflow(confirm_above_usd=bad)  # type: ignore[arg-type]

    def no_ctx_params() -> None:
        return None

    with pytest.raises(UsageError, match="estimate= of workflow 'wf'"):

        @app.workflow(estimate=no_ctx_params)
        async def wf(ctx: keel.Context, ticket: str) -> None: ...

    @app.workflow(confirm_above_usd=2)
    async def fine(ctx: keel.Context) -> None: ...

    definition = fine.__keel_workflow__  # type: ignore[attr-defined]
    assert definition.confirm_above_usd == 2.0 and isinstance(definition.confirm_above_usd, float)
