"""Rendering a sync unit: plain directories and kustomize overlays, without a cluster.

Aspects under test:
* plain directories: sorted, recursive only when asked, include/exclude globs, JSON and Lists;
* kustomize overlays via kubectl, with an Application's images/namePrefix/nameSuffix/namespace/
  commonLabels overrides; Flux Kustomizations without kustomization.yaml take every file below;
* namespaces: defaulted to the destination, Flux targetNamespace overrides, cluster-scoped kinds
  (and CRDs of the render) get none;
* the tracking id and sync-wave, the images of each object;
* errors name the unit and the file: bad YAML, missing name, duplicates, missing path, remote bases.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imagebot import sync
from imagebot.errors import RenderError
from imagebot.model import argo
from imagebot.model.cluster import ObjectRef
from tests.sync.units import configmap, deployment, unit, write_tree


def _refs(render: sync.Render) -> list[str]:
    return [str(o.ref) for o in render.objects]


def test_plain_directory_is_sorted_and_not_recursive_by_default(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "app/b.yaml": configmap("b"), "app/a.yml": configmap("a"), "app/sub/c.yaml": configmap("c"),
        "app/.hidden.yaml": configmap("h"), "app/notes.txt": "not yaml",
    })
    render = sync.render(unit(), tmp_path)
    assert _refs(render) == ["ConfigMap default/a", "ConfigMap default/b"]
    assert render.objects[0].source == "app/a.yml"


def test_recurse_include_exclude(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "app/a.yaml": configmap("a"), "app/sub/b.yaml": configmap("b"), "app/sub/test-c.yaml": configmap("c"),
        "app/d.json": '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}}',
        "app/list.yaml": "apiVersion: v1\nkind: List\nitems:\n- " + configmap("e").replace("\n", "\n  "),
    })
    directory = argo.DirectorySource(recurse=True, include="{*.yaml,*.json}", exclude="test-*")
    render = sync.render(unit(directory=directory, namespace="shop"), tmp_path)
    assert _refs(render) == ["ConfigMap shop/a", "ConfigMap shop/d", "ConfigMap shop/e", "ConfigMap shop/b"]


def test_namespaces_defaults_and_cluster_scope(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app/all.yaml": "\n---\n".join([
        configmap("a"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: other}\n",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, namespace: ignored}\n",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.x.io}\n"
        "spec: {group: x.io, scope: Cluster, names: {kind: Widget, plural: widgets}}\n",
        "apiVersion: x.io/v1\nkind: Widget\nmetadata: {name: w}\n",
    ])})
    render = sync.render(unit(namespace="shop"), tmp_path)
    assert {str(o.ref) for o in render.objects} == {
        "ConfigMap shop/a", "ConfigMap other/b", "Namespace shop", "CustomResourceDefinition widgets.x.io",
        "Widget w",
    }
    assert "namespace" not in render.manifests[2].body["metadata"]
    forced = sync.render(unit(namespace="flux", override_namespace=True), tmp_path)
    assert "ConfigMap flux/b" in _refs(forced)


def test_tracking_id_wave_and_images(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app/d.yaml": deployment("web", "ghcr.io/org/web:1.0", annotations="{argocd.argoproj.io/sync-wave: '-2'}")})
    [manifest] = sync.render(unit(namespace="shop"), tmp_path).manifests
    assert manifest.body["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] == "web:apps/Deployment:shop/web"
    assert manifest.info.wave == -2
    assert manifest.info.images == ("ghcr.io/org/web:1.0",)
    assert manifest.ref == ObjectRef("apps/v1", "Deployment", "shop", "web")


def test_kustomize_overlay_with_application_overrides(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "base/kustomization.yaml": "resources: [deployment.yaml]\n",
        "base/deployment.yaml": deployment("web", "ghcr.io/org/web:1.0"),
        "overlays/dev/kustomization.yaml": "resources: [../../base]\nnamespace: dev\n",
    })
    overrides = argo.KustomizeSource(
        images=(argo.KustomizeImage(name="ghcr.io/org/web", new_tag="2.0"),),
        name_prefix="p-", name_suffix="-s", common_labels={"team": "shop"},
    )
    [manifest] = sync.render(unit("overlays/dev", kustomize=overrides), tmp_path).manifests
    assert str(manifest.ref) == "Deployment dev/p-web-s"
    assert manifest.info.images == ("ghcr.io/org/web:2.0",)
    assert manifest.body["spec"]["selector"]["matchLabels"] == {"app": "web", "team": "shop"}
    assert manifest.info.source == "overlays/dev (kustomize)"
    # the Application's namespace override too
    ns = argo.KustomizeSource(namespace="prod")
    [moved] = sync.render(unit("overlays/dev", kustomize=ns), tmp_path).manifests
    assert moved.ref.namespace == "prod"


def test_flux_kustomization_without_kustomization_file_takes_every_file(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app/a.yaml": configmap("a"), "app/deep/b.yaml": configmap("b")})
    flux_unit = unit(kind="Kustomization", app_namespace="flux-system", name="apps")
    assert _refs(sync.render(flux_unit, tmp_path)) == ["ConfigMap default/a", "ConfigMap default/b"]
    [first, _] = sync.render(flux_unit, tmp_path).manifests
    assert first.body["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"].startswith(
        "kustomization.flux-system_apps:")


@pytest.mark.parametrize(("files", "message"), [
    pytest.param({"app/a.yaml": "a: [1,\n"}, "argocd/web: app/a.yaml: invalid YAML at line", id="yaml"),
    pytest.param({"app/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"},
                 "argocd/web: app/a.yaml: ConfigMap: metadata.name is required", id="name"),
    pytest.param({"app/a.yaml": "kind: ConfigMap\nmetadata: {name: a}\n"},
                 "argocd/web: app/a.yaml: apiVersion is required", id="apiVersion"),
    pytest.param({"app/a.yaml": configmap("a"), "app/b.yaml": configmap("a")},
                 "argocd/web: app/b.yaml: ConfigMap default/a is also defined in app/a.yaml", id="duplicate"),
    pytest.param({"app/a.yaml": configmap("a") + "---\n- 1\n"},
                 r"argocd/web: app/a.yaml \(document 2\): expected a Kubernetes object", id="not-object"),
    pytest.param({"app/kustomization.yaml": "resources: [missing.yaml]\n"},
                 "argocd/web: app: kustomize: .*missing.yaml", id="kustomize"),
    pytest.param({"app/kustomization.yaml": "resources:\n- https://github.com/org/repo//base?ref=v1\n"},
                 "remote bases are disabled", id="remote-base"),
    pytest.param({"other/a.yaml": configmap("a")}, "argocd/web: path 'app' is not a directory", id="no-path"),
])
def test_render_errors_name_the_unit_and_file(tmp_path: Path, files: dict[str, str], message: str) -> None:
    write_tree(tmp_path, files)
    with pytest.raises(RenderError, match=message):
        sync.render(unit(), tmp_path)


def test_path_may_not_leave_the_repository(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    with pytest.raises(RenderError, match="leaves the repository"):
        sync.render(unit("../"), tmp_path / "repo")


def test_order_is_wave_then_kind_then_name(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app/all.yaml": "\n---\n".join([
        deployment("b", "x:1"), deployment("a", "x:1"), configmap("z"),
        configmap("late", annotations="{argocd.argoproj.io/sync-wave: '1'}"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
        "apiVersion: x.io/v1\nkind: Widget\nmetadata: {name: w}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: early, annotations: {argocd.argoproj.io/sync-wave: '-1'}}\n",
    ])})
    render = sync.render(unit(namespace="shop"), tmp_path)
    ordered = [str(o.ref) for o in sorted(render.objects, key=sync.sort_key)]
    assert ordered == [
        "ConfigMap shop/early", "Namespace shop", "ConfigMap shop/z", "Service shop/s",
        "Deployment shop/a", "Deployment shop/b", "Widget shop/w", "ConfigMap shop/late",
    ]


def test_ports_get_a_protocol(tmp_path: Path) -> None:
    # kube-apiserver 1.20 refuses a server-side apply of ports without protocol (kubernetes#98576)
    write_tree(tmp_path, {"app/s.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
                                        "spec: {ports: [{port: 80}, {port: 53, protocol: UDP}]}\n",
                          "app/d.yaml": deployment("web", "x:1").replace(
                              "image: x:1", "image: x:1\n          ports: [{containerPort: 8080}]")})
    [deploy, service] = sync.render(unit(), tmp_path).manifests
    assert service.body["spec"]["ports"] == [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]
    container = deploy.body["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]


def test_secret_string_data_is_folded_into_data(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app/s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
                                        "data: {a: YQ==}\nstringData: {b: secret}\n"})
    [secret] = sync.render(unit(), tmp_path).manifests
    assert "stringData" not in secret.body
    assert secret.body["data"] == {"a": "YQ==", "b": "c2VjcmV0"}
