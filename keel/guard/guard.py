"""The guard: what every model call passes through on the way in and on the way out.

In: each message is checked for its role (instructions first, see `messages.check_roles`); user and
tool text is scanned for prompt injection; every text is scanned for PII, which the workflow's policy
redacts to placeholders (the values go to the encrypted vault), blocks, flags or lets through with a
record; tool output is spotlighted. Out: the answer is scanned for injection (a model repeating or
obeying planted instructions) and for PII, which is redacted before the workflow or the next step
sees it. What was found is reported (types, counts, scores, reasons; never values) on the call's
journal entry, as metrics and as `guard.*` log events.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from keel.engine.ports import CallScope, GuardPolicy, LlmRequest, LlmResult
from keel.errors import GuardBlocked, UsageError
from keel.guard.leak import Instructions
from keel.guard.messages import SPOTLIGHT_RULE, check_roles, spotlight
from keel.observe.metrics import injection_scanned, pii_detected, pii_scanned
from keel.observe.redact import set_redactor

if TYPE_CHECKING:
    from keel.guard.injection import InjectionDetector, InjectionVerdict
    from keel.guard.pii import PiiDetector, PiiEntity
    from keel.guard.vault import Vault
    from keel.store import Store

log = logging.getLogger("keel.guard")

# What is personal data and so replaced before a model sees it. LOCATION, DATE_TIME and the like
# are found too but left alone: a city or a date on its own identifies nobody, and hiding them
# would take away what most tasks are about.
REDACTED_TYPES = frozenset(
    {"PERSON", "EMAIL", "PHONE", "CREDIT_CARD", "SSN", "IBAN", "ADDRESS", "IP_ADDRESS", "DATE_OF_BIRTH", "SECRET"}
)
# Placeholders already in a text (from an earlier, redacted answer) are not PII to find again.
PLACEHOLDER = re.compile(r"\{\{PII_[A-Z_]+_\d+\}\}")
# A name or an address never holds these: a model-found span that does is an identifier or JSON
# (`order_id`, `{"city": ...}`), and redacting it would break the tool schema or answer it sits in.
_NOT_IN_NAMES = re.compile(r'[_{}"\[\]<>=|\\]')
# Roles whose text may carry instructions from someone other than the workflow's author.
_SCANNED_ROLES = {"user": "user", "tool": "tool"}


@dataclass
class _Screen:
    """One call's findings; `values` (raw value → placeholder) stays in memory, never journaled."""

    pii: Counter[str] = field(default_factory=Counter)
    injection: list[dict[str, Any]] = field(default_factory=list)
    flagged: bool = False
    redacted: int = 0
    values: dict[str, str] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        return {
            "pii": dict(sorted(self.pii.items())),
            "injection": self.injection,
            "flagged": self.flagged,
            "redacted": self.redacted,
        }


