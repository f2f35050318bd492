"""`keel observe`: print the Prometheus rules and Grafana dashboard that ship with Keel."""

from __future__ import annotations

import sys

import typer

from keel.observe.assets import dashboard_json, rules_yaml

app = typer.Typer(help="Prometheus alert rules and a Grafana dashboard for Keel's metrics.", no_args_is_help=True)


def _emit(text: str) -> None:
    # Raw bytes of the shipped file, not Rich: no markup, wrapping or colour may touch a file
    # that is redirected straight into Prometheus or Grafana.
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


@app.command("rules")
def rules_command() -> None:
    """Print the Prometheus recording and alerting rules (YAML, for `rule_files:`)."""
    _emit(rules_yaml())


@app.command("dashboard")
def dashboard_command() -> None:
    """Print the Grafana dashboard (JSON, to import; it asks for a Prometheus datasource)."""
    _emit(dashboard_json())
