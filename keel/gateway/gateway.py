"""The model gateway: a task's route to a model, fallbacks, circuit breakers, pricing, and what is recorded.

One `Gateway` per App serves every `ctx.llm` call. For a task it tries the route's primary model
and then its fallbacks in order. It falls back on what the provider got wrong (5xx, timeouts,
connection errors, 429, malformed answers, an open circuit), never on what we got wrong (any
other 4xx). Every model tried is one `llm.call` span and one entry of `LlmResult.decisions`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from keel.engine.ports import CallScope, LlmRequest, LlmResult
from keel.errors import (
    AllModelsFailed,
    BudgetExceeded,
    CacheError,
    ConfigError,
    ProviderError,
    ProviderRequestError,
    RateLimited,
    SchemaValidationError,
    UsageError,
)
from keel.gateway.budgets import BudgetEvaluator, Hold
from keel.gateway.cache import AnswerCache, build_cache
from keel.gateway.config import GatewayConfig
from keel.gateway.prompts import PromptLibrary
from keel.gateway.providers import (
    ToolChatRequest,
    ToolChatResponse,
    ToolMessage,
    build_provider,
    estimate_tokens,
)
from keel.gateway.types import ChatRequest, ChatResponse, EmbedRequest, Message, Provider
from keel.observe import llm_call
from keel.observe.redact import scrub
from keel.store import Store
from keel.types import Clock, SystemClock

log = logging.getLogger("keel.gateway")

# A provider/model whose calls failed this many times in a row is skipped for RESET_S seconds,
# then tried once (half-open). Kept in the database, so every worker sees the same breaker.
BREAKER_THRESHOLD = 5
BREAKER_RESET_S = 30.0
# How long a breaker seen closed with no failures is trusted before it is read again: the
# longest a worker goes on calling a model whose circuit another worker just opened.
CLEAN_RECHECK_S = 1.0
# A 429 whose Retry-After is at most this long is waited out when no other model is left.
MAX_RETRY_AFTER_WAIT_S = 30.0
# Corrections asked for when an answer does not match its schema, before giving up.
MAX_CORRECTIONS = 2


def request_hash(task: str, request: LlmRequest) -> str:
    """A stable hash of what was asked (the cache key, and what the journal records)."""
    asked: dict[str, Any] = {
        "task": task,
        "messages": request.messages,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "json_schema": request.json_schema,
    }
    if request.tools is not None:
        # Only when offered: a request without tools keeps the hash (and cache key) it always had.
        asked["tools"] = request.tools
    canonical = json.dumps(asked, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Gateway:
    """Serves `ctx.llm` from the providers, models and routes of a `GatewayConfig`."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        store: Store | None = None,
        clock: Clock | None = None,
        providers: dict[str, Provider] | None = None,
        prompts: PromptLibrary | None = None,
    ) -> None:
        self.config = config
        self.prompts = prompts
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self._providers: dict[str, Provider] = dict(providers or {})
        # provider/model -> when its Retry-After ends (this process's view; a 429 is short-lived).
        self._cooldown: dict[str, float] = {}
        self._clean: dict[str, float] = {}  # provider/model -> when its breaker was last read clean
        self.cache: AnswerCache | None = build_cache(config.cache, store)
        self.budgets: BudgetEvaluator | None = None
        if config.budgets.enforced:
            if store is None:
                raise ConfigError(
                    "keel.toml sets [budgets], which are kept in Keel's database: give the gateway a store"
                )
            self.budgets = BudgetEvaluator(config.budgets, store, self.clock)

    def retry_exempt(self) -> tuple[type[BaseException], ...]:
        return (ProviderRequestError, SchemaValidationError, BudgetExceeded, UsageError, ConfigError)

    def supports_tools(self, task: str) -> bool:
        """Whether the route's primary model's provider speaks a native tool-calling format."""
        route = self.config.routes.get(task)
        if route is None:
            return False
        return bool(getattr(self.provider(self.config.models[route.primary].provider), "native_tools", False))

    def provider(self, name: str) -> Provider:
        found = self._providers.get(name)
        if found is None:
            cfg = self.config.providers[name]
            found = build_provider(
                name,
                cfg.kind,
                base_url=cfg.base_url,
                api_key=cfg.api_key(),
                timeout_s=cfg.timeout_s,
                fixtures=cfg.fixtures,
                remote=cfg.is_remote,
            )
            self._providers[name] = found
        return found

    def close(self) -> None:
        """Finish what outlives a call (budget alerts on their way to the webhook)."""
        if self.budgets is not None:
            self.budgets.close()

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        if self.cache is not None:
            await self.cache.aclose()

    async def complete(
        self,
        task: str,
        request: LlmRequest,
        *,
        scope: CallScope | None = None,
        validate: Callable[[str], Any] | None = None,
    ) -> LlmResult:
        """Serve one call of `task`: the cache, then the route's models in order, within budgets."""
        scope = scope or CallScope()
        org_id = scope.org_id
        route = self.config.routes.get(task)
        if route is None:
            known = ", ".join(sorted(self.config.routes)) or "none"
            raise UsageError(f"no route {task!r} in keel.toml [routes] (configured: {known})")
        started = time.perf_counter()
        if request.template is not None:
            request = self.render(request)
        prompt_record = request.rendered
        cache_key = None
        semantic: _Semantic | None = None
        if route.cache_ttl_s is not None and self.cache is not None and not _holds_pii(request):
            cache_key = (org_id or "", request_hash(task, request))
            hit = await self._cached(task, request, cache_key, started, validate, prompt_record)
            if hit is not None:
                return hit
            if route.semantic_threshold is not None and route.embedding_model is not None:
                semantic = await self._embed(task, scope, route.embedding_model, request)
                if semantic is not None:
                    similar = await self._similar(cache_key, semantic, route.semantic_threshold)
                    if similar is not None:
                        hit = self._hit(similar, task, cache_key[1], started, validate, prompt_record, semantic)
                        if hit is not None:
                            return hit
        decisions: list[dict[str, Any]] = []
        candidates = []
        for model in (route.primary, *route.fallbacks):
            if route.max_cost_usd is not None and (worst := self.max_cost_usd(model, request)) > route.max_cost_usd:
                # Priced before sending: a model that could cost more than the route allows is not asked.
                decisions.append(
                    _decision(
                        model,
                        self.config.models[model].provider,
                        "skipped",
                        f"could cost ${worst:.4f}, over the route's max_cost_usd ${route.max_cost_usd:g}",
                        0.0,
                    )
                )
                continue
            candidates.append(model)
        if not candidates:
            raise UsageError(
                f"every model of route {task!r} could cost more than its max_cost_usd "
                f"(${route.max_cost_usd:g}): lower max_tokens or raise the limit"
            )
        # A latency budget caps every attempt's timeout.
        timeout_s = route.timeout_s
        if route.max_latency_ms is not None:
            cap = route.max_latency_ms / 1000
            timeout_s = min(timeout_s, cap) if timeout_s is not None else cap
        limited: list[tuple[float, str]] = []
        last_error: ProviderError | None = None
        refused: BudgetExceeded | None = None
        for model in candidates:
            outcome = await self._try(model, task, scope, request, timeout_s, decisions, validate)
            if isinstance(outcome, BudgetExceeded):
                refused = refused or outcome
                continue
            if isinstance(outcome, LlmResult):
                if cache_key is not None and route.cache_ttl_s is not None:
                    await self._remember(task, cache_key, outcome, route.cache_ttl_s, semantic)
                if semantic is not None:
                    outcome = dataclasses.replace(
                        outcome,
                        input_tokens=outcome.input_tokens + semantic.tokens,
                        cost_usd=outcome.cost_usd + semantic.cost_usd,
                    )
                return self._result(
                    outcome, task, request, decisions, started, prompt_record, cache_key[1] if cache_key else None
                )
            last_error = outcome
            if isinstance(outcome, RateLimited) and outcome.retry_after_s is not None:
                limited.append((outcome.retry_after_s, model))
        # Every model failed. A short Retry-After is worth waiting for once, rather than failing.
        waits = sorted(w for w in limited if w[0] <= MAX_RETRY_AFTER_WAIT_S)
        if waits:
            delay, model = waits[0]
            await self.clock.sleep(delay)
            outcome = await self._try(
                model, task, scope, request, timeout_s, decisions, validate, honour_cooldown=False
            )
            if isinstance(outcome, LlmResult):
                return self._result(outcome, task, request, decisions, started, prompt_record)
            if isinstance(outcome, BudgetExceeded):
                refused = refused or outcome
            else:
                last_error = outcome
        if refused is not None:
            # A budget stopped a model that might have answered: a hard stop, not a failure to retry.
            refused.details["decisions"] = decisions
            raise refused
        tried = "; ".join(f"{d['model']}: {d['outcome']} ({d['reason']})" for d in decisions)
        raise AllModelsFailed(
            f"every model of route {task!r} failed: {tried}",
            route=task,
            decisions=decisions,
            last_error=type(last_error).__name__ if last_error else None,
        )

    async def _cached(
        self,
        task: str,
        request: LlmRequest,
        key: tuple[str, str],
        started: float,
        validate: Callable[[str], Any] | None,
        prompt: dict[str, str] | None,
    ) -> LlmResult | None:
        assert self.cache is not None
        try:
            answer = await self.cache.get(key[0], key[1], now=self.clock.time())
        except CacheError as exc:
            _cache_failed("read", exc)
            return None
        if answer is None:
            return None
        return self._hit(answer, task, key[1], started, validate, prompt, None)

    def _hit(
        self,
        answer: str,
        task: str,
        hashed: str,
        started: float,
        validate: Callable[[str], Any] | None,
        prompt: dict[str, str] | None,
        semantic: _Semantic | None,
    ) -> LlmResult | None:
        """A cached answer as the call's result, or None if it no longer fits (an older schema)."""
        stored = json.loads(answer)
        tool_calls = stored.get("tool_calls")
        try:
            data = validate(stored["text"]) if validate is not None and not tool_calls else None
        except ValueError:
            return None  # cached under an older schema: ask again
        kind = "semantic" if semantic is not None else "exact"
        with llm_call(stored["model"], system="cache", provider=stored["provider"]) as call:
            call.span.set_attribute("cache.hit", True)
            call.span.set_attribute("cache.kind", kind)
            if semantic is not None:
                call.span.set_attribute("cache.similarity", round(semantic.similarity, 4))
            call.usage(input_tokens=0, output_tokens=0, cost_usd=0.0, response_model=stored["model"])
        latency = (time.perf_counter() - started) * 1000
        reason = "exact cache hit"
        if semantic is not None:
            reason = f"semantic cache hit (similarity {semantic.similarity:.3f})"
        # A semantic hit still paid for its embedding: that is the call's whole cost.
        tokens = semantic.tokens if semantic is not None else 0
        cost = semantic.cost_usd if semantic is not None else 0.0
        return LlmResult(
            text=stored["text"],
            model=stored["model"],
            provider=stored["provider"],
            input_tokens=tokens,
            output_tokens=0,
            cost_usd=cost,
            route=task,
            request_hash=hashed,
            latency_ms=round(latency, 3),
            cached=True,
            data=data,
            decisions=[_decision(stored["model"], stored["provider"], "cache", reason, latency)],
            prompt=prompt,
            tool_calls=tool_calls,
        )

    async def _embed(self, task: str, scope: CallScope, model: str, request: LlmRequest) -> _Semantic | None:
        """The request's embedding for the semantic cache, paid for and budgeted like any call; None on failure."""
        model_cfg = self.config.models[model]
        provider = self.provider(model_cfg.provider)
        text = "\n".join(f"{m['role']}: {_text_of(m)}" for m in request.messages)
        tokens = estimate_tokens(text)
        timeout = self.config.providers[model_cfg.provider].timeout_s
        try:
            hold = await self._reserve_tokens(scope, task, model, tokens, 0, timeout)
        except BudgetExceeded:
            return None  # no room even for the embedding: the call itself will say so
        with llm_call(model, system=provider.kind, provider=model_cfg.provider, operation="embeddings") as call:
            try:
                response = await provider.embed(EmbedRequest(model=model, texts=(text,), timeout_s=timeout))
            except ProviderError as exc:
                await self._settle(hold, 0.0, 0)
                call.failed(exc)
                log.warning(
                    "semantic cache skipped: the embedding call failed (%s)",
                    type(exc).__name__,
                    extra={"event_type": "gateway.embedding_failed", "model": model},
                )
                return None
            cost = model_cfg.cost_usd(response.input_tokens, 0)
            await self._settle(hold, cost, response.input_tokens)
            call.usage(input_tokens=response.input_tokens, output_tokens=0, cost_usd=cost, response_model=model)
        if not response.vectors:
            return None
        # Same route, same embedding model, same kind of answer: a vector of another model, or an
        # answer written for another schema or length, is never compared.
        shape = hashlib.sha256(
            json.dumps(
                [model, request.json_schema, request.max_tokens, request.temperature, request.tools], sort_keys=True
            ).encode()
        ).hexdigest()[:16]
        return _Semantic(f"{task}|{shape}", response.vectors[0], response.input_tokens, cost)

    async def _similar(self, key: tuple[str, str], semantic: _Semantic, threshold: float) -> str | None:
        assert self.cache is not None
        try:
            found = await self.cache.nearest(
                key[0], semantic.route_key, semantic.vector, threshold=threshold, now=self.clock.time()
            )
        except CacheError as exc:
            _cache_failed("read", exc)
            return None
        if found is None:
            return None
        semantic.similarity = found[1]
        return found[0]

    async def _remember(
        self, task: str, key: tuple[str, str], result: LlmResult, ttl_s: float, semantic: _Semantic | None
    ) -> None:
        assert self.cache is not None
        stored: dict[str, Any] = {"text": result.text, "model": result.model, "provider": result.provider}
        if result.tool_calls:
            stored["tool_calls"] = result.tool_calls
        answer = json.dumps(stored)
        now = self.clock.time()
        try:
            await self.cache.put(key[0], key[1], route=task, answer=answer, now=now, ttl_s=ttl_s)
            if semantic is not None:
                await self.cache.put_vector(
                    key[0], semantic.route_key, key[1], semantic.vector, answer=answer, now=now, ttl_s=ttl_s
                )
        except CacheError as exc:  # a cache that cannot be written is a miss next time, not a failure
            _cache_failed("write", exc)

    def max_cost_usd(self, model: str, request: LlmRequest) -> float:
        """The most a call can cost on `model`: its prompt, and every token it may answer with."""
        return self.config.models[model].cost_usd(_prompt_tokens(request.messages, request.tools), request.max_tokens)

    async def _reserve(
        self,
        scope: CallScope,
        task: str,
        model: str,
        messages: tuple[Message, ...],
        max_tokens: int,
        timeout_s: float,
        tools: list[dict[str, Any]] | None = None,
    ) -> Hold | None:
        """Reserve one provider call's worst case on its budgets (None when no budget is set)."""
        if self.budgets is None:
            return None
        turns = [
            {"content": m.content, "tool_calls": list(m.tool_calls)}
            if isinstance(m, ToolMessage) and m.tool_calls
            else {"content": m.content}
            for m in messages
        ]
        prompt = _prompt_tokens(turns, tools)
        return await self._reserve_tokens(scope, task, model, prompt, max_tokens, timeout_s)

    async def _reserve_tokens(
        self, scope: CallScope, task: str, model: str, prompt: int, max_tokens: int, timeout_s: float
    ) -> Hold | None:
        if self.budgets is None:
            return None
        usd = self.config.models[model].cost_usd(prompt, max_tokens)
        return await self.budgets.reserve(scope, task, model, usd=usd, tokens=prompt + max_tokens, timeout_s=timeout_s)

    async def _settle(self, hold: Hold | None, usd: float, tokens: int) -> None:
        if hold is None or self.budgets is None:
            return
        try:
            await self.budgets.settle(hold, usd=usd, tokens=tokens)
        except Exception:  # noqa: BLE001 - the call is done; its hold expires and is released later
            log.warning("could not settle a budget hold", exc_info=True, extra={"event_type": "budget.settle_failed"})

    def render(self, request: LlmRequest) -> LlmRequest:
        """Render the request's prompt template as its last user message, inside the step."""
        if request.template is None:
            return request
        template = request.template or {}
        if self.prompts is None:
            raise UsageError(
                f"prompt template {template.get('name')!r} asked for, but there is no prompts directory "
                "(./prompts, or KEEL_PROMPTS_DIR)"
            )
        rendered = self.prompts.get(template["name"], template["version"]).render(template.get("vars") or {})
        messages = [*request.messages, {"role": "user", "content": rendered.text}]
        return dataclasses.replace(request, messages=messages, template=None, rendered=rendered.as_record())

    def _result(
        self,
        partial: LlmResult,
        task: str,
        request: LlmRequest,
        decisions: list[dict[str, Any]],
        started: float,
        prompt: dict[str, str] | None = None,
        hashed: str | None = None,
    ) -> LlmResult:
        return LlmResult(
            text=partial.text,
            model=partial.model,
            provider=partial.provider,
            input_tokens=partial.input_tokens,
            output_tokens=partial.output_tokens,
            cost_usd=partial.cost_usd,
            route=task,
            request_hash=hashed or request_hash(task, request),  # hashed already for the cache
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            cached=False,
            data=partial.data,
            decisions=decisions,
            prompt=prompt,
            tool_calls=partial.tool_calls,
        )

    async def _try(
        self,
        model: str,
        task: str,
        scope: CallScope,
        request: LlmRequest,
        timeout_s: float | None,
        decisions: list[dict[str, Any]],
        validate: Callable[[str], Any] | None,
        *,
        honour_cooldown: bool = True,
    ) -> LlmResult | ProviderError | BudgetExceeded:
        """One model of the route: an LlmResult, or the error that sends the call to the next model."""
        model_cfg = self.config.models[model]
        provider_name = model_cfg.provider
        key = f"{provider_name}/{model}"
        now = self.clock.time()
        if honour_cooldown and self._cooldown.get(key, 0.0) > now:
            decisions.append(_decision(model, provider_name, "skipped", "rate limited (Retry-After)", 0.0))
            return RateLimited(f"{key} is rate limited", retry_after_s=self._cooldown[key] - now)
        if self.store is not None and not await self._breaker_allows(key):
            decisions.append(_decision(model, provider_name, "skipped", "circuit open", 0.0))
            return ProviderError(f"circuit for {key} is open", provider=provider_name, model=model)
        provider = self.provider(provider_name)
        native = request.tools is not None
        if native and not getattr(provider, "native_tools", False):
            # The caller needs tool calls in a form this provider cannot give: another model may.
            decisions.append(_decision(model, provider_name, "skipped", "no native tool calling", 0.0))
            return ProviderError(f"{key} has no native tool calling", provider=provider_name, model=model)
        messages = tuple(_wire_message(m, native=native) for m in request.messages)
        timeout = timeout_s or self.config.providers[provider_name].timeout_s
        spent_in = spent_out = spent_cached = 0
        t0 = time.perf_counter()
        for correction in range(MAX_CORRECTIONS + 1):
            chat = ChatRequest(
                model=model,
                messages=messages,
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                json_schema=request.json_schema,
                timeout_s=timeout,
            )
            if request.tools is not None:
                chat = ToolChatRequest(**vars(chat), tools=tuple(request.tools))
            try:
                hold = (
                    await self._reserve(scope, task, model, messages, request.max_tokens, timeout, request.tools)
                    if self.budgets is not None
                    else None
                )
            except BudgetExceeded as exc:
                decisions.append(_decision(model, provider_name, "skipped", f"budget {exc.level} has no room", 0.0))
                return exc
            # A call cancelled mid-flight leaves its hold to expire: whether it was billed is unknown.
            with llm_call(model, system=provider.kind, provider=provider_name) as call:
                try:
                    response: ChatResponse = await provider.chat(chat)
                except ProviderError as exc:
                    if hold is not None:
                        await self._settle(hold, 0.0, 0)  # a failed call is not billed
                    call.failed(exc)
                    latency = (time.perf_counter() - t0) * 1000
                    if exc.fallback:
                        await self._breaker_record(key, success=False)
                    if isinstance(exc, RateLimited) and exc.retry_after_s is not None:
                        self._cooldown[key] = self.clock.time() + exc.retry_after_s
                    decisions.append(_decision(model, provider_name, "failed", _reason(exc), latency))
                    if not exc.fallback:
                        raise
                    return exc
                cost = model_cfg.cost_usd(response.input_tokens, response.output_tokens, response.cached_input_tokens)
                if hold is not None:
                    await self._settle(hold, cost, response.input_tokens + response.output_tokens)
                call.usage(
                    input_tokens=response.input_tokens,
                    output_tokens=response.output_tokens,
                    cost_usd=cost,
                    response_model=response.model,
                )
                call.content(prompt=messages[-1].content, completion=response.text)
            spent_in += response.input_tokens
            spent_out += response.output_tokens
            spent_cached += response.cached_input_tokens
            if self.store is not None:
                await self._breaker_record(key, success=True)
            data = None
            tool_calls = None
            if native and isinstance(response, ToolChatResponse) and response.tool_calls:
                tool_calls = [dict(call) for call in response.tool_calls]
            # Tool calls are not the answer yet: the schema is for the answer that follows them.
            if validate is not None and tool_calls is None:
                try:
                    data = validate(response.text)
                except ValueError as exc:  # pydantic's ValidationError is a ValueError
                    if correction == MAX_CORRECTIONS:
                        decisions.append(
                            _decision(model, provider_name, "failed", "answer did not match the schema", 0.0)
                        )
                        raise SchemaValidationError(
                            f"the answer of {model} did not match the schema after {MAX_CORRECTIONS} corrections",
                            model=model,
                        ) from None
                    # Ask again, showing the model its answer and what was wrong with it.
                    messages = (
                        *messages,
                        Message("assistant", response.text),
                        Message(
                            "user",
                            "That answer is not valid JSON for the required schema: "
                            f"{_brief(exc)}. Reply again with only the corrected JSON.",
                        ),
                    )
                    continue
            latency = (time.perf_counter() - t0) * 1000
            decisions.append(_decision(model, provider_name, "ok", "answered", latency))
            return LlmResult(
                text=response.text,
                model=response.model or model,
                provider=provider_name,
                input_tokens=spent_in,
                output_tokens=spent_out,
                cost_usd=model_cfg.cost_usd(spent_in, spent_out, spent_cached),
                route="",
                request_hash="",
                latency_ms=latency,
                data=data,
                tool_calls=tool_calls,
            )
        raise AssertionError("unreachable: the correction loop returns or raises")

    async def _breaker_allows(self, key: str) -> bool:
        # The breaker's row is read (no write) at most once a second while it is closed and
        # clean; only a breaker with failures, open or half-open, takes the write transaction
        # that grants half-open trials. Two commits per call cost more than the call itself.
        if self.store is None:
            return True
        now = self.clock.time()
        seen = self._clean.get(key)
        if seen is not None and now - seen < CLEAN_RECHECK_S:
            return True
        state = await asyncio.to_thread(self.store.get_breaker, f"gateway:{key}")
        if state is None or (state.state == "closed" and state.failures == 0):
            self._clean[key] = now
            return True
        self._clean.pop(key, None)
        wait = await self.store.abreaker_acquire(
            f"gateway:{key}", now=now, reset_timeout=BREAKER_RESET_S, trial_ttl=120.0
        )
        return wait is None

    async def _breaker_record(self, key: str, *, success: bool) -> None:
        if self.store is None or (success and key in self._clean):
            return  # a success on a clean, closed breaker changes nothing
        if not success:
            self._clean.pop(key, None)
        await self.store.abreaker_record(
            f"gateway:{key}", success=success, threshold=BREAKER_THRESHOLD, now=self.clock.time()
        )


