"""The pieces of ApplicationSet rendering, each against Argo CD's rules.

Aspects under test:
* directory globs are Go's path.Match (``*`` stops at ``/``, ``[^x]``, escapes, bad patterns);
  file globs are git pathspecs (wildcards cross ``/``, a plain path names a file or a directory);
* {{param}} (fasttemplate): spaces trimmed, unknown and non-string parameters written back as is,
  an unterminated placeholder is an error;
* Go templates: Sprig and Argo CD functions (normalize, slugify, toYaml, dig), <no value> by default;
* templatePatch merges maps, replaces lists, deletes with null, and cannot change the project;
* a generator's own template is completed by the ApplicationSet's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from imagebot import config, sync
from imagebot.errors import ConfigError
from imagebot.model import argo
from imagebot.model.ids import ObjectKey
from imagebot.sync._globs import BadPattern, go_path_match, pathspec_match
from imagebot.sync._templates import Renderer


@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("apps/*", "apps/web", True),
    ("apps/*", "apps/web/base", False),
    ("*", "apps", True),
    ("apps/[fg]", "apps/f", True),
    ("apps/[^fg]", "apps/e", True),
    ("apps/[^fg]", "apps/f", False),
    ("apps/we?", "apps/web", True),
    ("apps/\\*", "apps/*", True),
    ("apps/\\*", "apps/web", False),
])
def test_directory_globs_are_go_path_match(pattern: str, path: str, matches: bool) -> None:
    assert go_path_match(pattern, path) is matches


@pytest.mark.parametrize("pattern", ["apps/[a-", "apps/[]", "apps/\\"])
def test_bad_directory_globs(pattern: str) -> None:
    with pytest.raises(BadPattern):
        go_path_match(pattern, "apps/a")


@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("cluster-config/*/config.json", "cluster-config/a/b/config.json", True),  # greedy, as Argo CD documents
    ("cluster-config/**/config.json", "cluster-config/a/config.json", True),
    ("some-path/*.yaml", "some-path/deeper/x.yaml", True),
    ("global.values.yaml", "global.values.yaml", True),
    ("global.values.yaml", "a/global.values.yaml", False),
    ("apps", "apps/a.json", True),
    ("apps/*.json", "apps/a.yaml", False),
])
def test_file_globs_are_git_pathspecs(pattern: str, path: str, matches: bool) -> None:
    assert pathspec_match(pattern, path) is matches


def test_fasttemplate_placeholders() -> None:
    fast = Renderer(go_template=False, missing_key_error=False)
    params: dict[str, object] = {"env": "dev", "path.basename": "web", "n": 3}
    assert fast.string("{{ env }}-{{path.basename}}", params) == "dev-web"
    assert fast.string("{{nope}}/{{ n }}/{{}}", params) == "{{nope}}/{{ n }}/{{}}"
    assert fast.string("no placeholders }}", params) == "no placeholders }}"
    with pytest.raises(ConfigError, match="cannot find the end tag"):
        fast.string("{{env}} and {{env", params, what="spec.template.metadata.name")


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ normalize .name }}", "my-app.v1"),
    ("{{ .branch | slugify 23 }}", "feature-fix-the-thing"),
    ("{{ .branch | slugify 10 false }}", "feature-fi"),
    ("{{ .nested | toYaml }}", "a: 1"),
    ('{{ dig "nested" "a" 0 . }}/{{ dig "x" "y" "none" . }}', "1/none"),
    ("{{ .missing }}", "<no value>"),
    ('{{ .name | lower | trunc 6 }}{{ if eq .branch "x" }}!{{ end }}', "my_app"),
])
def test_go_template_functions(template: str, expected: str) -> None:
    go = Renderer(go_template=True, missing_key_error=False)
    params = {"name": "My_App.v1", "branch": "Feature/Fix the thing, finally", "nested": {"a": 1}}
    assert go.string(template, params) == expected


def _expand(template_patch: str | None, template: dict[str, Any],
            generator_template: dict[str, Any] | None = None) -> argo.Application:
    app_set = argo.ApplicationSet(
        key=ObjectKey("argocd", "set"), go_template=True, template_patch=template_patch, template=template,
        generators=(argo.ListGenerator(elements=({"env": "dev", "files": ["a.yaml", "b.yaml"]},),
                                       path="spec.generators[0].list", template=generator_template),),
    )
    generated = sync.generate([app_set], sync.Sources(local=Path(".")), config.parse_generated_application)
    assert generated.failures == ()
    [app] = generated.applications
    return app


TEMPLATE: dict[str, Any] = {
    "metadata": {"name": "web-{{.env}}", "namespace": "elsewhere"},
    "spec": {"project": "default", "source": {"repoURL": "https://git.example/fleet", "path": "web/{{.env}}"},
             "destination": {"namespace": "web", "server": "https://kubernetes.default.svc"},
             "syncPolicy": {"syncOptions": ["CreateNamespace=true"]}},
}


def test_template_patch() -> None:
    patch = ("spec:\n  project: stolen\n  destination: {namespace: '{{.env}}'}\n"
             "  syncPolicy: {automated: {prune: true}, syncOptions: null}\n")
    app = _expand(patch, TEMPLATE)
    assert app.key == ObjectKey("argocd", "web-dev")  # always the ApplicationSet's namespace
    assert app.project == "default"
    assert (app.destination_namespace, app.destination_server) == ("dev", "https://kubernetes.default.svc")
    assert (app.sync_policy.automated, app.sync_policy.prune, app.sync_policy.options) == (True, True, ())


def test_a_generator_template_is_completed_by_the_application_sets() -> None:
    app = _expand(None, TEMPLATE, {"metadata": {"name": "own-{{.env}}"}, "spec": {"source": {"path": "own"}}})
    assert (app.key.name, app.source.path, app.source.repo_url) == ("own-dev", "own", "https://git.example/fleet")
