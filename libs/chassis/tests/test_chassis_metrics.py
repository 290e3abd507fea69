"""ServiceMetrics: every family the resilience work counts into, with the agreed names/labels."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from chassis.metrics import ServiceMetrics

FAMILIES = {
    # attribute: (exposed family name, type, labels)
    "upstream_requests": ("bazaar_upstream_requests", "counter", ("upstream", "outcome")),
    "upstream_retries": ("bazaar_upstream_retries", "counter", ("upstream",)),
    "upstream_retries_denied": ("bazaar_upstream_retries_denied", "counter", ("upstream",)),
    "breaker_state": ("bazaar_circuit_breaker_state", "gauge", ("upstream",)),
    "breaker_transitions": (
        "bazaar_circuit_breaker_transitions",
        "counter",
        ("upstream", "to_state"),
    ),
    "requests_shed": ("bazaar_requests_shed", "counter", ("reason",)),
    "rate_limited": ("bazaar_rate_limited", "counter", ("route",)),
    "faults_injected": ("bazaar_faults_injected", "counter", ("kind",)),
    "fallbacks_served": ("bazaar_fallbacks_served", "counter", ("route",)),
}


def _touch_every_family(metrics: ServiceMetrics) -> None:
    metrics.upstream_requests.labels(upstream="payments", outcome="timeout").inc()
    metrics.upstream_retries.labels(upstream="payments").inc(2)
    metrics.upstream_retries_denied.labels(upstream="payments").inc()
    metrics.breaker_state.labels(upstream="payments").set(2)
    metrics.breaker_transitions.labels(upstream="payments", to_state="open").inc()
    metrics.requests_shed.labels(reason="inflight").inc()
    metrics.rate_limited.labels(route="POST /auth/token").inc()
    metrics.faults_injected.labels(kind="latency").inc()
    metrics.fallbacks_served.labels(route="GET /products").inc()


def test_render_exposes_every_family_with_its_type_and_labels() -> None:
    metrics = ServiceMetrics(service="orders")
    _touch_every_family(metrics)

    body, content_type = metrics.render()

    assert content_type.startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    for attribute, (name, kind, labels) in FAMILIES.items():
        assert hasattr(metrics, attribute)
        family = families[name]
        assert family.type == kind
        sample = next(s for s in family.samples if not s.name.endswith("_created"))
        assert set(sample.labels) == set(labels)
    assert 'bazaar_upstream_requests_total{outcome="timeout",upstream="payments"} 1.0' in (
        body.decode()
    )


def test_the_values_counted_are_readable_from_the_registry() -> None:
    metrics = ServiceMetrics(service="gateway")
    _touch_every_family(metrics)

    read = metrics.registry.get_sample_value

    assert read("bazaar_upstream_retries_total", {"upstream": "payments"}) == 2
    assert read("bazaar_circuit_breaker_state", {"upstream": "payments"}) == 2
    assert read("bazaar_requests_shed_total", {"reason": "inflight"}) == 1
    assert read("bazaar_requests_shed_total", {"reason": "deadline"}) is None


def test_each_instance_has_its_own_registry_so_apps_do_not_collide() -> None:
    first, second = ServiceMetrics(service="a"), ServiceMetrics(service="b")
    first.requests_shed.labels(reason="inflight").inc()

    assert first.registry is not second.registry
    shed = {"reason": "inflight"}
    assert first.registry.get_sample_value("bazaar_requests_shed_total", shed) == 1
    assert second.registry.get_sample_value("bazaar_requests_shed_total", shed) is None
    assert second.service == "b"


def test_a_given_registry_is_used() -> None:
    registry = CollectorRegistry()

    metrics = ServiceMetrics(registry, service="orders")

    assert metrics.registry is registry
    with pytest.raises(ValueError, match="Duplicated"):
        ServiceMetrics(registry, service="orders")  # one ServiceMetrics per registry
