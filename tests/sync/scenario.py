"""One sync scenario, run against any API server (the emulator or the real kube-apiserver).

``run_scenario(backend, root, namespace)`` syncs a unit through create, no-change resync,
change, conflict, --force, Prune=confirm, prune and an empty render, and returns each step's
outcomes as ``(action, "Kind ns/name")`` pairs, so two backends can be compared step by step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from imagebot import sync
from imagebot.model.cluster import SyncResult
from tests.sync.units import configmap, deployment, unit, write_tree

Patch = Callable[[str, dict[str, Any]], object]
"""``patch(path, body)``: a JSON merge patch as another field manager (a manual edit)."""


@dataclasses.dataclass(frozen=True)
class Backend:
    kubeconfig: Path
    patch: Patch


def _service() -> str:
    # no protocol on the port: imagebot defaults it (kube-apiserver 1.20 refuses the apply otherwise)
    return "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n"


def run_scenario(backend: Backend, root: Path, namespace: str) -> list[list[tuple[str, str]]]:
    steps: list[list[tuple[str, str]]] = []
    opt = "argocd.argoproj.io/sync-options"

    def step(**run: Any) -> SyncResult:
        cluster = sync.connect(backend.kubeconfig)
        try:
            render = sync.render(unit("app", namespace=namespace, options=("CreateNamespace=true",),
                                      prune=True, name=f"app-{namespace}"), root)
            result = sync.sync_unit(render, "rev", cluster, sync.SyncOptions(**run))
        finally:
            cluster.close()
        steps.append([(o.action, str(o.ref)) for o in result.outcomes])
        return result

    write_tree(root, {"app/d.yaml": deployment("web", "registry.example/web:1"), "app/s.yaml": _service(),
                      "app/c.yaml": configmap("settings", "{level: info}")})
    step()
    step()
    write_tree(root, {"app/c.yaml": configmap("settings", "{level: warn}")})
    step()
    backend.patch(f"/api/v1/namespaces/{namespace}/configmaps/settings", {"data": {"level": "debug"}})
    conflict = step()
    assert "conflict" in conflict.outcomes[0].message.lower() if conflict.outcomes else True
    step(force=True)
    write_tree(root, {"app/held.yaml": configmap("held", annotations=f"{{{opt}: Prune=confirm}}")})
    step()
    (root / "app/held.yaml").unlink()
    (root / "app/c.yaml").unlink()
    step()
    for name in ("d.yaml", "s.yaml"):
        (root / "app" / name).unlink()
    step()
    return steps
