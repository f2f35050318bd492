"""What a run will cost before it runs: a workflow's own estimate hook, else its past runs.

Lives in the engine layer because it needs only what the engine has: the workflow's definition,
its input binding (the hook receives exactly what the workflow function will) and the store's
journal. It knows nothing of providers or prices: past runs' costs are what the gateway recorded.

The history model, meant to be explained in one breath: take the most recent succeeded runs of
the same workflow name and version; for each, its number of `llm:` steps and its tokens and USD
summed over its journal. If this input's size (characters of its input JSON) is within 10% of
every past run's, use those figures as they are; otherwise multiply each run's tokens and USD by
(this input's size / that run's input size), on the assumption that prompts grow with the
input (the number of calls is never scaled). The point estimate is the median of each figure,
the USD range its 10th to 90th percentile.
"""

from __future__ import annotations

import getpass
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from keel.engine import codec
from keel.errors import InvalidStateError, UsageError

if TYPE_CHECKING:
    from keel.engine.registry import WorkflowDef
    from keel.store import Store

# How many past runs a history estimate reads, newest first.
HISTORY_RUNS = 50
# Inputs whose sizes are all within this ratio of this one's count as the same size: no scaling.
SAME_SIZE = 1.1


@dataclass(frozen=True)
class CostEstimate:
    """A run's expected model usage: calls, tokens, USD (`usd`, within `usd_low`..`usd_high`).

    An estimate hook returns one (`source` defaults to "hook"); estimates from past runs have
    `source="history"` and `runs`, the number of runs they are based on. `detail` says how the
    figures were reached, in one line.
    """

    calls: int
    input_tokens: int
    output_tokens: int
    usd: float
    usd_low: float
    usd_high: float
    source: str = "hook"
    runs: int = 0
    detail: str = ""

    def __post_init__(self) -> None:
        for name in ("calls", "input_tokens", "output_tokens", "runs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UsageError(f"CostEstimate.{name} must be an integer >= 0, got {value!r}")
        for name in ("usd", "usd_low", "usd_high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise UsageError(f"CostEstimate.{name} must be a finite number >= 0, got {value!r}")
            object.__setattr__(self, name, float(value))
        if not self.usd_low <= self.usd <= self.usd_high:
            raise UsageError(
                "CostEstimate needs usd_low <= usd <= usd_high, "
                f"got {self.usd_low!r} <= {self.usd!r} <= {self.usd_high!r}"
            )
        if not isinstance(self.source, str) or not self.source:
            raise UsageError(f"CostEstimate.source must be a non-empty string, got {self.source!r}")
        if not isinstance(self.detail, str):
            raise UsageError(f"CostEstimate.detail must be a string, got {type(self.detail).__name__}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """`~$12.00 ($9.10–$15.30)`: the point estimate and its range."""
        return f"~{usd(self.usd)} ({usd(self.usd_low)}–{usd(self.usd_high)})"


class ApprovalRequiredError(InvalidStateError):
    """A run's estimated cost is above its workflow's `confirm_above_usd`: it waits for approval."""

    code = "workflow.approval_required"


EstimateHook = Callable[..., CostEstimate | None]


@dataclass(frozen=True)
class CostGate:
    """The `confirm_above_usd` decision for one input: whether the run must wait for approval."""

    workflow: str  # "triage v1", for messages
    threshold: float
    estimate: CostEstimate | None
    reason: str = ""  # why there is no estimate, when there is none

    @property
    def needs_approval(self) -> bool:
        """Above the threshold by the point estimate, or no estimate at all (deny by default)."""
        return self.estimate is None or self.estimate.usd > self.threshold

    def summary(self) -> str:
        if self.estimate is None:
            return f"no cost estimate for {self.workflow} ({self.reason}); confirm_above_usd is {usd(self.threshold)}"
        relation = "above" if self.needs_approval else "within"
        return f"estimated {self.estimate.describe()} is {relation} confirm_above_usd {usd(self.threshold)}"

    def note(self, approved_by: str | None = None) -> tuple[str, bool]:
        """(the transition cause to record at creation, whether the run is held)."""
        if not self.needs_approval:
            return f"{self.summary()}: no approval needed", False
        if approved_by is not None:
            return f"cost approved up front by {approved_by}: {self.summary()}", False
        return f"awaiting approval: {self.summary()}", True

    def question(self) -> str:
        if self.estimate is None:
            return f"No cost estimate is available for {self.workflow} ({self.reason}). Proceed? [y/N] "
        return f"This will cost {self.estimate.describe()}. Proceed? [y/N] "


def usd(amount: float) -> str:
    """Dollars for people: cents from $1 up, two significant digits below (`$0.00041`)."""
    if amount >= 1 or amount == 0:
        return f"${amount:,.2f}"
    decimals = max(2, 1 - math.floor(math.log10(amount)))
    return f"${amount:.{decimals}f}"


def current_user() -> str:
    """Who is approving, as the operating system knows them (self-declared, for the record)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers; approval still counts
        return "unknown user"


# -- the hook -------------------------------------------------------------------------------------


def check_hook(hook: object, workflow_fn: Callable[..., Any], workflow_name: str) -> None:
    """At decoration: the hook is a plain function that accepts what the workflow accepts."""
    if not callable(hook):
        raise UsageError(f"estimate= of workflow {workflow_name!r} must be a function, got {type(hook).__name__}")
    if inspect.iscoroutinefunction(hook):
        # Runs are started from sync code too (app.start, `keel run`), so the hook must be sync.
        raise UsageError(f"estimate= of workflow {workflow_name!r} must be a plain (not async) function")
    try:
        hook_sig = inspect.signature(hook)
        params = list(inspect.signature(workflow_fn).parameters.values())[1:]
    except (TypeError, ValueError):
        return  # a builtin or C callable: checked when called
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return
    args = [None for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    kwargs = {p.name: None for p in params if p.kind == p.KEYWORD_ONLY}
    try:
        hook_sig.bind(*args, **kwargs)
    except TypeError:
        shown = ", ".join(p.name for p in params) or "nothing"
        raise UsageError(
            f"estimate= of workflow {workflow_name!r} must accept the workflow's parameters without ctx "
            f"({shown}); it is {getattr(hook, '__name__', 'hook')}{hook_sig}"
        ) from None


def from_hook(wf: WorkflowDef, input_json: str) -> CostEstimate | None:
    """Call the workflow's hook with the input exactly as the workflow function will receive it."""
    hook = wf.estimate
    if hook is None:
        return None
    stored = codec.loads(input_json)
    args, kwargs = codec.bind_input(wf.fn, list(stored["args"]), dict(stored["kwargs"]), skip_first=True)
    where = f"the estimate hook of workflow {wf.name!r} (version {wf.version})"
    try:
        result = hook(*args, **kwargs)
    except UsageError as exc:  # e.g. an invalid CostEstimate built inside the hook
        raise UsageError(f"{where}: {exc.message}", workflow=wf.name) from None
    except Exception as exc:
        raise UsageError(f"{where} raised {type(exc).__name__}: {exc}", workflow=wf.name) from exc
    if result is not None and not isinstance(result, CostEstimate):
        raise UsageError(
            f"{where} returned {type(result).__name__}; it must return keel.CostEstimate, "
            "or None to estimate from past runs",
            workflow=wf.name,
        )
    return result


# -- history --------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of nothing")
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def from_history(
    usages: Sequence[Mapping[str, Any]], input_size: int, *, workflow: str, limit: int = HISTORY_RUNS
) -> CostEstimate | None:
    """The estimate the history model gives (see the module docstring); None without past runs."""
    if not usages:
        return None
    sizes = [max(1, int(u["input_size"])) for u in usages]
    this = max(1, input_size)
    ratios = [this / size for size in sizes]
    scaled = not all(1 / SAME_SIZE <= r <= SAME_SIZE for r in ratios)
    factors = ratios if scaled else [1.0] * len(ratios)
    costs = [float(u["cost_usd"]) * f for u, f in zip(usages, factors, strict=True)]
    tokens_in = [int(u["tokens_input"]) * f for u, f in zip(usages, factors, strict=True)]
    tokens_out = [int(u["tokens_output"]) * f for u, f in zip(usages, factors, strict=True)]
    calls = [float(u["calls"]) for u in usages]
    n = len(usages)
    latest = "the only" if n == 1 else f"the {n} most recent" if n >= limit else f"all {n}"
    detail = f"median of {latest} succeeded run{'s' if n != 1 else ''} of {workflow}"
    if n > 1:
        detail += ", range p10–p90"
    if scaled:
        detail += (
            f"; tokens and cost scaled by input size (this input {_size(this)}, "
            f"past inputs {_size(min(sizes))}–{_size(max(sizes))})"
        )
    else:
        detail += f"; past inputs are about this input's size ({_size(this)}), so not scaled"
    return CostEstimate(
        calls=round(percentile(calls, 50)),
        input_tokens=round(percentile(tokens_in, 50)),
        output_tokens=round(percentile(tokens_out, 50)),
        usd=percentile(costs, 50),
        usd_low=percentile(costs, 10),
        usd_high=percentile(costs, 90),
        source="history",
        runs=n,
        detail=detail,
    )


def _size(chars: int) -> str:
    return f"{chars} B" if chars < 10_000 else f"{chars / 1000:.0f} kB"


def estimate_input(
    store: Store, wf: WorkflowDef, input_json: str, *, history_runs: int = HISTORY_RUNS
) -> tuple[CostEstimate | None, str]:
    """The estimate for one run's stored input: (estimate or None, why there is none)."""
    hooked = from_hook(wf, input_json)
    if hooked is not None:
        return hooked, ""
    label = f"{wf.name} v{wf.version}"
    usages = store.run_usage_history(wf.name, wf.version, limit=history_runs)
    found = from_history(usages, len(input_json), workflow=label, limit=history_runs)
    if found is not None:
        return found, ""
    hook = "its estimate hook returned None" if wf.estimate is not None else "no estimate hook"
    return None, f"{hook}, and no succeeded runs of {label} to learn from"


def gate_for(wf: WorkflowDef, estimate: CostEstimate | None, reason: str) -> CostGate | None:
    """The cost gate of a workflow with `confirm_above_usd`; None for a workflow without one."""
    if wf.confirm_above_usd is None:
        return None
    return CostGate(f"{wf.name} v{wf.version}", wf.confirm_above_usd, estimate, reason)


__all__ = [
    "HISTORY_RUNS",
    "ApprovalRequiredError",
    "CostEstimate",
    "CostGate",
    "EstimateHook",
    "current_user",
    "estimate_input",
    "from_history",
    "from_hook",
    "gate_for",
    "percentile",
    "usd",
]
