"""Versioned prompt templates: ``DIR/NAME@VERSION.j2`` files rendered in Jinja2's sandbox.

A template's first line may declare its variables as a TOML inline table in a Jinja comment::

    {# vars = { ticket = "str", max_words = "int", tags = "list[str]" } #}

Declared variables are validated (types, missing, extra) before rendering. Every render returns the
template's name, version and SHA-256 with the text, so each model call can record exactly which prompt
it sent; a workflow version pins a template by asking for an exact version, never "the latest".
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jinja2
import jinja2.exceptions
import jinja2.meta
import jinja2.sandbox
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
)

from keel.errors import ConfigError, UsageError

PROMPTS_ENV = "KEEL_PROMPTS_DIR"
DEFAULT_PROMPTS_DIR = Path("prompts")
TEMPLATE_SUFFIX = ".j2"

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_FILE = re.compile(rf"(?P<name>{_NAME.pattern})@(?P<version>{_VERSION.pattern})" + re.escape(TEMPLATE_SUFFIX))
_DECLARATION_START = re.compile(r"\s*\{#-?\s*vars\s*=")
_DECLARATION = re.compile(r"\s*\{#-?\s*vars\s*=\s*(?P<table>\{.*\})\s*-?#\}\s*")
_VARIABLE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DIGITS = re.compile(r"(\d+)")

# Lax containers with strict items: a tuple is a fine list, but 3 is not a string.
_TYPES: Mapping[str, Any] = {
    "str": StrictStr,
    "int": StrictInt,
    "float": StrictFloat,
    "bool": StrictBool,
    "list[str]": list[StrictStr],
    "dict[str,str]": dict[StrictStr, StrictStr],
}
_TYPE_NAMES = ("str", "int", "float", "bool", "list[str]", "dict[str, str]")

# Immutable: a template cannot mutate the caller's lists or dicts (``tags.append(...)`` is refused).
# No loader, so {% include %} and {% extends %} cannot pull in files outside the pinned, hashed one.
_ENV = jinja2.sandbox.ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
)


@dataclass(frozen=True)
class RenderedPrompt:
    """A rendered prompt and the identity of the template it came from."""

    text: str
    name: str
    version: str
    sha256: str

    def as_record(self) -> dict[str, str]:
        """What the gateway journals with each call: the template's name, version and hash."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True)