@dataclasses.dataclass
class _Semantic:
    """A request's embedding, where it is compared, and what computing it cost."""

    route_key: str
    vector: list[float]
    tokens: int
    cost_usd: float
    similarity: float = 0.0


def _cache_failed(what: str, exc: CacheError) -> None:
    log.warning(
        "answer cache %s failed; treated as a miss: %s",
        what,
        exc.message,
        extra={"event_type": f"gateway.cache_{what}_failed"},
    )


def _prompt_tokens(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
    """Tokens a prompt is estimated to take, with each message's framing (and the tools offered)."""
    offered = estimate_tokens(json.dumps(tools, ensure_ascii=False)) if tools else 0
    return sum(estimate_tokens(_text_of(m)) for m in messages) + 4 * len(messages) + offered


def _text_of(message: Mapping[str, Any]) -> str:
    """A message's text, with the tool calls of an assistant turn as JSON."""
    calls = message.get("tool_calls")
    if not calls:
        return str(message["content"])
    return "\n".join([message["content"], *(json.dumps(c, ensure_ascii=False, sort_keys=True) for c in calls)])


# Roles of Keel's instruction hierarchy that the chat wire formats lack: developer instructions
# travel as system content, and a tool's output (already spotlighted by the guard) as user content
# (unless it answers a native tool call).
_WIRE_ROLES = {"developer": "system", "tool": "user"}


def _wire_message(message: Mapping[str, Any], *, native: bool) -> Message:
    """A message as the provider gets it: native tool-call turns only when tools are offered."""
    role, content = message["role"], message["content"]
    calls = message.get("tool_calls")
    if native and calls:
        return ToolMessage("assistant", content, tool_calls=tuple(dict(c) for c in calls))
    if native and role == "tool" and message.get("tool_call_id"):
        return ToolMessage("tool", content, tool_call_id=message["tool_call_id"], name=message.get("name"))
    if calls:
        # Offered no tools, a provider refuses tool-call turns (Anthropic does): they go as text.
        return Message(role, _text_of(message))
    return Message(_WIRE_ROLES.get(role, role), content)


def _holds_pii(request: LlmRequest) -> bool:
    """Whether the guard redacted PII from the request, or any message still holds some by the scrubbing floor."""
    return request.pii or any(scrub(text, limit=1 << 30) != text for text in map(_text_of, request.messages))


def _decision(model: str, provider: str, outcome: str, reason: str, latency_ms: float) -> dict[str, Any]:
    return {
        "model": model,
        "provider": provider,
        "outcome": outcome,
        "reason": reason,
        "latency_ms": round(latency_ms, 3),
    }


def _reason(exc: ProviderError) -> str:
    status = exc.details.get("status")
    name = type(exc).__name__
    return f"{name} {status}" if status is not None else name


def _brief(exc: Exception) -> str:
    text = str(exc).replace("\n", " ")
    return text if len(text) <= 500 else text[:500] + "…"


__all__ = ["Gateway", "request_hash"]
