"""ApplicationSets from Argo CD's documentation generate what the documentation says.

Each fixture in ``tests/sync/appsets/`` (see its README) holds one documented example: the
ApplicationSet, the repository its git generators read, and the Applications (or parameter
sets) the page says come out. The repository is read through the sync engine's source layer in
its ``--repo DIR`` mode (clones at a revision are tested in ``test_appsets.py``); the
ApplicationSet is loaded by the configuration loader as a user's file would be.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from imagebot import config, gotemplate, sync
from imagebot.model import argo
from imagebot.sync import _generators, _templates
from tests.sync.units import write_tree

FIXTURES = Path(__file__).parent / "appsets"


def _fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe", pure=True).load((FIXTURES / name).read_text())
    return loaded


def _setup(tmp_path: Path, fixture: dict[str, Any]) -> tuple[argo.ApplicationSet, Path]:
    (tmp_path / "repo").mkdir()
    repo = write_tree(tmp_path / "repo", {path: text or "" for path, text in fixture["repository"].items()})
    dumper = YAML()
    policies = tmp_path / "policies"
    policies.mkdir()
    with (policies / "appset.yaml").open("w") as stream:
        dumper.dump(fixture["applicationSet"], stream)
    [app_set] = config.load(policies).application_sets.values()
    return app_set, repo


def _summary(app: argo.Application) -> dict[str, Any]:
    return {
        "name": app.key.name, "project": app.project, "repoURL": app.source.repo_url,
        "targetRevision": app.source.target_revision, "path": app.source.path,
        "server": app.destination_server, "namespace": app.destination_namespace,
        **({"destinationName": app.destination_name} if app.destination_name else {}),
    }


def _flat(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            flat.update(_flat(value, name))
        else:
            flat[name] = gotemplate.go_str(value)
    return flat


APPLICATIONS = sorted(p.name for p in FIXTURES.glob("*.yaml") if "applications" in _fixture(p.name))
PARAMETERS = sorted(p.name for p in FIXTURES.glob("*.yaml") if "parameters" in _fixture(p.name))


@pytest.mark.parametrize("name", APPLICATIONS)
def test_the_documented_applications_are_generated(tmp_path: Path, name: str) -> None:
    fixture = _fixture(name)
    app_set, repo = _setup(tmp_path, fixture)
    raw: list[object] = []

    def parse(rendered: object, where: str, key: Any) -> argo.Application:
        raw.append(rendered)
        return config.parse_generated_application(rendered, where, key)

    generated = sync.generate([app_set], sync.Sources(local=repo), parse)
    assert generated.failures == ()
    expected = fixture["applications"]
    assert [_summary(a) for a in generated.applications] == [
        {k: v for k, v in e.items() if k not in ("automated", "prune", "raw")} for e in expected
    ]
    for app, want in zip(generated.applications, expected, strict=True):
        assert app.key.namespace == app_set.key.namespace
        assert app.application_set == app_set.key
        if "automated" in want:
            assert (app.sync_policy.automated, app.sync_policy.prune) == (want["automated"], want["prune"])
    for rendered, want in zip(raw, expected, strict=True):
        if "raw" in want:
            patched = _templates.merge_patch(rendered, want["raw"])
            assert patched == rendered, "the rendered Application lacks what the page shows"


@pytest.mark.parametrize("name", PARAMETERS)
def test_the_documented_parameters_are_generated(tmp_path: Path, name: str) -> None:
    fixture = _fixture(name)
    app_set, repo = _setup(tmp_path, fixture)
    renderer = _templates.Renderer(go_template=app_set.go_template, missing_key_error=app_set.missing_key_error)
    params = _generators.generate(app_set.generators[0], renderer, lambda url, revision: repo)
    expected = fixture["parameters"]
    got = [_flat(p) for p in params]
    assert [{k: flat.get(k) for k in want} for flat, want in zip(got, expected, strict=True)] == [
        {k: gotemplate.go_str(v) for k, v in want.items()} for want in expected
    ]
    assert len(got) == len(expected)
