"""Policy as code with Cedar: versioned policy sets, a deny-by-default engine, two-person activation.

The Cedar entity model every request is translated into (policies are written against it):

- **Principal**: `Agent::"<id>"` or `User::"<id>"` (from `Principal.kind`), with attributes
  `org` (String) and `role` (String).
- **Action**: `Action::"<action>"` verbatim, e.g. `Action::"tool:refund"`. An action `KIND:NAME`
  is a member of the group `Action::"KIND"`, so `action in Action::"tool"` covers every tool call;
  an action with no colon is in no group.
- **Resource**: `Resource::"<kind>:<id>"` (e.g. `Resource::"order:8812"`), with attributes `kind`,
  `id`, `org`, `sensitivity` (`public`, `internal`, `confidential` or `restricted`) and
  `sensitivity_level` (0-3 in that order, since Cedar cannot order strings).
- **Context**: the request's mapping as given, e.g. `{"hour": 14, "risk_score": 35}`. Values are
  Long (64-bit integers), String or Bool: Cedar has no floats, so scores are integers and a float
  is refused at the boundary (`ValueError`). The engine adds nothing (it is pure): the caller
  supplies the time and the risk score. The governor passes `hour`, `risk_score`, `run_risk_score`
  (Long), `external` (Bool) and `workflow` (String) with every tool call (`GOVERNOR_CONTEXT`).

Decisions: deny by default (no permit matches: deny), a satisfied `forbid` overrides any
`permit`, and any evaluation error (a policy reading a context key the request lacks, say) denies
too, with the error in `PolicyDecision.errors`: Cedar itself would skip the failing policy, which
would let a request through when the failing policy is a `forbid`. `reasons` names the policies
that determined the decision: a policy's `@id("...")` annotation, else `FILE#N` (its N-th policy,
from 1). `@id` values must be unique within a set.

A `PolicySet` is parsed once; its `version` is `sha256:` + the SHA-256 of the canonical bundle (the
JSON array of `[file name, text]` pairs sorted by name, compact, UTF-8), so the same files give the
same version anywhere and any byte changed gives another. `PolicyEngine` keeps Cedar's pre-parsed
policy handle and caches the per-request entity handles, which is what keeps a decision far under
a millisecond (`bench/policy.py`).

A set is validated against this model before it can be proposed (`keel_schema`,
`PolicySet.validate`): Cedar's validator refuses a misspelt attribute, an unknown entity type, a
context key read at the wrong type, and the like, which would otherwise show only as denies.

A new version takes effect only after a second person approves it (`PolicyStore`), and every
proposal, approval and rejection is written to the audit log. `active_engine(store)` returns the
engine of the active version, cached by version, re-checked with one primary-key read.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import re
import threading
import time
import types
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cedarpy

from keel.engine.estimate import current_user
from keel.errors import InvalidStateError, KeelError, UsageError
from keel.governance.audit import Actor, AuditEvent, AuditLog, OperatorRecord
from keel.store import Store
from keel.store import policy as rows
from keel.types import Clock, SystemClock

log = logging.getLogger("keel.governance.policy")

PRINCIPAL_KINDS = {"agent": "Agent", "user": "User"}
SENSITIVITY_LEVELS = {"public": 0, "internal": 1, "confidential": 2, "restricted": 3}
MAX_FILE_BYTES = 1_000_000
MAX_OPERATOR_CHARS = 200
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_FILE_NAME = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*\.cedar")
_POLICY_ID = re.compile(r"policy(\d+)")
# A refused proposal's audit entry keeps this many of its problems (and their count).
_AUDITED_PROBLEMS = 20
# Engines of recently active versions, shared by every store in the process: a version's engine is
# the same wherever it was read from.
_ENGINE_CACHE_SIZE = 8


class PolicyError(KeelError):
    """A policy set that does not parse, or a policy change whose audit entry could not be written."""

    code = "governance.policy"


class PolicyParseError(PolicyError, UsageError):
    """Cedar refused the text of a policy file (the message names the file and Cedar's error)."""

    code = "governance.policy_parse"


class PolicySchemaError(PolicyError, UsageError):
    """A policy set that parses but does not fit Keel's entity model; `errors` lists every problem."""

    code = "governance.policy_schema"

    @property
    def errors(self) -> list[str]:
        return list(self.details.get("errors", ()))


# -- the request -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Principal:
    """Who asks: an agent or a user, with their org and role."""

    kind: str  # "agent" | "user"
    id: str
    org: str
    role: str

    def __post_init__(self) -> None:
        if self.kind not in PRINCIPAL_KINDS:
            raise ValueError(f"principal kind must be agent or user, got {self.kind!r}")
        _check_strings("principal", id=self.id, org=self.org, role=self.role)


@dataclass(frozen=True, slots=True)
class Resource:
    """What is acted on, with its org and sensitivity."""

    kind: str  # e.g. "tool", "document", "order"
    id: str
    org: str
    sensitivity: str  # public | internal | confidential | restricted

    def __post_init__(self) -> None:
        if self.sensitivity not in SENSITIVITY_LEVELS:
            raise ValueError(f"sensitivity must be one of {', '.join(SENSITIVITY_LEVELS)}, got {self.sensitivity!r}")
        _check_strings("resource", kind=self.kind, id=self.id, org=self.org)


def _check_strings(what: str, **values: object) -> None:
    for name, value in values.items():
        if not isinstance(value, str) or not value:
            raise ValueError(f"{what} {name} must be a non-empty string, got {value!r}")


@dataclass(frozen=True, slots=True)
class PolicyRequest:
    """One question for the engine: may `principal` do `action` ("tool:refund") on `resource`?"""

    principal: Principal
    action: str
    resource: Resource
    context: Mapping[str, int | str | bool]


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """The answer, with the policy version that gave it and the policies that determined it."""

    allowed: bool
    policy_version: str
    reasons: tuple[str, ...]  # @id (or FILE#N) of the determining policies; empty: denied by default
    errors: tuple[str, ...]  # evaluation errors (any error denies)

    @property
    def decision(self) -> str:
        return "allow" if self.allowed else "deny"

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "policy_version": self.policy_version,
            "reasons": list(self.reasons),
            "errors": list(self.errors),
        }


