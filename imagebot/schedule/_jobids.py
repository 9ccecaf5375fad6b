"""The ids of ``serve``'s scheduler jobs: ``scan:<key>``, ``automation:<key>``, ``appset:<key>``,
and ``app:<key>`` or ``kustomization:<key>`` for a unit of the sync loop. A ``#`` suffix marks a
one-off run of a job (``#now``, ``#check``, ``#retry``). Used by every part of the service
(:mod:`imagebot.schedule._service`) and by the tests that look at its jobs.
"""

from __future__ import annotations

from imagebot import sync
from imagebot.model.ids import ObjectKey

__all__ = ["APPSET_JOB", "INTERVAL_JOBS", "UNIT_JOBS", "appset_job", "appset_key", "automation_job", "base",
           "scan_job", "unit_job"]

UNIT_JOBS = ("app:", "kustomization:")
APPSET_JOB = "appset:"
INTERVAL_JOBS = ("scan:", "automation:")
"""The jobs the configuration's ImageRepositories and ImageUpdateAutomations have."""


def scan_job(key: ObjectKey) -> str:
    return f"scan:{key}"


def automation_job(key: ObjectKey) -> str:
    return f"automation:{key}"


def unit_job(unit: sync.SyncUnit) -> str:
    """``app:argocd/web-dev`` or ``kustomization:flux-system/apps``: the unit's sync job."""
    return f"{'app' if unit.kind == 'Application' else 'kustomization'}:{unit.key}"


def appset_job(key: ObjectKey) -> str:
    """``appset:argocd/shop``: the ApplicationSet's generation job."""
    return f"appset:{key}"


def appset_key(job_id: str) -> ObjectKey:
    """The ApplicationSet an ``appset:`` job generates."""
    namespace, _, name = job_id.removeprefix(APPSET_JOB).partition("/")
    return ObjectKey(namespace, name)


def base(job_id: str) -> str:
    """The job a one-off run belongs to: ``app:argocd/dev`` for ``app:argocd/dev#check``."""
    return job_id.partition("#")[0]
