"""One registry client per run (issue 9): ``plan`` lists the tags and then looks up the digests of
the selected and the current tag over the same client, so the registry is pinged once and the
look-ups reuse its connections; a second client used to ping (and fetch tokens) again.

Counted in the real ``docker-registry``'s log: one line per request, with its URI and user agent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot import cli
from testing import fluxyaml
from testing.gitrepos import git_env, make_bare
from testing.registry import RegistryServer

MANIFEST = "image: {image}:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n"


def _config(image: str, url: str) -> str:
    return "---\n".join([fluxyaml.image_policy("app", image, insecure=True), fluxyaml.git_repository("gitops", url),
                          fluxyaml.automation("apps")])


def _field(line: str, name: str) -> str:
    value = line.split(f" {name}=", 1)[1]
    return value[1:].split('"', 1)[0] if value.startswith('"') else value.split(" ", 1)[0]


def _requests(registry: RegistryServer) -> list[str]:
    """``METHOD URI`` of every request imagebot sent to the registry so far."""
    found = []
    for line in registry.log_text().splitlines():
        if "response completed" not in line or 'useragent="imagebot/' not in line:
            continue
        found.append(f"{_field(line, 'http.request.method')} {_field(line, 'http.request.uri')}")
    return found


@pytest.mark.integration
def test_plan_looks_up_digests_on_the_client_that_listed_the_tags(
    tmp_path: Path, registry_anonymous: RegistryServer, repo: Callable[[str], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = repo("org/session")
    registry_anonymous.push_tags(name, ["1.0.0", "1.1.0", "0.9.0"])
    image = f"{registry_anonymous.host}/{name}"
    bare = make_bare(tmp_path / "gitops.git", {"apps/app.yaml": MANIFEST.format(image=image)},
                     env=git_env(tmp_path / "home"))
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "all.yaml").write_text(_config(image, f"file://{bare}"))
    before = len(_requests(registry_anonymous))

    code = cli.main(["plan", "--json", "--config", str(policies), "--state", str(tmp_path / "state.db"),
                     "--workdir", str(tmp_path / "work")])

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [p["selected"] for p in document["automations"][0]["policies"]] == ["1.1.0"]
    sent = _requests(registry_anonymous)[before:]
    assert sorted(r for r in sent if f"/v2/{name}/" in r) == [  # the 1.0.0 in the file is replaced: no HEAD
        f"GET /v2/{name}/tags/list?n=1000", f"HEAD /v2/{name}/manifests/1.1.0",
    ]
    assert sent.count("GET /v2/") == 1  # one ping: the look-ups ran on the scan's client
