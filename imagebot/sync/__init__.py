"""The sync stage: Kubernetes objects from a repository to a cluster (Argo CD semantics).

So far: the health of live objects (``sync.assess``) and its roll-up with reasons
(``sync.rollup``), used by ``imagebot health`` and, later, by the sync engine's wave gating.
"""

from imagebot.sync._health import KubeObject, assess, missing, resource_health, rollup

__all__ = ["KubeObject", "assess", "missing", "resource_health", "rollup"]