class PromptTemplate:
    """One template version, compiled once; equal when name, version and hash are."""

    name: str
    version: str
    source: str = field(compare=False, repr=False)
    path: Path | None = field(default=None, compare=False)
    sha256: str = field(init=False)
    # Declared variable names and their type names, or None when the template declares none.
    variables: Mapping[str, str] | None = field(init=False, compare=False)
    _model: type[BaseModel] | None = field(init=False, compare=False, repr=False)
    _compiled: jinja2.Template = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ConfigError(f"prompt template name {self.name!r} must match {_NAME.pattern}", key="name")
        if not _VERSION.fullmatch(self.version):
            raise ConfigError(f"prompt template version {self.version!r} must match {_VERSION.pattern}", key="version")
        where = str(self.path) if self.path is not None else self.ref
        variables, body, line_offset = _split_declaration(self.source, where)
        try:
            compiled = _ENV.from_string(body)
            used = jinja2.meta.find_undeclared_variables(_ENV.parse(body))
        except jinja2.TemplateSyntaxError as exc:
            line = (exc.lineno or 0) + line_offset
            raise ConfigError(
                f"{where}: template syntax error at line {line}: {exc.message}", key=where, line=line
            ) from None
        if variables is not None:
            # Caught here rather than at the first render, which may come long after deployment.
            unknown = sorted(used - variables.keys())
            if unknown:
                raise ConfigError(
                    f"{where}: uses variables it does not declare on line 1: {', '.join(unknown)}",
                    key=where,
                    line=1,
                    variables=unknown,
                )
        # Frozen dataclass: derived fields are set once, here.
        object.__setattr__(self, "sha256", hashlib.sha256(self.source.encode("utf-8")).hexdigest())
        object.__setattr__(self, "variables", None if variables is None else MappingProxyType(variables))
        object.__setattr__(self, "_model", None if variables is None else _variables_model(self.ref, variables))
        object.__setattr__(self, "_compiled", compiled)

    @property
    def ref(self) -> str:
        """``NAME@VERSION``."""
        return f"{self.name}@{self.version}"

    @classmethod
    def from_file(cls, path: Path) -> PromptTemplate:
        """Load ``NAME@VERSION.j2``; the hash is of the file's bytes."""
        match = _FILE.fullmatch(path.name)
        if match is None:
            raise ConfigError(f"{path}: a prompt template file must be named NAME@VERSION{TEMPLATE_SUFFIX}")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read prompt template {path}: {exc.strerror or type(exc).__name__}") from None
        try:
            source = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{path} is not UTF-8 text") from None
        return cls(match["name"], match["version"], source, path)

    def render(self, variables: Mapping[str, Any]) -> RenderedPrompt:
        """Validate `variables` against the declaration, then render in the sandbox."""
        values = dict(variables)
        if self._model is not None:
            try:
                values = self._model.model_validate(values).model_dump(by_alias=True)
            except ValidationError as exc:
                raise self._usage_error(exc) from None
        try:
            text = self._compiled.render(values)
        except jinja2.exceptions.SecurityError as exc:
            raise UsageError(f"prompt template {self.ref}: refused by the sandbox: {exc}", template=self.ref) from None
        except jinja2.UndefinedError as exc:
            raise UsageError(f"prompt template {self.ref}: {exc.message}", template=self.ref) from None
        return RenderedPrompt(text=text, name=self.name, version=self.version, sha256=self.sha256)

    def _usage_error(self, exc: ValidationError) -> UsageError:
        declared = self.variables or {}
        problems: list[str] = []
        names: list[str] = []
        for error in exc.errors(include_url=False):
            loc = error["loc"]
            name = str(loc[0]) if loc else "(variables)"
            path = name + "".join(f"[{part!r}]" for part in loc[1:])
            if error["type"] == "missing":
                message = f"missing (declared as {declared.get(name, '?')})"
            elif error["type"] == "extra_forbidden":
                message = f"not declared by the template (it declares: {', '.join(declared) or 'nothing'})"
            else:
                # The type, never the value: a prompt variable may hold anything, secrets included.
                got = type(error["input"]).__name__
                message = f"{str(error['msg']).replace('Input should be', 'must be')} (got {got})"
            names.append(name)
            problems.append(f"{path}: {message}")
        return UsageError(
            f"prompt template {self.ref}: invalid variables:\n  " + "\n  ".join(problems),
            template=self.ref,
            variables=sorted(set(names)),
            problems=problems,
        )


def _split_declaration(source: str, where: str) -> tuple[dict[str, str] | None, str, int]:
    """(declared variables or None, template body, lines removed before the body)."""
    first, newline, rest = source.partition("\n")
    if not _DECLARATION_START.match(first):
        return None, source, 0
    match = _DECLARATION.fullmatch(first)
    if match is None:
        raise ConfigError(
            f'{where}: line 1: a vars declaration must be one line: {{# vars = {{ NAME = "TYPE", ... }} #}}',
            key=where,
            line=1,
        )
    try:
        table = tomllib.loads("vars = " + match["table"])["vars"]
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{where}: line 1: the vars declaration is not a TOML inline table: {exc}", key=where, line=1
        ) from None
    declared: dict[str, str] = {}
    for name, type_name in table.items():
        if not _VARIABLE.fullmatch(name):
            raise ConfigError(f"{where}: line 1: variable name {name!r} must match {_VARIABLE.pattern}", key=where)
        canonical = re.sub(r"\s+", "", type_name) if isinstance(type_name, str) else None
        if canonical is None or canonical not in _TYPES:
            raise ConfigError(
                f"{where}: line 1: variable {name}: type {type_name!r} is not one of {', '.join(_TYPE_NAMES)}",
                key=where,
            )
        declared[name] = "dict[str, str]" if canonical == "dict[str,str]" else canonical
    # The declaration line (and its newline) is dropped so the rendered text does not start blank.
    return declared, rest if newline else "", 1


