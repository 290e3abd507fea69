"""OpenTelemetry tracing for one service: its tracer, propagator and exporter.

A ``Tracing`` is built in the service's bootstrap (never at import, never global: tests run
several services in one process) and reaches what the lifespan builds through
``current_tracing()``, as the fault state does. Spans:

    SERVER    every inbound request (middleware; the gateway's edge)
    CLIENT    every outbound call (ServiceClient) and database statement (db_tracing)
    PRODUCER  every publish (outbox relay); its context rides in the message headers
    CONSUMER  every consume, a child of the publish (or of the envelope's ``traceparent``)
    INTERNAL  every saga step

Client and database spans are made only inside a recorded span: background loops (the outbox
poll, the sweeper's scan) would otherwise fill the store with one-span traces.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import Getter, TextMapPropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from .tracing_settings import TracingSettings

SCOPE = "bazaar"


def _exporter(settings: TracingSettings, service: str) -> SpanExporter | None:
    # Exporters are imported only when chosen: OTLP pulls in protobuf and requests.
    if settings.traces_exporter == "file":
        from .otlp_json import OtlpJsonFileExporter

        assert settings.traces_dir is not None  # the settings validated it
        return OtlpJsonFileExporter(
            settings.traces_dir / f"{service}.jsonl", max_bytes=settings.traces_file_max_bytes
        )
    if settings.traces_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=settings.traces_otlp_endpoint)
    if settings.traces_exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(service_name=service)
    return None


def _propagator(names: str) -> TextMapPropagator:
    propagators: list[TextMapPropagator] = []
    for name in names.split(","):
        if name == "xray":
            from opentelemetry.propagators.aws import AwsXRayPropagator

            propagators.append(AwsXRayPropagator())
        else:
            propagators.append(TraceContextTextMapPropagator())
    return propagators[0] if len(propagators) == 1 else CompositePropagator(propagators)


def _id_generator(kind: str) -> IdGenerator:
    if kind == "xray":
        from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator

        return AwsXRayIdGenerator()
    return RandomIdGenerator()


class _LowercaseGetter(Getter[Mapping[str, str]]):
    def get(self, carrier: Mapping[str, str], key: str) -> list[str] | None:
        value = carrier.get(key.lower())
        return None if value is None else [value]

    def keys(self, carrier: Mapping[str, str]) -> list[str]:
        return list(carrier)


_LOWERCASE = _LowercaseGetter()


class Tracing:
    def __init__(
        self,
        *,
        service: str,
        version: str = "0.1.0",
        environment: str = "local",
        processors: tuple[SpanProcessor, ...] = (),
        sampler: Sampler | None = None,
        id_generator: IdGenerator | None = None,
        propagator: TextMapPropagator | None = None,
    ) -> None:
        self.service = service
        resource = Resource.create(
            {
                "service.name": service,
                "service.version": version,
                "deployment.environment.name": environment,
            }
        )
        self.provider = TracerProvider(
            resource=resource,
            # Without a processor nothing would read a recorded span: record none, but keep
            # making (and propagating) ids so logs and x-trace-id still tie a request together.
            sampler=sampler or (ParentBased(TraceIdRatioBased(1.0)) if processors else ALWAYS_OFF),
            id_generator=id_generator or RandomIdGenerator(),
            shutdown_on_exit=False,
        )
        # Off, nothing is recorded: instrumentation that only makes spans can stay out.
        self.recording = bool(processors)
        for processor in processors:
            self.provider.add_span_processor(processor)
        self.tracer: Tracer = self.provider.get_tracer(SCOPE, version)
        self.propagator = propagator or TraceContextTextMapPropagator()

    @classmethod
    def from_settings(
        cls, settings: TracingSettings, *, service: str, version: str, environment: str
    ) -> Tracing:
        exporter = _exporter(settings, service)
        processors: tuple[SpanProcessor, ...] = ()
        if exporter is not None:
            processors = (
                BatchSpanProcessor(
                    exporter,
                    schedule_delay_millis=settings.traces_flush_seconds * 1000,
                    max_queue_size=8192,
                    max_export_batch_size=512,
                ),
            )
        return cls(
            service=service,
            version=version,
            environment=environment,
            processors=processors,
            sampler=ParentBased(TraceIdRatioBased(settings.traces_sample_ratio))
            if processors
            else None,
            id_generator=_id_generator(settings.traces_id_generator),
            propagator=_propagator(settings.traces_propagators),
        )

    def extract(self, carrier: Mapping[str, str]) -> Context:
        """The caller's context from headers (W3C, and X-Ray when configured), whatever the
        case of their names: ASGI lowers them, X-Ray's propagator asks in mixed case."""
        lowered = {name.lower(): value for name, value in carrier.items()}
        return self.propagator.extract(lowered, getter=_LOWERCASE)

    def inject(self, carrier: MutableMapping[str, str], context: Context | None = None) -> None:
        self.propagator.inject(carrier, context=context)

    @contextlib.contextmanager
    def child_span(
        self, name: str, *, kind: SpanKind, attributes: Mapping[str, Any] | None = None
    ) -> Iterator[Span]:
        """A span under the current one, or none (the current non-recording span) when there
        is no recorded parent. Exceptions escaping it are recorded and mark it an error."""
        parent = trace.get_current_span()
        if not parent.is_recording():
            yield parent
            return
        with self.tracer.start_as_current_span(name, kind=kind, attributes=attributes) as span:
            yield span

    @contextlib.contextmanager
    def span(
        self,
        name: str,
        *,
        parent: Context | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> Iterator[Span]:
        """An INTERNAL span made current: a unit of the service's own work (a saga step)."""
        with self.tracer.start_as_current_span(
            name, context=parent, kind=SpanKind.INTERNAL, attributes=attributes
        ) as span:
            yield span

    def force_flush(self, timeout_seconds: float = 5.0) -> bool:
        return self.provider.force_flush(int(timeout_seconds * 1000))

    def shutdown(self) -> None:
        self.provider.shutdown()


def fail_span(span: Span, description: str) -> None:
    """Marks the span failed: what a waterfall shows in red."""
    span.set_status(Status(StatusCode.ERROR, description[:200]))


def tag_current_span(**attributes: str | int | float | bool) -> None:
    """Adds attributes to the current span (nothing when it is not recorded)."""
    trace.get_current_span().set_attributes(attributes)


_untraced: Tracing | None = None
tracing_var: ContextVar[Tracing | None] = ContextVar("bazaar_tracing", default=None)


def current_tracing() -> Tracing:
    """The service's tracing (set for its lifespan), or a shared one that records nothing."""
    global _untraced
    current = tracing_var.get()
    if current is not None:
        return current
    if _untraced is None:
        _untraced = Tracing(service="untraced")
    return _untraced
