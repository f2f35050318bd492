"""The shipped Prometheus rules, checked and unit-tested by promtool (tests/observe/rules_test.yml).

The rules are taken from `keel observe rules`, i.e. from the installed package, not from the
source tree. promtool FAILS these tests when it is missing and CI=true; elsewhere they skip
loudly (`make test` installs Debian's prometheus package when it runs as root).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from needs import unavailable

from keel.observe.assets import rules_yaml

UNIT_TESTS = Path(__file__).resolve().parents[1] / "observe" / "rules_test.yml"
# Where rules_test.yml finds the rules, relative to itself: the same layout as the repository.
RULES_FROM_TESTS = Path("..", "..", "keel", "observe", "assets", "rules.yml")
HANG_GUARD_S = 120.0


def require_tool(name: str) -> str:
    """The path of a command, or fail (CI) / skip loudly (elsewhere) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"`{name}` is not on PATH (Debian: apt-get install prometheus; `make test` does it as root)")
    return path


def run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=HANG_GUARD_S)


def explain(proc: subprocess.CompletedProcess[str]) -> str:
    return f"`{' '.join(proc.args)}` exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


@pytest.fixture
def shipped_rules(tmp_path: Path) -> Path:
    """The rules printed by `keel observe rules`, at the path rules_test.yml expects them."""
    proc = run([sys.executable, "-m", "keel.cli", "observe", "rules"])
    assert proc.returncode == 0, explain(proc)
    assert proc.stdout == rules_yaml()
    tests_dir = tmp_path / "tests" / "observe"
    tests_dir.mkdir(parents=True)
    shutil.copy(UNIT_TESTS, tests_dir / UNIT_TESTS.name)
    rules = (tests_dir / RULES_FROM_TESTS).resolve()
    rules.parent.mkdir(parents=True)
    rules.write_text(proc.stdout, encoding="utf-8")
    return rules


def test_promtool_checks_the_shipped_rules(shipped_rules: Path) -> None:
    promtool = require_tool("promtool")
    proc = run([promtool, "check", "rules", str(shipped_rules)])
    assert proc.returncode == 0, explain(proc)
    assert "SUCCESS" in proc.stdout, explain(proc)


def test_promtool_unit_tests_pass_on_the_shipped_rules(shipped_rules: Path) -> None:
    promtool = require_tool("promtool")
    test_file = shipped_rules.parents[3] / "tests" / "observe" / UNIT_TESTS.name
    proc = run([promtool, "test", "rules", str(test_file)], cwd=test_file.parent)
    assert proc.returncode == 0, explain(proc)
    assert "SUCCESS" in proc.stdout, explain(proc)
    assert "FAILED" not in proc.stdout + proc.stderr, explain(proc)


def test_every_alert_is_unit_tested_firing_and_not_firing() -> None:
    """promtool does not notice an alert nobody tests; this does.

    A text scan rather than a YAML parser (none is a dependency): each `- eval_time:` entry of
    rules_test.yml names one alert and either expects none (`exp_alerts: []`) or lists some.
    """
    alerts = re.findall(r"^\s*- alert:\s*(\S+)\s*$", rules_yaml(), flags=re.MULTILINE)
    assert len(alerts) == len(set(alerts)) >= 6, alerts
    cases: dict[str, set[str]] = {name: set() for name in alerts}
    for entry in UNIT_TESTS.read_text(encoding="utf-8").split("- eval_time:")[1:]:
        found = re.search(r"^\s*alertname:\s*(\S+)\s*$", entry, flags=re.MULTILINE)
        if found is None:
            continue  # a promql_expr_test entry
        name = found.group(1)
        assert name in cases, f"rules_test.yml tests {name}, which the rules do not define"
        cases[name].add("silent" if re.search(r"exp_alerts:\s*\[\]", entry) else "firing")
    missing = {name: {"firing", "silent"} - seen for name, seen in cases.items() if seen != {"firing", "silent"}}
    assert not missing, f"alerts without a firing and a non-firing case in rules_test.yml: {missing}"
