"""What a command works on: the database, and the module, App and workflow a TARGET names."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from keel.app import App
from keel.config import resolve_database_url
from keel.engine.registry import WorkflowDef
from keel.errors import KeelError, UsageError
from keel.store import Store, open_store


class TargetError(UsageError):
    """A TARGET that names no importable module, file, App or workflow."""

    code = "cli.target"


class TargetImportError(KeelError):
    """The target module exists but raised while being imported (a bug in it, not in the call)."""

    code = "cli.import"


class CliError(KeelError):
    """A command that could not do its job for a reason outside Keel (a port in use...)."""

    code = "cli.error"


@dataclass
class CliState:
    """Options of the root command, handed to every subcommand through the Click context."""

    database_url: str | None = None
    log_level: str | None = None
    log_format: str | None = None

    def resolved_url(self) -> str:
        return resolve_database_url(self.database_url)

    @contextlib.contextmanager
    def store(self) -> Iterator[Store]:
        """The store, opened for one command and closed after it."""
        store = open_store(self.resolved_url())
        try:
            yield store
        finally:
            store.close()

    @contextlib.contextmanager
    def control_app(self) -> Iterator[App]:
        """An App with no workflows, for operator controls that only touch the database."""
        app = App("keel-cli", self.resolved_url())
        try:
            yield app
        finally:
            app.close()

    def bind(self, app: App) -> App:
        """Point a user's App at the database this command was given, when one was given."""
        if self.database_url is None:
            return app  # neither --database-url nor KEEL_DATABASE_URL: the app's own choice stands
        url = self.resolved_url()
        if app.database_url != url:
            app.close()  # in case the module opened its store at import time
            app.database_url = url
        return app


@dataclass(frozen=True)
class LoadedWorkflow:
    """A workflow found through a TARGET, with the App that registered it."""

    app: App
    workflow: WorkflowDef
    source: str  # the module or file as the user wrote it, for messages


def split_target(spec: str) -> tuple[str, str | None]:
    """`module:attr` or `path/file.py:attr` into its two parts (attr is None when absent)."""
    head, sep, tail = spec.rpartition(":")
    # A colon followed by a path (a Windows drive, `C:\x.py`) is not an attribute separator.
    if sep and head and tail and "/" not in tail and "\\" not in tail:
        return head, tail
    return spec, None


def _is_path(source: str) -> bool:
    return source.endswith(".py") or "/" in source or os.sep in source


def import_source(source: str) -> ModuleType:
    """Import a dotted module name or a .py file (its directory goes on sys.path)."""
    if _is_path(source):
        return _import_file(source)
    # The console script does not put the working directory on sys.path; `python -m` does.
    # Either way `keel run myproject.flows:x` should find modules where the user stands.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(source)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (source == exc.name or source.startswith(exc.name + ".")):
            raise TargetError(
                f"no module named {source!r} "
                "(run keel from your project directory, or give a path like path/to/file.py)"
            ) from None
        raise _import_failed(source, exc) from None
    except Exception as exc:  # any failure of the user's module is reported in one line
        raise _import_failed(source, exc) from None


def _import_file(source: str) -> ModuleType:
    path = Path(source)
    if not path.is_file():
        raise TargetError(f"no such file: {source}")
    if path.suffix != ".py":
        raise TargetError(f"{source} is not a .py file")
    path = path.resolve()
    directory = str(path.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)  # so the file can import its siblings
    name = path.stem
    existing = sys.modules.get(name)
    if existing is not None and getattr(existing, "__file__", None) and Path(existing.__file__ or "").resolve() == path:
        return existing
    if existing is not None or not name.isidentifier():
        # The stem is taken (a file called json.py or keel.py): load it under a private name.
        name = f"_keel_target_{hashlib.sha1(str(path).encode()).hexdigest()[:10]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TargetError(f"cannot import {source}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # reported in one line, with where it happened
        sys.modules.pop(name, None)
        raise _import_failed(source, exc) from None
    return module


def _import_failed(source: str, exc: BaseException) -> TargetImportError:
    where = ""
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f" ({_display_path(exc.filename)}:{exc.lineno})"
    else:
        frames = traceback.extract_tb(exc.__traceback__)
        # The innermost frame outside importlib is the line of the user's code that failed.
        user = [f for f in frames if "importlib" not in f.filename]
        if user:
            where = f" ({_display_path(user[-1].filename)}:{user[-1].lineno})"
    detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return TargetImportError(f"importing {source} failed: {type(exc).__name__}: {detail}{where}")


def _display_path(filename: str) -> str:
    try:
        return os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename


def find_apps(module: ModuleType) -> list[tuple[str, App]]:
    """The keel.App objects bound at module level, each once, with the name it is bound to."""
    seen: set[int] = set()
    found = []
    for name, obj in vars(module).items():
        if isinstance(obj, App) and id(obj) not in seen:
            seen.add(id(obj))
            found.append((name, obj))
    return found


def load_app(spec: str, state: CliState) -> tuple[App, str]:
    """The App a `MODULE_OR_FILE[:APP]` spec names, bound to the command's database."""
    source, attr = split_target(spec)
    module = import_source(source)
    if attr is not None:
        obj = getattr(module, attr, None)
        if not isinstance(obj, App):
            raise TargetError(f"{attr!r} in {source} is not a keel.App")
        return state.bind(obj), source
    apps = find_apps(module)
    if not apps:
        raise TargetError(f'no keel.App in {source}: create one with `app = keel.App("name")`')
    if len(apps) > 1:
        names = ", ".join(name for name, _ in apps)
        raise TargetError(f"several keel.App objects in {source} ({names}): pick one with {source}:NAME")
    return state.bind(apps[0][1]), source


def load_workflow(target: str, state: CliState) -> LoadedWorkflow:
    """The workflow and App a `module:workflow` or `path/to/file.py:workflow` TARGET names."""
    source, attr = split_target(target)
    if attr is None:
        raise TargetError(f"TARGET must be module:workflow or path/to/file.py:workflow, got {target!r}")
    module = import_source(source)
    apps = [app for _, app in find_apps(module)]
    wf = getattr(getattr(module, attr, None), "__keel_workflow__", None)
    if isinstance(wf, WorkflowDef):
        for app in apps:
            if app.registry.workflow(wf.name, wf.version) is wf:
                return LoadedWorkflow(state.bind(app), wf, source)
        raise TargetError(f"workflow {attr!r} in {source} belongs to no keel.App defined or imported in {source}")
    # Not a function of that name: accept the name it was registered under, too.
    for app in apps:
        versions = app.registry.workflows.get(attr)
        if versions:
            return LoadedWorkflow(state.bind(app), list(versions.values())[-1], source)
    if not apps:
        raise TargetError(f'no keel.App in {source}: create one with `app = keel.App("name")`')
    found = sorted(
        {name for name, obj in vars(module).items() if isinstance(getattr(obj, "__keel_workflow__", None), WorkflowDef)}
    )
    raise TargetError(f"no workflow {attr!r} in {source} (found: {', '.join(found) or 'none'})")
