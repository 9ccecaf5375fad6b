"""``imagebot sync`` and ``imagebot apps`` against the API emulator, end to end through the CLI.

Aspects under test:
* sync follows the Application's syncPolicy (CreateNamespace, automated.prune), prints outcomes;
* apps lists revision, sync status, health and why (text and --json);
* --diff prints a manual edit; --dry-run with a cluster changes nothing;
* no kubeconfig: a clear configuration error unless --dry-run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagebot import cli
from testing.kubeapi import KubeEmulator
from tests.sync.units import configmap, deployment, write_tree

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: shop, namespace: argocd}
spec:
  source: {repoURL: https://git.example/fleet, path: apps/shop}
  destination: {server: https://kubernetes.default.svc, namespace: shop}
  syncPolicy:
    automated: {prune: true}
    syncOptions: [CreateNamespace=true]
"""


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    policies = write_tree(tmp_path / "policies", {"app.yaml": APP})
    repo = write_tree(tmp_path / "repo", {"apps/shop/d.yaml": deployment("web", "ghcr.io/org/web:1.0"),
                                          "apps/shop/c.yaml": configmap("settings")})
    return policies, repo


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_sync_then_apps(layout: tuple[Path, Path], emulator: KubeEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    policies, repo = layout
    common = ["--config", str(policies), "--repo", str(repo), "--kubeconfig", str(emulator.kubeconfig)]
    code, out, _ = _run(capsys, "sync", *common)
    assert code == 0
    assert out.splitlines()[0] == "argocd/shop  local  synced: 3 created"
    assert out.splitlines()[1:] == [
        "  created  Namespace shop  (CreateNamespace=true)",
        "  created  ConfigMap shop/settings",
        "  created  Deployment shop/web",
    ]
    code, out, _ = _run(capsys, "apps", *common)
    assert code == 0
    assert out.splitlines()[0].split() == ["APP", "APPSET", "REVISION", "SYNC", "HEALTH", "WHY"]
    assert out.splitlines()[1].split() == ["argocd/shop", "-", "local", "Synced", "Healthy"]
    # a manual edit: OutOfSync in apps, visible in --diff, reverted by the next sync
    emulator.request("PATCH", "/api/v1/namespaces/shop/configmaps/settings", {"data": {"a": "2"}},
                     content_type="application/merge-patch+json")
    code, out, _ = _run(capsys, "apps", "--json", *common)
    [row] = json.loads(out)
    assert (row["app"], row["sync"], row["health"]) == ("argocd/shop", "OutOfSync", "Healthy")
    assert row["why"] == ["ConfigMap shop/settings: differs from Git"]
    code, out, _ = _run(capsys, "sync", "--dry-run", "--diff", *common)
    assert "-  a: '2'\n+  a: '1'\n" in out
    # the edit's manager owns the field now: a conflict, unless --force takes it back
    assert code == 1
    assert 'failed     ConfigMap shop/settings  (ConfigMap shop/settings: Apply failed with 1 conflict(s): ' \
           'conflict with "test": .data.a (--force takes the fields over))' in out
    assert emulator.get("/api/v1/namespaces/shop/configmaps/settings")["data"] == {"a": "2"}
    code, out, _ = _run(capsys, "sync", "--force", *common)
    assert code == 0 and "configured  ConfigMap shop/settings" in out
    assert emulator.get("/api/v1/namespaces/shop/configmaps/settings")["data"] == {"a": "1"}
    # a removed manifest is pruned (automated.prune: true)
    (repo / "apps/shop/c.yaml").unlink()
    code, out, _ = _run(capsys, "sync", "--json", *common)
    [unit] = json.loads(out)["units"]
    assert [(o["action"], o["kind"], o["name"]) for o in unit["outcomes"]] == [
        ("unchanged", "Deployment", "web"), ("pruned", "ConfigMap", "settings")]


def test_without_a_kubeconfig(layout: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    policies, repo = layout
    code, _, err = _run(capsys, "sync", "--config", str(policies), "--repo", str(repo))
    assert code == 2
    assert "no kubeconfig: pass --kubeconfig or set KUBECONFIG (or use --dry-run" in err
    code, out, _ = _run(capsys, "sync", "--dry-run", "--config", str(policies), "--repo", str(repo))
    assert code == 0 and "Deployment  shop/web       ghcr.io/org/web:1.0" in out
