"""What tests do when a service or tool they need is missing (importable: tests/ is on pythonpath)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(msg: str) -> NoReturn:
    """Fail under CI=true, where every service must be up; elsewhere skip, loudly."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + "; CI requires it", pytrace=False)
    pytest.skip("SKIPPED LOUDLY: " + msg)