def _variables_model(ref: str, declared: Mapping[str, str]) -> type[BaseModel]:
    # Fields get neutral names and carry the variable as alias, so a variable may be called `json` or
    # `model_config` without shadowing BaseModel.
    fields: dict[str, Any] = {
        f"v{index}": (_TYPES[type_name.replace(" ", "")], Field(alias=name))
        for index, (name, type_name) in enumerate(declared.items())
    }
    return create_model(f"PromptVariables[{ref}]", __config__=ConfigDict(extra="forbid"), **fields)


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    # Natural order, so that 10 comes after 9.
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(version) if part)


class PromptLibrary:
    """The templates of one directory, read on first use and then held (a change needs a new version)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: dict[str, dict[str, Path]] | None = None
        self._loaded: dict[tuple[str, str], PromptTemplate] = {}

    @classmethod
    def from_env(cls, default: Path = DEFAULT_PROMPTS_DIR) -> PromptLibrary | None:
        """$KEEL_PROMPTS_DIR, else `default`; None when `default` does not exist.

        A KEEL_PROMPTS_DIR naming a missing directory is an error: it was asked for.
        """
        configured = os.environ.get(PROMPTS_ENV)
        if not configured:
            return cls(default.absolute()) if default.is_dir() else None
        directory = Path(configured).expanduser().absolute()
        if not directory.is_dir():
            raise ConfigError(
                f"{PROMPTS_ENV}: prompt template directory {directory} does not exist or is not a directory",
                key=PROMPTS_ENV,
            )
        return cls(directory)

    def names(self) -> list[str]:
        """Every template name in the directory, sorted."""
        return sorted(self._scan())

    def versions(self, name: str) -> list[str]:
        """The versions of `name`, oldest first in natural order."""
        files = self._scan()
        if name not in files:
            known = ", ".join(sorted(files)) or "none"
            raise ConfigError(
                f"no prompt template named {name!r} in {self.directory} (templates: {known})",
                key=name,
                available=sorted(files),
            )
        return sorted(files[name], key=_version_key)

    def get(self, name: str, version: str) -> PromptTemplate:
        """Template `name` at exactly `version`."""
        cached = self._loaded.get((name, version))
        if cached is not None:
            return cached
        available = self.versions(name)
        if version not in available:
            raise ConfigError(
                f"prompt template {name!r} has no version {version!r} in {self.directory}"
                f" (versions: {', '.join(available)})",
                key=f"{name}@{version}",
                available=available,
            )
        template = PromptTemplate.from_file(self._scan()[name][version])
        self._loaded[(name, version)] = template
        return template

    def _scan(self) -> dict[str, dict[str, Path]]:
        if self._files is not None:
            return self._files
        try:
            paths = sorted(self.directory.glob("*" + TEMPLATE_SUFFIX))
        except OSError as exc:
            raise ConfigError(
                f"cannot read prompt template directory {self.directory}: {exc.strerror or type(exc).__name__}"
            ) from None
        files: dict[str, dict[str, Path]] = {}
        for path in paths:
            match = _FILE.fullmatch(path.name)
            if match is None:
                # A misnamed file is a template nobody can ask for; better to say so at start-up.
                raise ConfigError(
                    f"{path}: a prompt template file must be named NAME@VERSION{TEMPLATE_SUFFIX}"
                    f" (NAME: {_NAME.pattern}, VERSION: {_VERSION.pattern})",
                    key=path.name,
                )
            files.setdefault(match["name"], {})[match["version"]] = path
        self._files = files
        return files


__all__ = [
    "DEFAULT_PROMPTS_DIR",
    "PROMPTS_ENV",
    "PromptLibrary",
    "PromptTemplate",
    "RenderedPrompt",
]
