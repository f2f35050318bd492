"""The public surface of `import keel` is deliberate: pinned here, changed only on purpose."""

from __future__ import annotations
import __future__

import importlib.metadata
import inspect
import pickle
import subprocess
import sys

import pytest

import keel

PUBLIC_API = [
    "AgentResult",
    "App",
    "ApprovalRequiredError",
    "BudgetExceeded",
    "CircuitBreaker",
    "ConfigError",
    "Context",
    "CostEstimate",
    "EngineSettings",
    "InputValidationError",
    "InvalidStateError",
    "KeelError",
    "KillSwitchEngaged",
    "LlmResult",
    "NonDeterminismError",
    "NonRetryableError",
    "RetryPolicy",
    "RunEvent",
    "RunFailedError",
    "RunHandle",
    "RunNotFoundError",
    "RunStatus",
    "SerializationError",
    "SignalTimeoutError",
    "StepEvent",
    "StepFailedError",
    "StepTimeoutError",
    "StoreError",
    "ToolError",
    "ToolInputError",
    "ToolNotAllowed",
    "TraceSettings",
    "UsageError",
    "Worker",
    "WorkflowError",
]


def _public_names() -> set[str]:
    # dir(), not vars(): most names are resolved on first use (PEP 562) and absent from vars() before.
    return {
        name
        for name in dir(keel)
        if not name.startswith("_")
        and not inspect.ismodule(value := getattr(keel, name))  # subpackages bound as attributes by their import
        and not isinstance(value, __future__._Feature)
    }


def test_import_keel_does_not_import_the_executor() -> None:
    """`from keel import App` stays cheap: short commands (keel estimate) never load the run machinery."""
    code = (
        "import sys, keel; from keel import App; "
        "heavy = [m for m in ('keel.engine.executor', 'opentelemetry.sdk', 'structlog', 'alembic', 'httpx2', 'jinja2') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_all_is_sorted_and_pinned() -> None:
    assert keel.__all__ == sorted(keel.__all__)
    assert keel.__all__ == PUBLIC_API


def test_all_is_exactly_what_the_package_exports() -> None:
    assert _public_names() == set(keel.__all__)
    assert len(keel.__all__) == len(set(keel.__all__))


def test_star_import_gives_the_public_api() -> None:
    namespace: dict[str, object] = {}
    exec("from keel import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == PUBLIC_API


def test_version_matches_the_distribution() -> None:
    assert keel.__version__ == importlib.metadata.version("keel-agents")


ERROR_CODES = {
    "KeelError": "keel.error",
    "ConfigError": "config.invalid",
    "UsageError": "usage.invalid",
    "InputValidationError": "usage.input",
    "StoreError": "store.error",
    "RunNotFoundError": "store.run_not_found",
    "SerializationError": "workflow.serialization",
    "WorkflowError": "workflow.error",
    "NonDeterminismError": "workflow.non_determinism",
    "StepFailedError": "workflow.step_failed",
    "StepTimeoutError": "workflow.step_timeout",
    "SignalTimeoutError": "workflow.signal_timeout",
    "RunFailedError": "workflow.run_failed",
    "InvalidStateError": "workflow.invalid_state",
    "ApprovalRequiredError": "workflow.approval_required",
    "NonRetryableError": "step.non_retryable",
    "BudgetExceeded": "gateway.budget_exceeded",
    "ToolError": "tool.error",
    "ToolInputError": "tool.invalid_input",
    "ToolNotAllowed": "tool.not_allowed",
    "KillSwitchEngaged": "governance.kill_switch",
}


def test_every_error_is_a_keel_error_with_a_stable_code() -> None:
    exported = {
        n for n in keel.__all__ if isinstance(getattr(keel, n), type) and issubclass(getattr(keel, n), BaseException)
    }
    assert exported == set(ERROR_CODES)
    for name, code in ERROR_CODES.items():
        cls = getattr(keel, name)
        assert issubclass(cls, keel.KeelError)
        assert cls.code == code


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        ("InputValidationError", "UsageError"),
        ("RunNotFoundError", "StoreError"),
        ("NonDeterminismError", "WorkflowError"),
        ("StepFailedError", "WorkflowError"),
        ("StepTimeoutError", "WorkflowError"),
        ("SignalTimeoutError", "WorkflowError"),
        ("RunFailedError", "WorkflowError"),
        ("InvalidStateError", "WorkflowError"),
        ("ApprovalRequiredError", "InvalidStateError"),
        ("ToolNotAllowed", "ToolError"),
        ("ToolInputError", "ToolError"),
    ],
)
def test_error_tree(child: str, parent: str) -> None:
    assert issubclass(getattr(keel, child), getattr(keel, parent))


def test_errors_format_and_pickle_with_their_details() -> None:
    err = keel.StepFailedError("step 'x' failed", step="x", attempts=3)
    assert str(err) == "[workflow.step_failed] step 'x' failed"
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is keel.StepFailedError
    assert (back.message, back.details) == ("step 'x' failed", {"step": "x", "attempts": 3})


def test_run_status_values() -> None:
    assert [s.value for s in keel.RunStatus] == [
        "pending",
        "running",
        "waiting",
        "succeeded",
        "failed",
        "dead_letter",
        "compensating",
        "cancelled",
    ]
    assert {s.value for s in keel.RunStatus if s.terminal} == {"succeeded", "failed", "cancelled"}