class Guard:
    """Screens model calls for one App: PII to the vault, injections refused, answers scanned."""

    def __init__(
        self,
        store: Store,
        *,
        pii: PiiDetector | None = None,
        injection: InjectionDetector | None = None,
        vault: Vault | None = None,
        ner: bool = True,
    ) -> None:
        self.store = store
        self._pii = pii
        self._injection = injection
        self._vault = vault
        self._ner = ner

    # Built on first use: the NER model and the classifier load in the first call that needs them,
    # not when an App that may never call a model is created.
    @property
    def pii(self) -> PiiDetector:
        if self._pii is None:
            from keel.guard.pii import PiiDetector, default_detector

            self._pii = default_detector() if self._ner else PiiDetector(ner=False)
        return self._pii

    @property
    def injection(self) -> InjectionDetector:
        if self._injection is None:
            from keel.guard.injection import default_detector

            self._injection = default_detector()
        return self._injection

    @property
    def vault(self) -> Vault:
        if self._vault is None:
            from keel.guard.vault import Vault

            self._vault = Vault.from_env(self.store)
        return self._vault

    def warm_up(self) -> None:
        """Load both detectors' models now (blocking; a worker runs it in a thread at start)."""
        self.injection.warm_up()
        # The NER pipeline loads on the first text that may hold a name.
        self.pii.detect("Warm-up: Jane Doe lives at 12 Main Street, Springfield.")

    # -- the way in ----------------------------------------------------------------------------

    async def inbound(
        self, request: LlmRequest, *, scope: CallScope, policy: GuardPolicy
    ) -> tuple[LlmRequest, dict[str, Any]]:
        """The request as the model may see it, and what was found (GuardBlocked when a policy refuses)."""
        check_roles(request.messages)
        texts = [m["content"] for m in request.messages]
        sources = [_SCANNED_ROLES.get(m["role"]) for m in request.messages]
        # The arguments of an assistant's earlier tool calls are screened for PII like its text.
        arguments = [(i, j) for i, m in enumerate(request.messages) for j in range(len(m.get("tool_calls") or ()))]
        texts += [_json(request.messages[i]["tool_calls"][j]["arguments"]) for i, j in arguments]
        sources += [None] * len(arguments)
        verdicts, found = await asyncio.to_thread(self._scan, texts, sources)
        screen = _Screen()
        for source, verdict in zip(sources, verdicts, strict=True):
            if source is not None and verdict is not None:
                self._judge_injection(screen, verdict, source, policy)
        new_texts = await self._handle_pii(screen, texts, found, scope, policy, where="input")
        count = len(request.messages)
        new_arguments = {at: _arguments(text) for at, text in zip(arguments, new_texts[count:], strict=True)}
        messages: list[dict[str, Any]] = []
        has_tool = False
        for i, (message, text) in enumerate(zip(request.messages, new_texts[:count], strict=True)):
            if message["role"] == "tool":
                has_tool = True
                text = spotlight(message.get("name", "tool"), text)
            # Extra keys (a tool turn's name and tool_call_id, an assistant's tool_calls) carry the
            # native tool-calling exchange: kept, only the text is screened.
            screened_message = {**message, "content": text}
            if message.get("tool_calls"):
                screened_message["tool_calls"] = [
                    {**call, "arguments": new_arguments[(i, j)]} for j, call in enumerate(message["tool_calls"])
                ]
            messages.append(screened_message)
        if has_tool and not any(m["content"] == SPOTLIGHT_RULE for m in messages):
            # The rule goes after the workflow's own instructions, before any data.
            at = next((i for i, m in enumerate(messages) if m["role"] not in ("system", "developer")), len(messages))
            messages.insert(at, {"role": "developer", "content": SPOTLIGHT_RULE})
        screened = dataclasses.replace(request, messages=messages, pii=request.pii or bool(screen.pii))
        # The allowlist the answer's native tool calls are checked against: only what was offered.
        offered = frozenset(t["name"] for t in request.tools or ())
        # What the answer must not give away: the workflow's own instructions as the model saw them.
        own = [
            (message["content"], text)
            for message, text in zip(request.messages, new_texts[:count], strict=True)
            if message["role"] in ("system", "developer") and text != SPOTLIGHT_RULE
        ]
        instructions = None
        if own:
            seen = [text for _, text in own]
            originals = [original for original, text in own if original != text]
            instructions = await asyncio.to_thread(lambda: Instructions.of(seen, originals=originals))
        return screened, {"_screen": screen, "_offered": offered, "_instructions": instructions}

    # -- the way out ---------------------------------------------------------------------------

    async def outbound(
        self, result: LlmResult, *, scope: CallScope, policy: GuardPolicy, report: dict[str, Any]
    ) -> LlmResult:
        """The answer as the workflow may see it, with the call's findings attached."""
        screen: _Screen = report.get("_screen") or _Screen()
        if result.budget_exceeded is not None:
            return dataclasses.replace(result, guard=screen.report())
        text = result.text
        # A value redacted on the way in and repeated in the answer is a leak even if the detector
        # would not find it on its own (a name without context, say).
        for value, placeholder in sorted(screen.values.items(), key=lambda item: -len(item[0])):
            text = text.replace(value, placeholder)
        # A native tool call's arguments are the model's answer as much as its text is (in the JSON
        # protocol they are its text): scanned and redacted the same way.
        calls = result.tool_calls or []
        arguments = [_json(call["arguments"]) for call in calls]
        for value, placeholder in sorted(screen.values.items(), key=lambda item: -len(item[0])):
            arguments = [a.replace(value, placeholder) for a in arguments]
        texts = [text, *arguments]
        verdicts, found = await asyncio.to_thread(self._scan, texts, ["model"] * len(texts))
        for verdict in verdicts:
            if verdict is not None:
                self._judge_injection(screen, verdict, "model", policy)
        instructions: Instructions | None = report.get("_instructions")
        if instructions is not None:
            for reason in await asyncio.to_thread(lambda: [instructions.given_away(t) for t in texts]):
                if reason:
                    self._check_leak(screen, reason, policy)
        self._check_offered(screen, calls, report.get("_offered", frozenset()), policy)
        redacted, *new_arguments = await self._handle_pii(screen, texts, found, scope, policy, where="output")
        data = result.data
        if redacted != result.text and data is not None:
            # Typed again from the redacted text by ctx.llm (a schema's fields may hold the PII).
            try:
                data = json.loads(redacted)
            except ValueError:
                data = None
        tool_calls = result.tool_calls
        if calls:
            tool_calls = [{**call, "arguments": _arguments(a)} for call, a in zip(calls, new_arguments, strict=True)]
        return dataclasses.replace(result, text=redacted, data=data, tool_calls=tool_calls, guard=screen.report())

    async def reveal(self, run_id: str, text: str) -> str:
        """`text` with the run's placeholders replaced by their values (the caller checked permission)."""
        return await self.vault.reveal(run_id=run_id, text=text)

    # -- shared --------------------------------------------------------------------------------

    def _scan(
        self, texts: Sequence[str], sources: Sequence[str | None]
    ) -> tuple[list[InjectionVerdict | None], list[list[PiiEntity]]]:
        """Both detectors over the texts, in a worker thread (they are CPU-bound)."""
        verdicts: list[InjectionVerdict | None] = []
        found: list[list[PiiEntity]] = []
        for text, source in zip(texts, sources, strict=True):
            if source is None or not text.strip():
                verdicts.append(None)
            else:
                verdict = self.injection.scan(text, source=source)
                injection_scanned(source, verdict.decision)
                verdicts.append(verdict)
            entities = [e for e in self.pii.detect(text) if _plausible(e.type, text[e.start : e.end])]
            found.append(entities)
        pii_scanned(len(texts))
        return verdicts, found

    def _check_leak(self, screen: _Screen, reason: str, policy: GuardPolicy) -> None:
        """An answer that gives the call's instructions away: what a prompt-leaking request was after."""
        from keel.guard.injection import InjectionVerdict

        injection_scanned("model", "block")
        verdict = InjectionVerdict(1.0, "block", (reason,))
        self._judge_injection(screen, verdict, "model", dataclasses.replace(policy, injection=policy.prompt_leak))

    def _check_offered(
        self, screen: _Screen, calls: Sequence[dict[str, Any]], offered: frozenset[str], policy: GuardPolicy
    ) -> None:
        """Record native tool calls to tools the request never offered: what a planted order asks for.

        Flagged, not blocked: the agent loop refuses such a call itself (deny by default) and tells the
        model, which may then carry on with the task; the finding makes the attempt visible.
        """
        from keel.guard.injection import InjectionVerdict

        for name in sorted({str(call.get("name")) for call in calls} - offered):
            injection_scanned("model", "flag")
            verdict = InjectionVerdict(1.0, "flag", (f"tool_not_offered:{name[:64]}",))
            self._judge_injection(screen, verdict, "model", policy)

    def _judge_injection(self, screen: _Screen, verdict: InjectionVerdict, source: str, policy: GuardPolicy) -> None:
        if verdict.decision == "allow":
            return
        finding = {
            "source": source,
            "score": verdict.score,
            "decision": verdict.decision,
            "reasons": list(verdict.reasons),
        }
        screen.injection.append(finding)
        blocked = verdict.decision == "block" and policy.injection == "block"
        log.warning(
            "possible prompt injection in %s text (score %.2f): %s",
            source,
            verdict.score,
            "blocked" if blocked else "flagged" if policy.injection != "allow" else "allowed by policy",
            extra={"event_type": "guard.injection", **finding, "policy": policy.injection},
        )
        if blocked:
            raise GuardBlocked(
                f"the guard refused this model call: the {source} text looks like a prompt injection "
                f"(score {verdict.score:.2f}; {', '.join(verdict.reasons[:3])})",
                kind="injection",
                **finding,
            )
        if policy.injection != "allow":
            screen.flagged = True

    async def _handle_pii(
        self,
        screen: _Screen,
        texts: list[str],
        found: list[list[PiiEntity]],
        scope: CallScope,
        policy: GuardPolicy,
        *,
        where: str,
    ) -> list[str]:
        personal = [[e for e in entities if e.type in REDACTED_TYPES] for entities in found]
        counts = Counter(e.type for entities in personal for e in entities)
        if not counts:
            return texts
        for pii_type, n in counts.items():
            pii_detected(pii_type, n)
            screen.pii[pii_type] += n
        log.info(
            "PII in a model call's %s: %s",
            where,
            ", ".join(f"{n} {t}" for t, n in sorted(counts.items())),
            extra={"event_type": "guard.pii", "where": where, "types": dict(counts), "policy": policy.pii},
        )
        if policy.pii == "block":
            raise GuardBlocked(
                f"the guard refused this model call: its {where} holds PII ({', '.join(sorted(counts))}) "
                "and the workflow's policy blocks it",
                kind="pii",
                source=where,
                types=sorted(counts),
            )
        if policy.pii != "redact":
            screen.flagged = screen.flagged or policy.pii == "flag"
            return texts
        if scope.run_id is None:
            raise UsageError("PII redaction needs a run: the vault keeps placeholders per run")
        subject = scope.user_id or f"run:{scope.run_id}"
        items = [
            (e.type, text[e.start : e.end]) for text, entities in zip(texts, personal, strict=True) for e in entities
        ]
        placeholders = iter(await self.vault.placeholders(run_id=scope.run_id, subject=subject, items=items))
        out: list[str] = []
        for text, entities in zip(texts, personal, strict=True):
            pieces: list[str] = []
            at = 0
            for entity in entities:  # sorted by start, not overlapping (the detector's contract)
                placeholder = next(placeholders)
                screen.values[text[entity.start : entity.end]] = placeholder
                pieces.append(text[at : entity.start])
                pieces.append(placeholder)
                at = entity.end
            pieces.append(text[at:])
            out.append("".join(pieces))
        screen.redacted += len(items)
        return out


def install_log_redactor() -> None:
    """Make logs, span text and journal errors pass through the PII patterns (no NER: they are hot paths)."""
    from keel.guard.pii import PiiDetector

    detector = PiiDetector(ner=False)

    def mask(text: str) -> str:
        pieces: list[str] = []
        at = 0
        for entity in detector.detect(text):
            if entity.type in REDACTED_TYPES:
                pieces += [text[at : entity.start], f"<{entity.type}>"]
                at = entity.end
        return "".join([*pieces, text[at:]]) if pieces else text

    set_redactor(mask)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _arguments(text: str) -> dict[str, Any]:
    """Tool-call arguments back from their screened JSON text."""
    try:
        value = json.loads(text)
    except ValueError:
        # A placeholder never breaks JSON (it has no quote or backslash), so this is a safety net.
        return {}
    return value if isinstance(value, dict) else {}


def _plausible(pii_type: str, value: str) -> bool:
    """Whether a detection can be what its type says (placeholders already in the text are not PII)."""
    if PLACEHOLDER.fullmatch(value):
        return False
    return not (pii_type in ("PERSON", "ADDRESS") and _NOT_IN_NAMES.search(value))
