"""Bazaar's service chassis: what every service gets, and no business logic.

create_service_app(settings, ...)   the one "service defaults" call
serve(app, settings)                uvicorn with uvloop + httptools
Settings: ServiceSettings, DatabaseSettings, AuthSettings
Errors:   Problem and its subclasses (problem+json)
Data:     Database, upgrade_to_head_async, migrations_check, database_check
Auth:     TokenVerifier, RemoteJwks, StaticJwks, Principal, CurrentPrincipal, require_role,
          TokenSigner
Calls:    ServiceClient, UpstreamResponse, UpstreamError, UpstreamUnavailable
Events:   CloudEvent, new_event, EventSchemas, Broker, NatsBroker, enqueue (outbox),
          OutboxRelay, EventConsumer (inbox + dead letters), create_outbox_table,
          create_inbox_table
Resilience: ServiceClient (timeouts, deadlines, retries with a budget, breaker, bulkhead),
          ResilienceSettings, AdmissionControl (load shedding), FaultState (fault injection),
          ServiceMetrics (Prometheus)
Tracing:  Tracing (OpenTelemetry: spans for requests, calls, statements, publish, consume;
          OTLP or local OTLP/JSON files; X-Ray ids and propagation), TracingSettings,
          current_tracing, current_traceparent, context_from_traceparent
"""

from .admission import AdmissionControl
from .app import create_service_app
from .auth import (
    CurrentPrincipal,
    Principal,
    RemoteJwks,
    StaticJwks,
    TokenVerifier,
    authenticated,
    bearer_token,
    require_role,
)
from .broker import Broker, BrokerUnavailable, stream_name
from .bulkhead import Bulkhead, BulkheadFull
from .circuit_breaker import CircuitBreaker, CircuitOpen
from .consumer import EventConsumer, Handler, Outcome
from .db import Database
from .deadlines import DEADLINE_HEADER, DeadlineExceeded, remaining, set_deadline
from .errors import (
    PROBLEM_JSON,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Problem,
    ServiceUnavailable,
    Unauthorized,
    Unprocessable,
    problem_response,
)
from .event_schemas import EventSchemas
from .events import CloudEvent, InvalidEvent, new_event
from .faults import FaultState, InjectedFault
from .health import database_check, migrations_check, register_readiness
from .http_client import (
    ServiceClient,
    UpstreamError,
    UpstreamPolicy,
    UpstreamResponse,
    UpstreamUnavailable,
)
from .logs import configure_logging, get_logger
from .metrics import ServiceMetrics
from .migrations import run_env, upgrade_to_head_async
from .nats_broker import NatsBroker
from .outbox import OutboxRelay, create_inbox_table, create_outbox_table, enqueue
from .owned_database import owned_database
from .owned_messaging import owned_broker, owned_outbox
from .request_ids import REQUEST_ID_HEADER, RequestIds, current_request_id, request_id_var
from .resilience_settings import ResilienceSettings
from .server import serve
from .settings import (
    AuthSettings,
    DatabaseSettings,
    MessagingSettings,
    ServiceSettings,
    load_settings,
)
from .signing import TokenSigner, generate_private_key_pem, load_private_key
from .trace_context import (
    TRACEPARENT_HEADER,
    context_from_traceparent,
    current_trace_id,
    current_traceparent,
)
from .tracing import Tracing, current_tracing, fail_span, tag_current_span
from .tracing_settings import TracingSettings

__all__ = [
    "DEADLINE_HEADER",
    "PROBLEM_JSON",
    "REQUEST_ID_HEADER",
    "TRACEPARENT_HEADER",
    "AdmissionControl",
    "AuthSettings",
    "BadRequest",
    "Broker",
    "BrokerUnavailable",
    "Bulkhead",
    "BulkheadFull",
    "CircuitBreaker",
    "CircuitOpen",
    "CloudEvent",
    "Conflict",
    "CurrentPrincipal",
    "Database",
    "DatabaseSettings",
    "DeadlineExceeded",
    "EventConsumer",
    "EventSchemas",
    "FaultState",
    "Forbidden",
    "Handler",
    "InjectedFault",
    "InvalidEvent",
    "MessagingSettings",
    "NatsBroker",
    "NotFound",
    "OutboxRelay",
    "Outcome",
    "PayloadTooLarge",
    "Principal",
    "Problem",
    "RemoteJwks",
    "RequestIds",
    "ResilienceSettings",
    "ServiceClient",
    "ServiceMetrics",
    "ServiceSettings",
    "ServiceUnavailable",
    "StaticJwks",
    "TokenSigner",
    "TokenVerifier",
    "Tracing",
    "TracingSettings",
    "Unauthorized",
    "Unprocessable",
    "UpstreamError",
    "UpstreamPolicy",
    "UpstreamResponse",
    "UpstreamUnavailable",
    "authenticated",
    "bearer_token",
    "configure_logging",
    "context_from_traceparent",
    "create_inbox_table",
    "create_outbox_table",
    "create_service_app",
    "current_request_id",
    "current_trace_id",
    "current_traceparent",
    "current_tracing",
    "database_check",
    "enqueue",
    "fail_span",
    "generate_private_key_pem",
    "get_logger",
    "load_private_key",
    "load_settings",
    "migrations_check",
    "new_event",
    "owned_broker",
    "owned_database",
    "owned_outbox",
    "problem_response",
    "register_readiness",
    "remaining",
    "request_id_var",
    "require_role",
    "run_env",
    "serve",
    "set_deadline",
    "stream_name",
    "tag_current_span",
    "upgrade_to_head_async",
]
