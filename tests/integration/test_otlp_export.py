"""OTLP export through the real exporter, to a local server speaking OTLP/HTTP (protobuf)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

import keel
from keel.errors import ConfigError
from keel.observe.tracing import exporters_from_env, llm_call


class _Collector(BaseHTTPRequestHandler):
    requests: list[ExportTraceServiceRequest]

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
            self.send_response(404)
            self.end_headers()
            return
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        type(self).requests.append(request)
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    handler = type("Collector", (_Collector,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.requests
    finally:
        server.shutdown()
        server.server_close()


def _attrs(span: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in span.attributes:
        value = kv.value
        out[kv.key] = getattr(value, value.WhichOneof("value"))
    return out


def test_a_run_reaches_an_otlp_collector_as_one_trace(
    collector: tuple[str, list[ExportTraceServiceRequest]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, requests = collector
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "orders-worker")
    app = keel.App("otlp", f"sqlite:///{tmp_path / 'keel.db'}")

    @app.step(name="ask")
    def ask(question: str) -> str:
        with llm_call("gpt-test", system="openai") as call:
            call.usage(input_tokens=12, output_tokens=3, cost_usd=0.0004)
        return question.upper()

    @app.workflow()
    async def answer(ctx: keel.Context, question: str) -> str:
        return await ctx.run(ask, question)

    try:
        assert app.run_sync(answer, "why?") == "WHY?"
        run = app.store.list_runs(limit=1)[0]
    finally:
        app.close()  # shuts the exporters down, which sends what is batched

    spans = [
        (resource_spans.resource, span)
        for request in requests
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]
    by_name = {span.name: (resource, span) for resource, span in spans}
    assert set(by_name) == {"workflow.run", "step ask", "llm.call"}
    assert {span.trace_id.hex() for _, span in spans} == {run.trace_id}
    resource, root = by_name["workflow.run"]
    assert _attrs(resource)["service.name"] == "orders-worker"
    assert root.span_id.hex() == run.span_id and not root.parent_span_id
    _, step = by_name["step ask"]
    _, llm = by_name["llm.call"]
    assert step.parent_span_id.hex() == run.span_id
    assert llm.parent_span_id == step.span_id
    assert _attrs(step)["run.id"] == run.run_id and _attrs(step)["step.seq"] == 0
    llm_attrs = _attrs(llm)
    assert llm_attrs["gen_ai.request.model"] == "gpt-test"
    assert llm_attrs["gen_ai.usage.input_tokens"] == 12
    assert llm_attrs["cost.usd"] == pytest.approx(0.0004)


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("OTEL_TRACES_EXPORTER", "zipkin", "OTEL_TRACES_EXPORTER"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "OTEL_EXPORTER_OTLP_PROTOCOL"),
    ],
)
def test_unsupported_exporter_settings_fail_clearly(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, key: str
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        exporters_from_env()
    assert caught.value.details["key"] == key
    assert value in caught.value.message
