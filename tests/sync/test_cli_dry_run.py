"""``imagebot sync --dry-run`` without a cluster: renders, validates, prints what it would apply.

Aspects under test:
* the example GitOps tree with the repository's own policies/ (ApplicationSet list elements);
* kind, namespace/name and images per object, in apply order; --json;
* a unit that fails to render is reported (exit 1) and the others are still printed;
* an unknown APP name is a configuration error (exit 2).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagebot import cli
from tests.sync.units import configmap, deployment, job, write_tree

ROOT = Path(__file__).resolve().parents[2]


def test_example_tree_with_the_repositorys_policies(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["sync", "--dry-run", "--config", str(ROOT / "policies"), "--repo",
                     str(ROOT / "example/gitops"), "podinfo-dev"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("argocd/podinfo-dev  ")
    assert lines[0].endswith("apps/podinfo/overlays/dev  2 objects")
    assert lines[1].split() == ["Namespace", "podinfo-dev", "(CreateNamespace=true,", "if", "missing)"]
    assert lines[2].split() == ["Service", "podinfo-dev/podinfo"]
    assert lines[3].split() == ["Deployment", "podinfo-dev/podinfo", "ghcr.io/stefanprodan/podinfo:6.5.0"]


def _policies(tmp_path: Path) -> Path:
    app = """\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: {name}, namespace: argocd}}
        spec:
          source: {{repoURL: https://git.example/fleet, path: {path}}}
          destination: {{server: https://kubernetes.default.svc, namespace: shop}}
        """
    return write_tree(tmp_path / "policies", {
        "good.yaml": app.format(name="good", path="good"),
        "bad.yaml": app.format(name="bad", path="bad"),
    })


def test_json_and_render_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = write_tree(tmp_path / "repo", {
        "good/a.yaml": configmap("settings", annotations="{argocd.argoproj.io/sync-wave: '2'}"),
        "good/b.yaml": deployment("web", "ghcr.io/org/web:1.0"),
        "bad/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
    })
    code = cli.main(["sync", "--dry-run", "--json", "--config", str(_policies(tmp_path)), "--repo", str(repo)])
    captured = capsys.readouterr()
    assert code == 1
    report = json.loads(captured.out)
    [good] = report["units"]
    assert good["unit"] == "argocd/good" and good["revision"] == "local"
    assert [(o["kind"], o["namespace"], o["name"], o["wave"], o["images"]) for o in good["objects"]] == [
        ("Deployment", "shop", "web", 0, ["ghcr.io/org/web:1.0"]),
        ("ConfigMap", "shop", "settings", 2, []),
    ]
    assert report["failures"] == [
        {"unit": "argocd/bad", "error": "argocd/bad: bad/a.yaml: ConfigMap: metadata.name is required"}
    ]
    assert "argocd/bad: bad/a.yaml: ConfigMap: metadata.name is required" in captured.err


def test_unknown_app_is_a_configuration_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["sync", "--dry-run", "--config", str(_policies(tmp_path)), "--repo", str(tmp_path), "nope"])
    assert code == 2
    assert "nope: no such Application or Kustomization (known: argocd/bad, argocd/good)" in capsys.readouterr().err


def test_hooks_are_listed_after_the_objects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = write_tree(tmp_path / "repo", {
        "good/a.yaml": configmap("settings"),
        "good/b.yaml": job("migrate", "PreSync", generate=True),
        "good/c.yaml": job("smoke", "PostSync", wave=2),
        "good/d.yaml": configmap("skipped", annotations="{argocd.argoproj.io/hook: Skip}"),
    })
    policies = _policies(tmp_path)
    (policies / "bad.yaml").unlink()
    code = cli.main(["sync", "--dry-run", "--config", str(policies), "--repo", str(repo)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0].endswith("good  1 object, 2 hooks")
    assert [line.split() for line in lines[1:]] == [
        ["ConfigMap", "shop/settings"],
        ["PreSync", "hook", "Job", "shop/migrate-*", "registry.example/tools:1"],
        ["PostSync", "hook", "wave", "2", "Job", "shop/smoke", "registry.example/tools:1"],
    ]
    code = cli.main(["sync", "--dry-run", "--json", "--config", str(policies), "--repo", str(repo)])
    [unit] = json.loads(capsys.readouterr().out)["units"]
    assert [(h["name"], h["phases"], h["wave"]) for h in unit["hooks"]] == [
        ("migrate-*", ["PreSync"], 0), ("smoke", ["PostSync"], 2)]


def test_an_unreachable_source_names_its_units_and_suggests_a_local_checkout(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The bundled policies name a remote this machine cannot fetch (as a first try without
    --repo does): each unit was reported by the same bare line, with no unit and no way out."""
    missing = tmp_path / "nowhere.git"
    policies = write_tree(tmp_path / "policies", {"apps.yaml": "\n---\n".join(
        f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: {name}, namespace: argocd}}
        spec:
          source: {{repoURL: 'file://{missing}', path: {name}}}
          destination: {{server: https://kubernetes.default.svc, namespace: shop}}
        """ for name in ("one", "two"))})

    code = cli.main(["--log-format", "text", "sync", "--dry-run", "--config", str(policies),
                     "--workdir", str(tmp_path / "work")])

    err = capsys.readouterr().err
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("imagebot: ")]
    assert [line.split(":", 2)[1].strip() for line in lines] == ["argocd/one", "argocd/two"], err
    assert all(f"file://{missing}" in line and "pass --repo DIR" in line for line in lines), err