# -- policy sets -------------------------------------------------------------------------------


def bundle_version(files: Mapping[str, str]) -> str:
    """`sha256:<hex>` of the canonical bundle: the compact JSON of sorted [name, text] pairs, UTF-8."""
    canonical = json.dumps(sorted(files.items()), ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


class PolicySet:
    """A parsed, immutable set of Cedar policy files, identified by `version`."""

    __slots__ = ("_files", "_handle", "_labels", "_static", "text", "version")

    def __init__(self, files: Mapping[str, str]) -> None:
        checked = {_file_name(name): _file_text(name, text) for name, text in files.items()}
        self._files = types.MappingProxyType(dict(sorted(checked.items())))
        self.version: str = bundle_version(self._files)
        # One text in name order: Cedar numbers policies policy0, policy1... across it, which is how
        # a Cedar id is traced back to its file.
        self.text: str = "\n".join(self._files.values())
        self._labels = _labels(self._files)
        try:
            self._handle = cedarpy.PolicySet.from_str(self.text)
            parsed = json.loads(cedarpy.policies_to_json_str(self.text)) if self.text.strip() else {}
        except ValueError as exc:  # each file parsed alone already; this is a combination problem
            raise PolicyParseError(f"the policy set does not parse: {exc}") from None
        # Each static policy in Cedar's JSON form, by id: the engine slices the set by action from it.
        self._static: dict[str, Any] = parsed.get("staticPolicies", {})

    @classmethod
    def from_text(cls, text: str, name: str = "policy.cedar") -> PolicySet:
        return cls({name: text})

    @classmethod
    def from_dir(cls, path: str | Path) -> PolicySet:
        """Every `*.cedar` file under `path` (a directory, searched recursively, or one file)."""
        root = Path(path)
        if root.is_file():
            return cls({root.name: _read(root)})
        if not root.is_dir():
            raise UsageError(f"no such policy file or directory: {path}")
        found = sorted(p for p in root.rglob("*.cedar") if p.is_file())
        if not found:
            raise UsageError(f"no .cedar files in {path}")
        return cls({p.relative_to(root).as_posix(): _read(p) for p in found})

    @classmethod
    def from_json(cls, files_json: str) -> PolicySet:
        """The set stored as a JSON object of file name -> text (`files_json`)."""
        files = json.loads(files_json)
        if not isinstance(files, dict):
            raise PolicyError("stored policy files are not a JSON object")
        return cls(files)

    @property
    def files(self) -> Mapping[str, str]:
        """File name -> Cedar text, sorted by name."""
        return self._files

    @property
    def policy_ids(self) -> tuple[str, ...]:
        """The name of every policy and template in the set, as decisions report them."""
        return tuple(self._labels.values())

    def files_json(self) -> str:
        return json.dumps(dict(self._files), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def validate(self, extra_context: Mapping[str, str] | None = None) -> list[str]:
        """Every problem Cedar's validator finds against Keel's entity model (`keel_schema`), each
        naming its file and policy; empty when the set is valid.

        `extra_context`: context keys a caller of the engine adds to the governor's (name -> Long,
        String or Bool); they are optional, so a policy must test `context has KEY` before reading one."""
        if not self.text.strip():
            return []
        parsed = json.loads(cedarpy.policies_to_json_str(self.text))
        schema = keel_schema(_named_actions(parsed), extra_context)
        result = cedarpy.validate_policies(self.text, schema)
        found = [(e.policy_id, _VALIDATION_PREFIX.sub("", e.error)) for e in result.errors]
        policies = {**parsed.get("staticPolicies", {}), **parsed.get("templates", {})}
        found += [(cedar_id, m) for cedar_id, body in policies.items() for m in _impossible_tests(body, schema)]
        if not found:
            return []
        where = {cedar_id: _where(name, n, annotated) for cedar_id, name, n, annotated in _positions(self._files)}
        order = {cedar_id: i for i, cedar_id in enumerate(where)}
        # Cedar reports in no fixed order, and once per action a problem applies to: sorted, once each.
        found.sort(key=lambda item: (order.get(item[0], len(order)), item[1]))
        return list(dict.fromkeys(_problem(cedar_id, m, where, self._labels, schema) for cedar_id, m in found))

    def __len__(self) -> int:
        return len(self._handle)

    def __repr__(self) -> str:
        return f"PolicySet({self.version}, files={list(self._files)})"


def _read(path: Path) -> str:
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None


def _file_name(name: object) -> str:
    if not isinstance(name, str) or not _FILE_NAME.fullmatch(name) or ".." in name.split("/"):
        raise UsageError(f"policy file names are relative paths ending in .cedar (letters, digits, _.-/), got {name!r}")
    return name


def _file_text(name: str, text: object) -> str:
    if not isinstance(text, str):
        raise UsageError(f"policy file {name} must be text")
    if len(text.encode()) > MAX_FILE_BYTES:
        raise UsageError(f"policy file {name} is larger than {MAX_FILE_BYTES} bytes")
    return text


def _positions(files: Mapping[str, str]) -> Iterator[tuple[str, str, int, str | None]]:
    """(Cedar's positional id over the joined text, file name, N-th policy of that file from 1, @id or None)."""
    offset = 0
    for name, text in files.items():
        try:
            parsed = json.loads(cedarpy.policies_to_json_str(text)) if text.strip() else {}
        except ValueError as exc:
            raise PolicyParseError(f"{name}: {exc}", file=name) from None
        policies = {**parsed.get("staticPolicies", {}), **parsed.get("templates", {})}
        for cedar_id, body in policies.items():
            match = _POLICY_ID.fullmatch(cedar_id)
            if match is None:  # cannot happen for surface syntax; N = 0 keeps Cedar's id if it does
                yield cedar_id, name, 0, None
                continue
            n = int(match.group(1))
            yield f"policy{offset + n}", name, n + 1, (body.get("annotations") or {}).get("id") or None
        offset += len(policies)


def _labels(files: Mapping[str, str]) -> dict[str, str]:
    """Cedar's positional id (policyN, over the joined text) -> the name decisions report."""
    labels: dict[str, str] = {}
    seen: dict[str, str] = {}
    for cedar_id, name, n, annotated in _positions(files):
        if not n:
            labels[cedar_id] = cedar_id
            continue
        if annotated:
            if annotated in seen:
                raise PolicyParseError(
                    f"@id({annotated!r}) is used twice ({seen[annotated]} and {name}): decisions name "
                    "policies by @id, so each must be unique",
                    file=name,
                )
            seen[annotated] = name
        labels[cedar_id] = annotated or f"{name}#{n}"
    return labels


# -- the schema --------------------------------------------------------------------------------

# What Cedar's validator checks against this schema: that a policy names only Keel's entity types
# (Agent, User, Resource, Action); that every attribute it reads on the principal, resource or
# context exists with the type it is used at (`principal.rol`, `resource.sensitivty_level`,
# `context.risk`, `context.hour == "9"`, `resource.sensitivity > 2` are all errors); and that an
# optional context key is read only behind `context has KEY`. Keel adds one check of its own: a
# `has` test names an attribute that exists (`_impossible_tests`). What neither can check: action
# names (Keel's are open-ended, `tool:` + whatever tool a workflow calls, so every action a policy
# names is declared and `Action::"tool:refnud"` passes) and attribute values (`principal.role ==
# "admin"` against roles nobody has, `resource.sensitivity == "secret"`).

# The context the governor passes with every tool call it asks about (keel/governance/governor.py):
# all five keys, every time, so a policy may read them without `context has`.
GOVERNOR_CONTEXT: Mapping[str, str] = types.MappingProxyType(
    {"hour": "Long", "risk_score": "Long", "run_risk_score": "Long", "external": "Bool", "workflow": "String"}
)
# The action groups the governor asks about: `tool:NAME` is in `Action::"tool"`.
ACTION_GROUPS = ("tool",)
_CEDAR_TYPES = {"long": "Long", "string": "String", "bool": "Boolean", "boolean": "Boolean"}
_VALIDATION_PREFIX = re.compile(r"^for policy `[^`]*`, ")
# Every action shares one context and one principal/resource shape, so an error reported once per
# action says the same thing each time.
_FOR_ACTION = re.compile(r' for Action::"(?:[^"\\]|\\.)*"')
_NO_ENTITY_ATTRIBUTE = re.compile(r"attribute `[^`]*` on entity type `([^`]*)` not found")
_NO_CONTEXT_ATTRIBUTE = re.compile(r"attribute `[^`]*` in context not found")
_OPTIONAL_CONTEXT_ATTRIBUTE = re.compile(r"optional attribute `([^`]*)` in context")


def keel_schema(actions: Iterable[str] = (), extra_context: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Keel's entity model as a Cedar JSON schema, declaring `actions` (with their groups) besides `tool`.

    Every action applies to principals Agent and User and resource Resource, with the governor's
    context (required) plus `extra_context` (name -> Long, String or Bool; optional)."""
    context: dict[str, Any] = {key: {"type": _cedar_type(key, kind)} for key, kind in GOVERNOR_CONTEXT.items()}
    for key, kind in (extra_context or {}).items():
        if not isinstance(key, str) or not key:
            raise UsageError(f"a context key must be a non-empty string, got {key!r}")
        declared = {"type": _cedar_type(key, kind), "required": False}
        if key in context and context[key]["type"] != declared["type"]:
            raise UsageError(f"context key {key!r} is the governor's, a {context[key]['type']}, not a {kind}")
        context.setdefault(key, declared)
    applies = {
        "principalTypes": ["Agent", "User"],
        "resourceTypes": ["Resource"],
        "context": {"type": "Record", "attributes": context},
    }
    declared_actions: dict[str, Any] = {group: {"appliesTo": applies} for group in ACTION_GROUPS}
    for action in actions:
        group, sep, _ = action.partition(":")
        if sep and group:  # the engine puts `KIND:NAME` in the group `KIND`
            declared_actions.setdefault(group, {"appliesTo": applies})
            declared_actions[action] = {"appliesTo": applies, "memberOf": [{"id": group}]}
        else:
            declared_actions.setdefault(action, {"appliesTo": applies})
    person = _record(org="String", role="String")
    return {
        "": {
            "entityTypes": {
                "Agent": {"shape": person},
                "User": {"shape": person},
                "Resource": {
                    "shape": _record(
                        kind="String", id="String", org="String", sensitivity="String", sensitivity_level="Long"
                    )
                },
            },
            "actions": declared_actions,
        }
    }


def _record(**attributes: str) -> dict[str, Any]:
    return {"type": "Record", "attributes": {name: {"type": kind} for name, kind in attributes.items()}}


def _cedar_type(key: str, kind: object) -> str:
    cedar = _CEDAR_TYPES.get(kind.lower()) if isinstance(kind, str) else None
    if cedar is None:
        raise UsageError(f"context key {key!r}: the type must be Long, String or Bool, got {kind!r}")
    return cedar


def _named_actions(parsed: Any) -> set[str]:
    """The id of every `Action::"..."` the policies (Cedar's JSON form) name, in scopes or conditions."""
    return {node["id"] for node in _nodes(parsed) if node.get("type") == "Action" and isinstance(node.get("id"), str)}


def _impossible_tests(policy: Any, schema: Mapping[str, Any]) -> list[str]:
    """`has` tests of an attribute the model does not have: always false, which Cedar's validator
    accepts without a word (the guarded read is never type-checked), so `context has risk &&
    context.risk > 70` would pass it and never apply."""
    model = schema[""]
    known = {
        "principal": model["entityTypes"]["Agent"]["shape"]["attributes"],  # User's are the same
        "resource": model["entityTypes"]["Resource"]["shape"]["attributes"],
        "context": model["actions"][ACTION_GROUPS[0]]["appliesTo"]["context"]["attributes"],
    }
    out = []
    for node in _nodes(policy):
        test = node.get("has")
        if not isinstance(test, dict) or not isinstance(test.get("left"), dict):
            continue
        var, attr = test["left"].get("Var"), test.get("attr")
        if var in known and attr not in known[var]:
            out.append(
                f"`{var} has {attr}` is always false: {var} never has `{attr}` "
                f"(it has: {', '.join(sorted(known[var]))})"
            )
    return out


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in `tree`, depth first."""
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _where(name: str, n: int, annotated: str | None) -> str:
    place = f"{name}#{n}" if n else name
    return f"{place} (@id {json.dumps(annotated, ensure_ascii=False)})" if annotated else place


def _problem(
    cedar_id: str, error: str, where: Mapping[str, str], labels: Mapping[str, str], schema: Mapping[str, Any]
) -> str:
    message = _relabel(_FOR_ACTION.sub("", error), labels)
    return f"{where.get(cedar_id, cedar_id or 'the policy set')}: {message}{_hint(message, schema[''])}"


def _hint(message: str, schema: Mapping[str, Any]) -> str:
    """For an attribute that is not there, the ones that are (a misspelling is the usual cause)."""
    attributes: Mapping[str, Any] = {}
    if match := _NO_ENTITY_ATTRIBUTE.search(message):
        attributes = schema["entityTypes"].get(match.group(1), {}).get("shape", {}).get("attributes", {})
    elif _NO_CONTEXT_ATTRIBUTE.search(message) and schema["actions"]:
        attributes = next(iter(schema["actions"].values()))["appliesTo"]["context"]["attributes"]
    elif match := _OPTIONAL_CONTEXT_ATTRIBUTE.search(message):
        return f" (test `context has {match.group(1)}` first: the governor does not pass it)"
    return f" (it has: {', '.join(sorted(attributes))})" if attributes else ""


# -- the engine --------------------------------------------------------------------------------


class PolicyEngine:
    """Decides requests against one parsed policy set: synchronous, no I/O, deny by default."""

    def __init__(self, policies: PolicySet) -> None:
        self.policies = policies
        self._handle = policies._handle
        self._labels = policies._labels
        self._version = policies.version
        # The entity graph of a request depends on its principal, action and resource only, which
        # repeat across a run's tool calls: building Cedar's handle costs about as much as deciding.
        self._entities = functools.lru_cache(maxsize=4096)(_entities)
        # Cedar evaluates every policy of the set it is given; most name their actions in their
        # scope, so the set is cut per action to the policies that can apply to it.
        self._slices = functools.lru_cache(maxsize=1024)(self._slice)

    @property
    def version(self) -> str:
        return self._version

    def _slice(self, action: str) -> Any:
        """The policies whose action scope can match `action` (or its group), with their ids.

        Exact: a policy whose scope does not match is neither satisfied nor evaluated (so it cannot
        error either), in Cedar's semantics, so leaving it out changes no decision, reason or error."""
        group, sep, _ = action.partition(":")
        names = {action, group} if sep and group else {action}
        static = self.policies._static
        chosen = {pid: body for pid, body in static.items() if _may_match(body.get("action"), names)}
        if len(chosen) == len(static):
            return self._handle
        return cedarpy.PolicySet.from_json_str(
            json.dumps({"staticPolicies": chosen, "templates": {}, "templateLinks": []})
        )

    def decide(self, request: PolicyRequest) -> PolicyDecision:
        """Allow or deny `request`. A float (or other non-Cedar value) in its context is a ValueError."""
        context = _context(request.context)
        principal, action, resource = request.principal, request.action, request.resource
        if not isinstance(action, str) or not action:
            raise ValueError(f"action must be a non-empty string, got {action!r}")
        try:
            result = cedarpy.is_authorized(
                {
                    "principal": {"type": PRINCIPAL_KINDS[principal.kind], "id": principal.id},
                    "action": {"type": "Action", "id": action},
                    "resource": {"type": "Resource", "id": f"{resource.kind}:{resource.id}"},
                    "context": context,
                },
                self._slices(action),
                self._entities(principal, action, resource),
            )
            errors = result.diagnostics.errors
            cedar_allowed = result.allowed
            cedar_reasons = result.diagnostics.reasons
        except Exception as exc:  # noqa: BLE001 - an evaluation that cannot finish denies, with why
            return PolicyDecision(False, self._version, (), (f"{type(exc).__name__}: {exc}",))
        if not errors:
            return PolicyDecision(
                cedar_allowed, self._version, tuple(self._labels.get(r, r) for r in cedar_reasons), ()
            )
        # Denied because a policy failed: the permits Cedar matched did not determine the answer.
        reasons = () if cedar_allowed else tuple(self._labels.get(r, r) for r in cedar_reasons)
        return PolicyDecision(False, self._version, reasons, tuple(_relabel(e, self._labels) for e in errors))


def _may_match(scope: Any, names: set[str]) -> bool:
    """Whether a policy's action scope (Cedar JSON) can match an action named in `names`."""
    if not isinstance(scope, dict):
        return True
    op = scope.get("op")
    if op == "All":
        return True
    if op in ("==", "in"):
        entities = scope.get("entities") if "entities" in scope else [scope.get("entity")]
        if not isinstance(entities, list):
            return True
        return any(not isinstance(e, dict) or e.get("type") != "Action" or e.get("id") in names for e in entities)
    return True  # a scope form this code does not know: keep the policy, Cedar decides


def _relabel(message: str, labels: Mapping[str, str]) -> str:
    return re.sub(r"`(policy\d+)`", lambda m: f"`{labels.get(m.group(1), m.group(1))}`", message)


def _context(context: Mapping[str, Any]) -> dict[str, int | str | bool]:
    out: dict[str, int | str | bool] = {}
    for key, value in context.items():
        if not isinstance(key, str):
            raise ValueError(f"context keys must be strings, got {key!r}")
        kind = type(value)
        if kind is bool or kind is str:
            out[key] = value
        elif kind is int:
            if not _LONG_MIN <= value <= _LONG_MAX:
                raise ValueError(f"context[{key!r}] = {value} does not fit Cedar's 64-bit Long")
            out[key] = value
        elif isinstance(value, float):
            raise ValueError(
                f"context[{key!r}] is a float ({value!r}): Cedar has no floats, pass an integer (e.g. a 0-100 score)"
            )
        else:
            raise ValueError(f"context[{key!r}] must be an int, str or bool, got {kind.__name__}")
    return out


def _entities(principal: Principal, action: str, resource: Resource) -> cedarpy.Entities:
    action_entity: dict[str, Any] = {"uid": {"type": "Action", "id": action}, "attrs": {}, "parents": []}
    entities: list[dict[str, Any]] = [
        {
            "uid": {"type": PRINCIPAL_KINDS[principal.kind], "id": principal.id},
            "attrs": {"org": principal.org, "role": principal.role},
            "parents": [],
        },
        {
            "uid": {"type": "Resource", "id": f"{resource.kind}:{resource.id}"},
            "attrs": {
                "kind": resource.kind,
                "id": resource.id,
                "org": resource.org,
                "sensitivity": resource.sensitivity,
                "sensitivity_level": SENSITIVITY_LEVELS[resource.sensitivity],
            },
            "parents": [],
        },
        action_entity,
    ]
    group, sep, _ = action.partition(":")
    if sep and group:
        action_entity["parents"] = [{"type": "Action", "id": group}]
        entities.append({"uid": {"type": "Action", "id": group}, "attrs": {}, "parents": []})
    return cedarpy.Entities.from_json_str(json.dumps(entities))


# -- versions, approvals, the active set -------------------------------------------------------


@dataclass(frozen=True)
class PolicyRecord:
    """One policy version as stored: its files, status, and who proposed, approved or rejected it."""

    version: str
    status: str  # proposed | active | superseded | rejected
    files: Mapping[str, str]
    proposed_by: str
    proposed_at: float
    approved_by: str | None = None
    approved_at: float | None = None
    rejected_by: str | None = None
    rejected_at: float | None = None
    superseded_at: float | None = None
    superseded: str | None = None  # approve: the version this one replaced
    audit_seq: int | None = None  # the audit entry the command wrote

    @classmethod
    def of(cls, row: rows.VersionRow, **extra: Any) -> PolicyRecord:
        return cls(
            version=row.version,
            status=row.status,
            files=types.MappingProxyType(json.loads(row.files)),
            proposed_by=row.proposed_by,
            proposed_at=row.proposed_at,
            approved_by=row.approved_by,
            approved_at=row.approved_at,
            rejected_by=row.rejected_by,
            rejected_at=row.rejected_at,
            superseded_at=row.superseded_at,
            **extra,
        )

    def policy_set(self) -> PolicySet:
        return PolicySet(self.files)

    def as_dict(self, *, with_text: bool = False) -> dict[str, Any]:
        return {
            "version": self.version,
            "status": self.status,
            "files": dict(self.files) if with_text else sorted(self.files),
            "proposed_by": self.proposed_by,
            "proposed_at": self.proposed_at,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at,
            "rejected_by": self.rejected_by,
            "rejected_at": self.rejected_at,
            "superseded_at": self.superseded_at,
        }


class PolicyStore:
    """Propose, approve, reject and read policy versions on `store`'s database, each change audited.

    `audit`: the log changes are written to (default: `AuditLog.from_env(store)`, built on first use).
    The change commits first and its audit entry follows (as the kill switch does); if the entry
    cannot be written, the change stands and `PolicyError` says so.
    """

    def __init__(self, store: Store, *, audit: AuditLog | None = None, clock: Clock | None = None) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self._record_log = OperatorRecord(
            store, audit=audit, clock=self.clock, what="policy change", failed_event="policy.audit_failed"
        )

    def propose(
        self, policy_set: PolicySet, by: str | None = None, *, extra_context: Mapping[str, str] | None = None
    ) -> str:
        """Record `policy_set` as awaiting approval by a second person; returns its version.

        A set that does not validate against Keel's entity model (`PolicySet.validate`, with
        `extra_context`) is refused with `PolicySchemaError` listing every problem: nothing is
        stored, and the refusal is audited."""
        operator = _operator(by)
        version = policy_set.version
        problems = policy_set.validate(extra_context)
        if problems:
            with contextlib.suppress(PolicyError):  # logged by _record; the refusal is what to report
                self._record(
                    "policy.proposal_refused",
                    operator,
                    version,
                    decision="refused",
                    data={
                        "why": "does not fit Keel's entity model",
                        "problems": len(problems),
                        "errors": problems[:_AUDITED_PROBLEMS],
                    },
                )
            raise PolicySchemaError(
                f"policy set {version} does not validate against Keel's entity model "
                f"({len(problems)} problem(s)): " + "; ".join(problems),
                version=version,
                errors=problems,
            )
        proposal = self.store.policy_propose(version, policy_set.files_json(), operator=operator, now=self.clock.time())
        if proposal.changed:
            data: dict[str, Any] = {"files": sorted(policy_set.files), "policies": len(policy_set.policy_ids)}
            if extra_context:
                data["extra_context"] = dict(extra_context)
            self._record("policy.proposed", operator, version, decision="proposed", data=data)
        return version

    def approve(self, version: str, by: str | None = None) -> PolicyRecord:
        """Activate a proposed version; refused (UsageError) when `by` is who proposed it."""
        operator = _operator(by)
        try:
            activation = self.store.policy_approve(version, operator=operator, now=self.clock.time())
        except (UsageError, InvalidStateError) as exc:
            # A refused approval (the proposer's own, say) is part of the record too.
            with contextlib.suppress(PolicyError):  # logged by _record; the refusal is what to report
                self._record(
                    "policy.approval_refused", operator, version, decision="refused", data={"why": exc.message}
                )
            raise
        row = activation.row
        seq = self._record(
            "policy.approved",
            operator,
            version,
            decision="active",
            data={"proposed_by": row.proposed_by, "approved_by": operator, "superseded": activation.superseded},
        )
        log.warning(
            "policy version %s active: proposed by %s, approved by %s",
            version,
            row.proposed_by,
            operator,
            extra={"event_type": "policy.approved", "policy_version": version, "superseded": activation.superseded},
        )
        return PolicyRecord.of(row, superseded=activation.superseded, audit_seq=seq)

    def reject(self, version: str, by: str | None = None) -> PolicyRecord:
        """Reject a proposed version (its proposer may withdraw it)."""
        operator = _operator(by)
        row = self.store.policy_reject(version, operator=operator, now=self.clock.time())
        seq = self._record(
            "policy.rejected", operator, version, decision="rejected", data={"proposed_by": row.proposed_by}
        )
        return PolicyRecord.of(row, audit_seq=seq)

    def get(self, version: str) -> PolicyRecord | None:
        row = self.store.policy_version(version)
        return None if row is None else PolicyRecord.of(row)

    def active_record(self) -> PolicyRecord | None:
        version = self.store.policy_active_version()
        return None if version is None else self.get(version)

    def active(self) -> PolicySet | None:
        """The active policy set, or None when no version was ever approved (everything is denied)."""
        record = self.active_record()
        return None if record is None else record.policy_set()

    def history(self, limit: int = 100) -> list[PolicyRecord]:
        """Versions, the most recently proposed first."""
        return [PolicyRecord.of(row) for row in self.store.policy_history(limit)]

    def _record(self, event_type: str, operator: str, version: str, *, decision: str, data: dict[str, Any]) -> int:
        action = {
            "policy.proposed": "policy:propose",
            "policy.proposal_refused": "policy:propose",
            "policy.rejected": "policy:reject",
        }.get(event_type, "policy:approve")
        event = AuditEvent(
            event_type=event_type,
            actor=Actor("user", operator),
            action=action,
            resource=f"policy:{version}",
            decision=decision,
            policy_version=version,
            data=data,
        )
        seq, error = self._record_log.append(event, policy_event=event_type, policy_version=version)
        if seq is None:
            raise PolicyError(
                f"{event_type} for {version} was recorded, but its audit entry could not be written: {error}",
                version=version,
            )
        return seq


def _operator(by: str | None) -> str:
    name = current_user() if by is None else by
    if not isinstance(name, str) or not name.strip():
        raise UsageError("a policy change needs the name of who makes it (--by NAME)")
    name = name.strip()
    if len(name) > MAX_OPERATOR_CHARS:
        raise UsageError(f"the name is longer than {MAX_OPERATOR_CHARS} characters")
    return name


_engines: dict[str, PolicyEngine] = {}
_engines_lock = threading.Lock()


def engine_for(store: Store, version: str) -> PolicyEngine:
    """The engine of `version`, parsed once per process."""
    engine = _engines.get(version)
    if engine is not None:
        return engine
    row = store.policy_version(version)
    if row is None:
        raise PolicyError(f"policy version {version} is named active but is not stored", version=version)
    started = time.perf_counter()
    engine = PolicyEngine(PolicySet.from_json(row.files))
    if engine.version != version:
        raise PolicyError(f"stored policy files hash to {engine.version}, not {version}: altered", version=version)
    log.info(
        "policy version %s loaded in %.1f ms",
        version,
        (time.perf_counter() - started) * 1000,
        extra={"event_type": "policy.loaded", "policy_version": version},
    )
    with _engines_lock:
        if len(_engines) >= _ENGINE_CACHE_SIZE:
            _engines.pop(next(iter(_engines)))
        _engines[version] = engine
    return engine


def active_engine(store: Store) -> PolicyEngine | None:
    """The engine of the active version (None: none approved yet, so deny everything), cached by
    version; each call costs one primary-key read to learn whether another approver changed it."""
    version = store.policy_active_version()
    return None if version is None else engine_for(store, version)


async def aactive_engine(store: Store) -> PolicyEngine | None:
    """`active_engine` for async callers: the read happens off the event loop."""
    version = await store.apolicy_active_version()
    if version is None:
        return None
    engine = _engines.get(version)
    if engine is not None:
        return engine
    return await asyncio.to_thread(engine_for, store, version)


__all__ = [
    "PolicyDecision",
    "PolicyEngine",
    "PolicyError",
    "PolicyParseError",
    "PolicyRecord",
    "PolicyRequest",
    "PolicySchemaError",
    "PolicySet",
    "PolicyStore",
    "Principal",
    "Resource",
    "aactive_engine",
    "active_engine",
    "bundle_version",
    "engine_for",
    "keel_schema",
]
