"""``sync.rollup`` and ``sync.resource_health``: Argo CD's aggregation, with the causes named.

Aspects under test (sync-engine.md §9.1):
* the worst counted status wins, in the order Healthy < Suspended < Progressing < Missing <
  Degraded < Unknown, and the objects that have it are the causes (at most three, then "and N more");
* hooks, ``ignore-healthcheck`` objects and kinds without health are not counted;
* a missing object alone does not lower the health unless every object is missing.
"""

from __future__ import annotations

import pytest

from imagebot import sync
from imagebot.model.health import Health, HealthStatus, HealthSummary, ResourceHealth

H, S, P, M, D, U = (HealthStatus.HEALTHY, HealthStatus.SUSPENDED, HealthStatus.PROGRESSING,
                    HealthStatus.MISSING, HealthStatus.DEGRADED, HealthStatus.UNKNOWN)


def res(name: str, status: HealthStatus | None, message: str = "", **kwargs: object) -> ResourceHealth:
    health = Health(status, message) if status is not None else None
    return ResourceHealth(kind="Deployment", name=name, namespace="shop", health=health, **kwargs)  # type: ignore[arg-type]


def test_order_of_severity() -> None:
    assert [s.value for s in sorted(HealthStatus, key=lambda s: s.severity)] == [
        "Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"]


@pytest.mark.parametrize(("statuses", "expected"), [
    pytest.param([H, H], H, id="all-healthy"),
    pytest.param([H, S], S, id="suspended"),
    pytest.param([S, P, H], P, id="progressing-over-suspended"),
    pytest.param([P, D], D, id="degraded-over-progressing"),
    pytest.param([D, U], U, id="unknown-worst"),
    pytest.param([H, M], H, id="missing-alone-does-not-count"),
    pytest.param([P, M], P, id="missing-beside-progressing"),
    pytest.param([M, M], M, id="all-missing"),
    pytest.param([], H, id="nothing"),
])
def test_worst_status_wins(statuses: list[HealthStatus], expected: HealthStatus) -> None:
    assert sync.rollup([res(f"r{i}", s) for i, s in enumerate(statuses)]).status is expected


def test_causes_say_why() -> None:
    summary = sync.rollup([
        res("web", P, "Waiting for rollout to finish: 1 of 2 updated replicas are available..."),
        res("api", D, "Deployment \"api\" exceeded its progress deadline"),
        res("db", H),
    ])
    assert summary.status is D
    assert [c.name for c in summary.causes] == ["api"]
    assert summary.why == 'Deployment shop/api: Deployment "api" exceeded its progress deadline'
    assert sync.rollup([res("web", H)]) == HealthSummary(H)


def test_at_most_three_causes_are_named() -> None:
    summary = sync.rollup([res(f"w{i}", P, "waiting") for i in range(5)])
    assert len(summary.causes) == 3
    assert summary.why.endswith("; and 2 more")


def test_uncounted_and_healthless_objects_are_skipped() -> None:
    assert sync.rollup([res("hook", D, counted=False), res("cm", None), res("web", H)]).status is H


def test_resource_health_reads_identity_and_exclusions() -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {
        "name": "migrate", "namespace": "shop", "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
        "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}}
    one = sync.resource_health(job)
    assert (one.kind, one.namespace, one.name, one.group, one.counted) == ("Job", "shop", "migrate", "batch", False)
    assert one.health == Health(D, "BackoffLimitExceeded")
    ignored = {"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer"},
               "metadata": {"name": "lb", "annotations": {"argocd.argoproj.io/ignore-healthcheck": "true"}}}
    assert sync.resource_health(ignored).counted is False
    assert sync.rollup([sync.resource_health(job), sync.resource_health(ignored)]).status is H


def test_missing_objects() -> None:
    gone = sync.missing(kind="Service", name="web", namespace="shop")
    assert gone.health == Health(M, "not found in the cluster")
    summary = sync.rollup([gone])
    assert summary.status is M
    assert summary.why == "Service shop/web: not found in the cluster"
