"""Flux v1beta1's ``.Updated`` data model for v1beta1 automations (issue 14).

Aspects: ``.Updated.Images`` prints each image as its full reference (the GitOps document's
``Update image to {{range .Updated.Images}}{{println .}}{{end}}``), ``.Updated.Files`` and
``.Updated.Objects`` with Flux's ImageRef methods; ``.Changed`` stays available; v1beta2/v1 data
keeps Flux's "removed '.Updated'" error.
"""

from __future__ import annotations

import pytest

from imagebot import errors, publish
from imagebot.model.changes import ChangeSet, FieldChange, FileChange, ObjectId
from imagebot.model.ids import ObjectKey
from tests.publish.helpers import selection

AUTOMATION = ObjectKey("flux-system", "myapp")
APP = ObjectKey("flux-system", "app")
NGINX = ObjectKey("flux-system", "nginx")
DEPLOY = ObjectId("apps/v1", "Deployment", "apps", "app")
DOCUMENT_TEMPLATE = "Update image to {{range .Updated.Images}}{{println .}}{{end}}"


def _changes() -> ChangeSet:
    return ChangeSet(files=(
        FileChange("apps/myapp/deploy.yaml", (
            FieldChange(7, "flux-system:app", APP, "ghcr.io/org/app:1.0.0", "ghcr.io/org/app:1.1.0", DEPLOY),
            FieldChange(9, "flux-system:nginx:tag", NGINX, "1.25.0", "1.27.1", DEPLOY),
        )),
        FileChange("apps/myapp/values.yaml", (
            FieldChange(3, "flux-system:app:tag", APP, "1.0.0", "1.1.0"),
        )),
    ))


def _data(*, v1beta1: bool) -> publish.TemplateData:
    selections = [selection("flux-system/app", "ghcr.io/org/app", "1.1.0"),
                  selection("flux-system/nginx", "nginx", "1.27.1")]
    return publish.template_data(AUTOMATION, _changes(), selections=selections, v1beta1=v1beta1)


def test_the_gitops_document_template_prints_full_references() -> None:
    message = publish.render_commit_message(DOCUMENT_TEMPLATE, _data(v1beta1=True))
    assert message == "Update image to ghcr.io/org/app:1.1.0\nnginx:1.27.1\n"


def test_image_ref_methods() -> None:
    template = ("{{range .Updated.Images}}{{.Name}} {{.Registry}} {{.Repository}} {{.Identifier}} "
                "{{.Policy.Namespace}}/{{.Policy.Name}}\n{{end}}")
    assert publish.render_commit_message(template, _data(v1beta1=True)) == (
        "ghcr.io/org/app:1.1.0 ghcr.io org/app 1.1.0 flux-system/app\n"
        "index.docker.io/library/nginx:1.27.1 index.docker.io library/nginx 1.27.1 flux-system/nginx\n"
    )


def test_files_and_objects() -> None:
    template = (
        "{{range $file, $result := .Updated.Files}}{{$file}}:"
        "{{range $obj, $images := $result.Objects}} {{$obj.Kind}}/{{$obj.Name}}={{$images}}{{end}}\n{{end}}"
        "{{range $obj, $images := .Updated.Objects}}{{len $images}} {{end}}"
    )
    assert publish.render_commit_message(template, _data(v1beta1=True)) == (
        "apps/myapp/deploy.yaml: Deployment/app=[ghcr.io/org/app:1.1.0 nginx:1.27.1]\n"
        "apps/myapp/values.yaml: /=[ghcr.io/org/app:1.1.0]\n"
        "1 2 "
    )


def test_changed_is_available_alongside() -> None:
    template = "{{range .Updated.Images}}{{.}} {{end}}| {{range .Changed.Changes}}{{.NewValue}} {{end}}"
    assert publish.render_commit_message(template, _data(v1beta1=True)) == (
        "ghcr.io/org/app:1.1.0 nginx:1.27.1 | ghcr.io/org/app:1.1.0 1.27.1 1.1.0 "
    )


def test_v1_data_keeps_fluxs_error() -> None:
    with pytest.raises(errors.ConfigError, match=r"removed '\.Updated' field\. Please use '\.Changed' instead"):
        publish.render_commit_message(DOCUMENT_TEMPLATE, _data(v1beta1=False))
