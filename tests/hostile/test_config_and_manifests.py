"""Hostile configuration and manifests: code-executing YAML tags, alias bombs ("billion laughs")
and catastrophic-backtracking regexes are refused or stay cheap. Child processes run with a
1 GiB address-space limit, so an expansion would fail the test instead of the machine."""

from __future__ import annotations

import datetime
import resource
import subprocess
import sys
from pathlib import Path

from imagebot import policy
from imagebot.model import flux
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.images import ImageRepo, TagList

MARKED = 'image: redis:7.0 # {"$imagepolicy": "flux-system:redis"}\n'

LAUGHS = "\n".join(
    ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
) + "\n"


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def imagebot(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imagebot", *argv], cwd=cwd, capture_output=True, text=True,
                          preexec_fn=limited, timeout=300, check=False)


def test_python_tags_in_policies_are_refused_and_never_run(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    proof = tmp_path / "pwned"
    (tmp_path / "policies" / "evil.yaml").write_text(
        f"apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\n"
        f"metadata: !!python/object/apply:os.system ['touch {proof}']\n")
    result = imagebot("scan", "--config", "policies", "--state", "s.db", cwd=tmp_path)
    assert result.returncode == 2
    assert "evil.yaml" in result.stderr
    assert not proof.exists()


def test_an_alias_bomb_in_policies_stays_cheap(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "bomb.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n"
        + "".join(f"  {line}\n" for line in LAUGHS.splitlines()))
    (tmp_path / "policies" / "repo.yaml").write_text(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n"
        "metadata: {name: app, namespace: flux-system}\nspec: {image: 127.0.0.1:9/app, interval: 5m}\n")
    result = imagebot("scan", "--config", "policies", "--state", "s.db", "--json", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr[-400:]  # the registry is unreachable: exit 1
    assert '"flux-system/app"' in result.stdout or "flux-system" in result.stdout


def test_an_alias_bomb_in_a_manifest_stays_cheap(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "bomb.yaml").write_text(LAUGHS + MARKED)
    result = imagebot("set", "apps", "--policy", "flux-system:redis=redis:7.4.1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-400:]
    assert (tmp_path / "apps" / "bomb.yaml").read_text() == LAUGHS + MARKED.replace("7.0", "7.4.1")
    listed = imagebot("markers", "apps", cwd=tmp_path)
    assert "flux-system:redis" in listed.stdout


def test_a_catastrophic_backtracking_filter_is_linear_under_re2() -> None:
    spec = flux.ImagePolicy(
        key=ObjectKey("flux-system", "redos"), repository=ObjectKey("flux-system", "app"),
        choice=flux.AlphabeticalChoice(order="asc"),
        filter=flux.TagFilter(pattern=r"^(a+)+$"),
    )
    tags = (Tag("a" * 40 + "!"), Tag("a" * 5))
    listed = TagList(ImageRepo(registry="r", path="p", name="r/p"), tags, datetime.datetime.now(datetime.UTC))
    # with Python's backtracking engine the first tag alone takes longer than the universe's age
    selection = policy.select(listed, spec)
    assert selection is not None and selection.tag == "aaaaa"
