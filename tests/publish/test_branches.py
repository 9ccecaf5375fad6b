"""Branch names and per-policy splitting.

Aspects: deterministic ``imagebot/<automation>[/<policy>]``, namespace qualification only on name
clashes, git ref-format safety, ``split_by_policy`` keeps each policy's changes per file.
"""

from __future__ import annotations

import pytest

from imagebot import publish
from imagebot.model.ids import ObjectKey
from tests.publish.helpers import changeset, load_scenario


@pytest.mark.parametrize(("automation", "policy", "qualified", "branch"), [
    pytest.param(ObjectKey("flux-system", "apps"), None, False, "imagebot/apps", id="automation"),
    pytest.param(ObjectKey("flux-system", "apps"), None, True, "imagebot/flux-system_apps", id="qualified"),
    pytest.param(ObjectKey("flux-system", "apps"), ObjectKey("flux-system", "podinfo"), False,
                 "imagebot/apps/podinfo", id="per-image"),
    pytest.param(ObjectKey("flux-system", "apps"), ObjectKey("other", "podinfo"), False,
                 "imagebot/apps/other_podinfo", id="per-image-other-namespace"),
    pytest.param(ObjectKey("ns", "a..b~c^d:e?f*g[h\\i j"), None, False, "imagebot/a-b-c-d-e-f-g-h-i-j", id="unsafe"),
    pytest.param(ObjectKey("ns", ".hidden.lock"), None, False, "imagebot/hidden-lock", id="dot-and-lock"),
])
def test_branch_name(automation: ObjectKey, policy: ObjectKey | None, qualified: bool, branch: str) -> None:
    assert publish.branch_name(automation, policy=policy, qualified=qualified) == branch


def test_branch_names_qualify_only_clashes() -> None:
    names = publish.branch_names([ObjectKey("a", "apps"), ObjectKey("b", "apps"), ObjectKey("a", "infra")])
    assert names == {ObjectKey("a", "apps"): "imagebot/a_apps", ObjectKey("b", "apps"): "imagebot/b_apps",
                     ObjectKey("a", "infra"): "imagebot/infra"}


def test_split_by_policy() -> None:
    parts = publish.split_by_policy(changeset(load_scenario("multi")))
    assert list(parts) == sorted(parts)
    my_policy = parts[ObjectKey("flux-system", "my-policy")]
    assert [f.path for f in my_policy.files] == ["apps/helmrelease.yaml", "kustomization.yaml"]
    assert [len(f.changes) for f in my_policy.files] == [2, 1]
    assert [f.path for f in parts[ObjectKey("flux-system", "busybox")].files] == ["apps/podinfo.yaml"]
