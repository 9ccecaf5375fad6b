"""What an ApplicationSet's ``applicationsSync`` policy and ``preserveResourcesOnDeletion`` mean
when imagebot is the ApplicationSet controller and the Application controller at once.

Argo CD's controller creates, updates and deletes Application objects; the policy limits which
of these it may do. imagebot has no Application objects: it keeps, per ApplicationSet, a record
of the Applications it generated (``imagebot-appset-<name>``, a ConfigMap in the
ApplicationSet's namespace on the current kubeconfig context, as rendered: name → Application),
and every sync works from that record:

* ``sync`` (the default): the Applications are the ones generated now; one that is no longer
  generated is **deleted**;
* ``create-update``: generated ones are created and updated; one no longer generated is kept,
  and synced as it was last generated;
* ``create-delete``: a new one is created; an existing one keeps the spec it was created with
  (template changes do not reach it); one no longer generated is deleted;
* ``create-only``: a new one is created; existing ones keep their spec and are never deleted.

Deleting an Application deletes the objects it applied (its inventory, with foreground
propagation, only those whose tracking id still names it; ``Delete=false``/``Prune=false``
objects stay), as Argo CD's resources finalizer does, then its inventory; with
``syncPolicy.preserveResourcesOnDeletion: true`` the objects stay in the cluster and only the
inventory goes. An ApplicationSet that fails to generate changes nothing: its recorded
Applications are synced as recorded. Called by the ``sync`` and ``apps`` commands and by
``serve``'s ApplicationSet jobs (:mod:`imagebot.schedule._service`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from imagebot.errors import ConfigError, ImagebotError
from imagebot.model import argo
from imagebot.model.cluster import ObjectRef
from imagebot.model.ids import ObjectKey
from imagebot.sync._appsets import AppSetFailure, Generated, Parse
from imagebot.sync._cluster import KubernetesCluster

__all__ = ["Plan", "Settled", "plan", "read_record", "record_ref", "settle", "write_record"]

logger = logging.getLogger("imagebot.sync")

Rendered = Mapping[str, Any]
"""One generated Application as rendered (``metadata`` and ``spec``)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    applications: Mapping[str, Rendered]
    """The Applications of the ApplicationSet now, by name (and the new record)."""
    deleted: Mapping[str, Rendered]
    """Recorded Applications to delete."""


def plan(policy: str, now: Mapping[str, Rendered] | None, record: Mapping[str, Rendered] | None) -> Plan:
    """The ApplicationSet's Applications under ``policy``, from what it generates ``now`` (None:
    generation failed) and what was recorded (None: nothing yet)."""
    if now is None:
        return Plan(dict(record or {}), {})
    if record is None:
        return Plan(dict(now), {})
    gone = {name: app for name, app in record.items() if name not in now}
    if policy in ("create-only", "create-delete"):
        current = {name: record.get(name, app) for name, app in now.items()}
    else:
        current = dict(now)
    if policy in ("create-only", "create-update"):
        return Plan({**current, **gone}, {})
    return Plan(current, gone)


def record_ref(app_set: ObjectKey) -> ObjectRef:
    name = re.sub(r"[^a-z0-9.-]+", "-", app_set.name.lower()).strip("-.")
    if len(name) > 200:
        name = f"{name[:180]}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"
    return ObjectRef("v1", "ConfigMap", app_set.namespace, f"imagebot-appset-{name}")


def read_record(cluster: KubernetesCluster, app_set: ObjectKey) -> dict[str, Rendered] | None:
    live = cluster.get(record_ref(app_set))
    if live is None:
        return None
    try:
        found = json.loads((live.get("data") or {}).get("applications", "{}"))
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def write_record(cluster: KubernetesCluster, app_set: argo.ApplicationSet,
                 applications: Mapping[str, Rendered]) -> None:
    where = record_ref(app_set.key)
    if cluster.get(ObjectRef("v1", "Namespace", "", where.namespace)) is None:
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": where.namespace}})
    cluster.apply({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": where.name, "namespace": where.namespace,
                     "labels": {"app.kubernetes.io/managed-by": "imagebot"},
                     "annotations": {"imagebot.dev/application-set": str(app_set.key)}},
        "data": {"applications": json.dumps(applications, sort_keys=True, default=str)},
    }, force=True)


@dataclasses.dataclass(frozen=True, slots=True)
class Settled:
    """The Applications of every ApplicationSet under its policy, and those to delete."""

    applications: tuple[argo.Application, ...] = ()
    deleted: tuple[argo.Application, ...] = ()
    failures: tuple[AppSetFailure, ...] = ()
    unread: tuple[ObjectKey, ...] = ()
    """ApplicationSets whose record could not be read (their Applications are what they generate
    now, and none is deleted nor recorded)."""


def settle(app_sets: Iterable[argo.ApplicationSet], generated: Generated, cluster: KubernetesCluster,
           parse: Parse, *, write: bool) -> Settled:
    """Apply each ApplicationSet's ``applicationsSync`` policy against its record in ``cluster``
    (and, with ``write``, record the result)."""
    applications: list[argo.Application] = []
    deleted: list[argo.Application] = []
    failures = list(generated.failures)
    failed = {f.application_set for f in generated.failures}
    unread: list[ObjectKey] = []
    for app_set in sorted(app_sets, key=lambda s: s.key):
        now = None if app_set.key in failed else generated.rendered.get(app_set.key, {})
        try:
            record = read_record(cluster, app_set.key)
        except ImagebotError as exc:  # without the record nothing is deleted nor recorded
            logger.warning("ApplicationSet %s: reading its record: %s", app_set.key, exc)
            applications.extend(_parsed(app_set, now or {}, parse))
            unread.append(app_set.key)
            continue
        result = plan(app_set.applications_sync, now, record)
        try:
            current = _parsed(app_set, result.applications, parse)
            gone = _parsed(app_set, result.deleted, parse)
        except ConfigError as exc:
            failures.append(AppSetFailure(app_set.key, app_set.source_file, "status", f"its record: {exc}"))
            continue
        applications.extend(current)
        deleted.extend(gone)
        if write and now is not None and dict(result.applications) != (record or {}):
            write_record(cluster, app_set, result.applications)
    return Settled(tuple(applications), tuple(deleted), tuple(failures), tuple(unread))


def _parsed(app_set: argo.ApplicationSet, rendered: Mapping[str, Rendered],
            parse: Parse) -> list[argo.Application]:
    return [parse(raw, f"(Application {name} of the record)", app_set.key) for name, raw in rendered.items()]
