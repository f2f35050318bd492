"""Monitoring assets shipped inside the package: Prometheus rules and a Grafana dashboard.

Read through importlib.resources so they work from a wheel, a zip or a source checkout alike.
"""

from __future__ import annotations

from importlib.resources import files

RULES_FILE = "rules.yml"
DASHBOARD_FILE = "dashboard.json"


def _read(name: str) -> str:
    return files(__name__).joinpath(name).read_text(encoding="utf-8")


def rules_yaml() -> str:
    """Keel's Prometheus recording and alerting rules (one group, `keel`), as YAML."""
    return _read(RULES_FILE)


def dashboard_json() -> str:
    """Keel's Grafana dashboard, as JSON to import (its datasource is a template variable)."""
    return _read(DASHBOARD_FILE)


__all__ = ["dashboard_json", "rules_yaml"]
