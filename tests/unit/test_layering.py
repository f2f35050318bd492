"""Keel's dependency direction, enforced on the source (every import, wherever it appears).

level 0  keel.errors, keel.types, keel.config   nothing of keel (config may use errors)
level 1  keel.store, keel.observe               level 0 and themselves
level 2  keel.engine                            levels 0-1 and itself (services only through engine.ports)
level 3  services: keel.gateway, keel.tools, keel.guard, keel.governance   levels 0-2; never another service
level 4  keel.app, keel.testing                 levels 0-3
         keel (the package facade)              anything but keel.cli
top      keel.cli                               anything
Nothing but keel.cli itself imports keel.cli.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import keel

PACKAGE_DIR = Path(keel.__file__).parent

LEVEL0 = ("keel.errors", "keel.types", "keel.config")
LEVEL1 = ("keel.store", "keel.observe")
SERVICES = ("keel.gateway", "keel.tools", "keel.guard", "keel.governance")

# (module prefix, what modules under it may import besides themselves); first match wins.
RULES: list[tuple[str, tuple[str, ...]]] = [
    ("keel.errors", ()),
    ("keel.types", ()),
    ("keel.config", ("keel.errors",)),
    ("keel.store", LEVEL0),
    ("keel.observe", LEVEL0),
    ("keel.engine", (*LEVEL0, *LEVEL1)),
    *((service, (*LEVEL0, *LEVEL1, "keel.engine")) for service in SERVICES),
    ("keel.app", (*LEVEL0, *LEVEL1, "keel.engine", *SERVICES)),
    ("keel.testing", (*LEVEL0, *LEVEL1, "keel.engine", *SERVICES)),
    ("keel.cli", ("keel",)),
]
FACADE_MAY_IMPORT = (*LEVEL0, *LEVEL1, "keel.engine", *SERVICES, "keel.app", "keel.testing")


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(module: str, source: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, module) for every import in `source`, relative imports resolved."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
    return [(line, name) for line, name in found if _within(name, "keel")]


def violations(module: str, source: str, *, is_package: bool = False) -> list[str]:
    if module == "keel":
        allowed: tuple[str, ...] = FACADE_MAY_IMPORT
        own = "keel.__init__"  # the facade importing itself is not a thing
    else:
        rule = next(((prefix, allowed) for prefix, allowed in RULES if _within(module, prefix)), None)
        if rule is None:
            return [f"{module}: not assigned to a layer; add it to RULES in {Path(__file__).name}"]
        own, allowed = rule
    bad = []
    for line, name in imported_modules(module, source, is_package=is_package):
        if _within(name, own) or any(_within(name, a) for a in allowed):
            continue
        bad.append(f"{module}:{line} imports {name}")
    return bad


def _sources() -> list[Path]:
    return sorted(PACKAGE_DIR.rglob("*.py"))


def test_the_package_is_found() -> None:
    names = {module_name(p) for p in _sources()}
    assert {"keel", "keel.errors", "keel.store.base", "keel.engine.executor", "keel.app"} <= names


def test_dependency_direction() -> None:
    problems = []
    for path in _sources():
        problems += violations(module_name(path), path.read_text(), is_package=path.name == "__init__.py")
    assert problems == []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("keel.errors", "from keel.types import RunStatus"),
        ("keel.types", "import keel.errors"),
        ("keel.config", "from keel.types import Clock"),
        ("keel.store.base", "from keel.engine import codec"),
        ("keel.store.base", "from keel.observe import METRICS"),
        ("keel.store.base", "from ..engine import codec"),
        ("keel.store.base", "def f():\n    from keel.app import App\n"),
        ("keel.observe.metrics", "from keel.store import Store"),
        ("keel.engine.worker", "from keel.app import App"),
        ("keel.engine.worker", "from keel import RetryPolicy"),
        (
            "keel.engine.context",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from keel.testing import SkippingClock\n",
        ),
        ("keel.app", "from keel.testing import SkippingClock"),
        ("keel.app", "from keel.cli import main"),
        ("keel.testing", "import keel.cli._output"),
        ("keel", "from keel.cli import main"),
        ("keel.newthing", "import json"),
    ],
)
def test_the_checker_catches_violations(module: str, source: str) -> None:
    assert violations(module, source) != []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("keel.config", "from keel.errors import ConfigError"),
        ("keel.store.base", "from keel.store import schema as t\nfrom keel.errors import StoreError"),
        ("keel.store.sqlite", "from .base import Store"),
        ("keel.engine.executor", "from keel.store import Store\nfrom keel.observe import METRICS\nfrom . import codec"),
        ("keel.app", "from keel.engine.worker import Worker\nfrom keel.store import open_store"),
        ("keel.cli.run", "import keel\nfrom keel.app import App\nfrom keel.cli._output import console"),
        ("keel", "from keel.app import App\nfrom keel.errors import KeelError"),
    ],
)
def test_the_checker_allows_the_intended_direction(module: str, source: str) -> None:
    assert violations(module, source) == []
