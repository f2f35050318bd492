"""The governor: Cedar policy and a risk score before every tool call (keel.engine.ports.Governor).

For each call a workflow makes to a tool its allowlist names, the governor

1. scores the call's risk (keel.governance.risk) from the tool, the sensitivity of the resource it
   touches, whether it reaches the network, what the run has spent, and the run's score so far;
2. asks the active Cedar policy set (keel.governance.policy) whether the principal may take the
   action `tool:NAME` on the resource, with the hour and the risk score in the context;
3. answers "deny" when the policy denies, else "block" at or above `block_at` (only an emergency
   override that two people approve lets it run), else "review" at or above `review_at` (a person
   must approve), else "allow".

Who asks (the Cedar principal): the run's user when it was started with a `user_id`, else the
workflow, as an agent; both in the run's org (`default` when it has none). Roles come from
configuration only, never from the run's input (which a caller controls): `[governance.roles]`
maps a user id or workflow name to a role, else `default_user_role` ("user") or
`default_agent_role` ("agent").

What is acted on (the resource): `[governance.resources.TOOL]` gives its `kind` (default "tool"),
`sensitivity` (default `default_sensitivity`, itself "internal" by default) and `id_arg`, the
argument whose value identifies it (default: none, the id is the tool's name).

With no active policy set, `without_policy` decides: "deny" (the default: deny by default)
refuses every call until a policy set is approved; "allowlist" lets the workflow's tool
allowlist, already enforced before the governor is asked, stand as the policy and says so in the
decision's reasons.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from keel.config import GovernanceSettings
from keel.engine.ports import ActionDecision, ActionRequest
from keel.errors import ConfigError
from keel.governance.risk import SENSITIVITIES, RiskWeights, score_action
from keel.store import Store
from keel.store.review import same_person
from keel.types import Clock, SystemClock

if TYPE_CHECKING:
    from keel.governance.policy import PolicyDecision, PolicyRequest

# The journal step that holds each decision: the engine names it `policy:` + the action.
DECISION_STEP_PREFIX = "policy:"
NO_POLICY_REASON = "no active policy set: the workflow's tool allowlist is the policy"
NO_POLICY_DENY = "no active policy set: every tool call is denied until one is approved (without_policy = deny)"
DEFAULT_ORG = "default"
_GOVERNANCE_KEYS = {
    "enabled",
    "risk",
    "resources",
    "roles",
    "default_user_role",
    "default_agent_role",
    "default_sensitivity",
    "without_policy",
    "review_timeout_s",
    "reviewers",
    "override_approvers",
    "orgs",  # per org: [governance.orgs.ORG] reviewers / override_approvers
    "policy",  # the policy engine's own settings, if it has any: not this module's to check
}
_REVIEWER_KEYS = {"reviewers", "override_approvers"}


class PolicyDecider(Protocol):
    """What the governor needs of a Cedar engine (keel.governance.policy.PolicyEngine)."""

    def decide(self, request: PolicyRequest) -> PolicyDecision: ...


@dataclass(frozen=True)
class ResourceRule:
    """What a tool acts on, for Cedar and the risk score: `[governance.resources.TOOL]`."""

    kind: str = "tool"
    sensitivity: str | None = None  # None: the governor's default_sensitivity
    id_arg: str | None = None  # the argument naming the resource; None: the tool's name


@dataclass(frozen=True)
class Deciders:
    """Who may decide one kind of review in one org: `names`, or anyone when None (not configured)."""

    names: tuple[str, ...] | None
    key: str  # the setting that names them, for messages ("governance.reviewers (in keel.toml)")

    def allows(self, name: str) -> bool:
        """Whether `name` is one of them (`Alice` and `alice ` are one person, as in the two-person rule)."""
        return self.names is None or any(same_person(listed, name) for listed in self.names)


@dataclass(frozen=True)
class ReviewerLists:
    """`reviewers` and `override_approvers` as one table wrote them (None: that table does not say)."""

    reviewers: tuple[str, ...] | None = None
    override_approvers: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ReviewerRoles:
    """Who may decide reviews: `[governance]` reviewers and override_approvers, `[governance.orgs.ORG]` per org.

    An org's table replaces the global lists for reviews of its runs; its override approvers are,
    unless named, its own reviewers when it names some, else the global override approvers. The
    global override approvers are, unless named, the global reviewers.
    """

    default: ReviewerLists = ReviewerLists()
    orgs: Mapping[str, ReviewerLists] = field(default_factory=dict)
    source: str | None = None  # the file the lists came from, for messages

    def deciders(self, org: str | None, *, override: bool) -> Deciders:
        """Who may approve or reject a review (`override`: an emergency override) of a run in `org`."""
        org = org or DEFAULT_ORG
        where = f" (in {self.source})" if self.source else ""
        base = self.default
        reviewers = Deciders(base.reviewers, f"governance.reviewers{where}")
        approvers = reviewers
        if base.override_approvers is not None:
            approvers = Deciders(base.override_approvers, f"governance.override_approvers{where}")
        own = self.orgs.get(org)
        if own is not None and own.reviewers is not None:
            reviewers = approvers = Deciders(own.reviewers, f"governance.orgs.{org}.reviewers{where}")
        if own is not None and own.override_approvers is not None:
            approvers = Deciders(own.override_approvers, f"governance.orgs.{org}.override_approvers{where}")
        return approvers if override else reviewers


class KeelGovernor:
    """Implements keel.engine.ports.Governor: policy, then risk thresholds, for every governed tool call."""

    def __init__(
        self,
        store: Store,
        *,
        policy: PolicyDecider | Literal["active"] | None = "active",
        weights: RiskWeights | None = None,
        resources: Mapping[str, ResourceRule] | None = None,
        roles: Mapping[str, str] | None = None,
        default_user_role: str = "user",
        default_agent_role: str = "agent",
        default_sensitivity: str = "internal",
        without_policy: str = "deny",
        egress: Callable[[str], Sequence[str]] | None = None,
        clock: Clock | None = None,
        review_timeout_s: float | None = None,
    ) -> None:
        """`policy`: "active" (the approved policy set in `store`, re-read at each call, cached by
        version), a fixed engine, or None (no policy set: see `without_policy`). `egress(tool)`: the
        hosts a tool may reach (its `network=`); a non-empty list counts as an external call.
        `review_timeout_s`: how long a run waits for a review before the call is refused (None: no limit)."""
        if without_policy not in ("allowlist", "deny"):
            raise ConfigError("governance.without_policy must be allowlist or deny", key="governance.without_policy")
        if default_sensitivity not in SENSITIVITIES:
            raise ConfigError(
                f"governance.default_sensitivity must be one of {', '.join(SENSITIVITIES)}",
                key="governance.default_sensitivity",
            )
        self.store = store
        self.policy = policy
        self.weights = weights or RiskWeights()
        self.resources = dict(resources or {})
        self.roles = dict(roles or {})
        self.default_user_role = default_user_role
        self.default_agent_role = default_agent_role
        self.default_sensitivity = default_sensitivity
        self.without_policy = without_policy
        self.egress = egress or (lambda name: ())
        self.clock = clock or SystemClock()
        self.review_timeout_s = review_timeout_s

    @classmethod
    def from_settings(
        cls,
        store: Store,
        settings: GovernanceSettings,
        *,
        egress: Callable[[str], Sequence[str]] | None = None,
        clock: Clock | None = None,
    ) -> KeelGovernor:
        """A governor configured by the `[governance]` table; ConfigError names each bad key."""
        table: Mapping[str, Any] = settings.table or {}
        where = f" (in {settings.source})" if settings.source else ""
        unknown = sorted(set(table) - _GOVERNANCE_KEYS)
        if unknown:
            raise ConfigError(f"governance.{unknown[0]}: unknown key{where}", key=f"governance.{unknown[0]}")
        resources: dict[str, ResourceRule] = {}
        for tool, rule in _table(table, "resources", where).items():
            if not isinstance(rule, Mapping) or not set(rule) <= {"kind", "sensitivity", "id_arg"}:
                raise ConfigError(
                    f"governance.resources.{tool}: a table of kind, sensitivity and id_arg{where}",
                    key=f"governance.resources.{tool}",
                )
            sensitivity = rule.get("sensitivity")
            if sensitivity is not None and sensitivity not in SENSITIVITIES:
                raise ConfigError(
                    f"governance.resources.{tool}.sensitivity: one of {', '.join(SENSITIVITIES)}{where}",
                    key=f"governance.resources.{tool}.sensitivity",
                )
            for key in ("kind", "id_arg"):
                if key in rule and (not isinstance(rule[key], str) or not rule[key]):
                    raise ConfigError(
                        f"governance.resources.{tool}.{key}: must be a non-empty string{where}",
                        key=f"governance.resources.{tool}.{key}",
                    )
            resources[tool] = ResourceRule(
                kind=str(rule.get("kind", "tool")), sensitivity=sensitivity, id_arg=rule.get("id_arg")
            )
        roles = _table(table, "roles", where)
        if not all(isinstance(role, str) and role for role in roles.values()):
            raise ConfigError(f"governance.roles: each role is a non-empty string{where}", key="governance.roles")
        timeout = table.get("review_timeout_s")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
            raise ConfigError(
                f"governance.review_timeout_s: a number of seconds above 0{where}", key="governance.review_timeout_s"
            )
        reviewer_roles(settings)  # not the governor's to use, but a bad list must fail at start-up too
        return cls(
            store,
            weights=RiskWeights.from_settings(settings),
            resources=resources,
            roles={str(k): str(v) for k, v in roles.items()},
            default_user_role=_string(table, "default_user_role", "user", where),
            default_agent_role=_string(table, "default_agent_role", "agent", where),
            default_sensitivity=_string(table, "default_sensitivity", "internal", where),
            without_policy=_string(table, "without_policy", "deny", where),
            egress=egress,
            clock=clock,
            review_timeout_s=float(timeout) if timeout is not None else None,
        )

    async def decide(self, request: ActionRequest) -> ActionDecision:
        """Score the action, ask the policy, and say allow, deny, review or block (never raises a denial)."""
        from keel.governance.policy import PolicyRequest, Principal, Resource

        scope = request.scope
        tool = request.action.removeprefix("tool:")
        org = scope.org_id or DEFAULT_ORG
        rule = self.resources.get(tool, ResourceRule())
        sensitivity = rule.sensitivity or self.default_sensitivity
        resource_id = tool
        if rule.id_arg is not None and request.args.get(rule.id_arg) not in (None, ""):
            resource_id = str(request.args[rule.id_arg])
        external = bool(self.egress(tool))
        spent, run_before = 0.0, 0
        if scope.run_id is not None:
            spent, run_before = await self.store.arisk_history(scope.run_id, DECISION_STEP_PREFIX)
        score, factors = score_action(
            self.weights, tool=tool, sensitivity=sensitivity, external=external, cost_usd=spent, run_score=run_before
        )
        if scope.user_id:
            principal = Principal("user", scope.user_id, org, self.roles.get(scope.user_id, self.default_user_role))
        else:
            agent = scope.workflow or "unknown"
            principal = Principal("agent", agent, org, self.roles.get(agent, self.default_agent_role))
        resource = Resource(rule.kind, resource_id, org, sensitivity)
        data: dict[str, Any] = {
            "factors": factors,
            "run_score": max(run_before, score),
            "principal": {"kind": principal.kind, "id": principal.id, "org": org, "role": principal.role},
            "resource": {"kind": resource.kind, "id": resource.id, "sensitivity": sensitivity},
        }
        engine = await self._engine()
        if engine is None:
            if self.without_policy == "deny":
                return ActionDecision("deny", score, None, (NO_POLICY_DENY,), data)
            reasons: tuple[str, ...] = (NO_POLICY_REASON,)
            version: str | None = None
        else:
            hour = datetime.fromtimestamp(self.clock.time(), UTC).hour
            context: dict[str, int | str | bool] = {
                "hour": hour,
                "risk_score": score,
                "run_risk_score": run_before,
                "external": external,
                "workflow": scope.workflow or "",
            }
            verdict = engine.decide(PolicyRequest(principal, request.action, resource, context))
            version = verdict.policy_version
            policy_reasons = tuple(f"policy {r}" for r in verdict.reasons) + tuple(
                f"policy error: {e}" for e in verdict.errors
            )
            if not verdict.allowed:
                why = policy_reasons or ("no policy permits it (deny by default)",)
                return ActionDecision("deny", score, version, why, data)
            reasons = policy_reasons
        decision = self.weights.classify(score)
        if decision == "block":
            reasons += (
                f"risk {score} >= block_at {self.weights.block_at}: blocked unless two people approve an override",
            )
        elif decision == "review":
            reasons += (f"risk {score} >= review_at {self.weights.review_at}: a person must approve it",)
        return ActionDecision(decision, score, version, reasons, data)

    async def _engine(self) -> PolicyDecider | None:
        if self.policy == "active":
            from keel.governance.policy import aactive_engine

            return await aactive_engine(self.store)
        return self.policy


def reviewer_roles(settings: GovernanceSettings) -> ReviewerRoles:
    """Who may decide reviews, from the `[governance]` table; ConfigError names each bad key."""
    table: Mapping[str, Any] = settings.table or {}
    where = f" (in {settings.source})" if settings.source else ""
    orgs: dict[str, ReviewerLists] = {}
    for org, rule in _table(table, "orgs", where).items():
        prefix = f"governance.orgs.{org}"
        if not isinstance(rule, Mapping):
            raise ConfigError(f"{prefix}: a table of reviewers and override_approvers{where}", key=prefix)
        unknown = sorted(set(rule) - _REVIEWER_KEYS)
        if unknown:
            raise ConfigError(f"{prefix}.{unknown[0]}: unknown key{where}", key=f"{prefix}.{unknown[0]}")
        orgs[str(org)] = _reviewer_lists(rule, prefix, where)
    return ReviewerRoles(_reviewer_lists(table, "governance", where), orgs, settings.source)


def _reviewer_lists(table: Mapping[str, Any], prefix: str, where: str) -> ReviewerLists:
    approvers = _names(table, "override_approvers", prefix, where)
    if approvers is not None and len({name.casefold() for name in approvers}) < 2:
        raise ConfigError(
            f"{prefix}.override_approvers: at least two different names (an override needs two approvers){where}",
            key=f"{prefix}.override_approvers",
        )
    return ReviewerLists(_names(table, "reviewers", prefix, where), approvers)


def _names(table: Mapping[str, Any], key: str, prefix: str, where: str) -> tuple[str, ...] | None:
    value = table.get(key)
    if value is None:
        return None
    # An empty list would refuse everyone: more likely a mistake than a wish, and a stuck review is
    # only noticed when someone needs it decided.
    if not isinstance(value, list) or not value or not all(isinstance(n, str) and n.strip() for n in value):
        raise ConfigError(f"{prefix}.{key}: a non-empty list of names{where}", key=f"{prefix}.{key}")
    return tuple(name.strip() for name in value)


def _table(table: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = table.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"governance.{key}: must be a table{where}", key=f"governance.{key}")
    return value


def _string(table: Mapping[str, Any], key: str, default: str, where: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"governance.{key}: must be a non-empty string{where}", key=f"governance.{key}")
    return value


__all__ = [
    "DECISION_STEP_PREFIX",
    "Deciders",
    "KeelGovernor",
    "PolicyDecider",
    "ResourceRule",
    "ReviewerLists",
    "ReviewerRoles",
    "reviewer_roles",
]
