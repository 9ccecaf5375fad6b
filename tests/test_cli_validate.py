"""``imagebot validate``: offline checks of the configuration and the manifests, one finding per
mistake, as text, JSON or GitHub annotations; and the one loader every command shares.

Aspects under test (issue 14): the bundled example has no findings; a broken copy has exactly one
finding per kind of mistake, with the closest known name for near misses; --strict; --json;
GITHUB_ACTIONS annotations; scan rejects the semver range plan rejects; run/plan stop on a
mistyped kind instead of silently dropping the policy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from imagebot import cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the bundled policies/ and example/gitops/, laid out as in the repository."""
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    shutil.copytree(ROOT / "example" / "gitops", tmp_path / "gitops")
    (tmp_path / ".git").mkdir()  # the manifests' root
    return tmp_path


def validate(example: Path, *extra: str) -> int:
    return cli.main(["validate", "--config", str(example / "policies"), str(example / "gitops"), *extra])


def replace(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert text.count(old) >= count, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))


def break_example(example: Path) -> None:
    """One mistake of each kind the issue lists."""
    policies = example / "policies"
    # 1. a near-miss kind (today silently ignored)
    replace(policies / "image-policies.yaml", "kind: ImagePolicy\nmetadata:\n  name: shop-frontend",
            "kind: ImagePolicyy\nmetadata:\n  name: shop-frontend")
    # 2. a near-miss key (today: 'spec.imageRepositoryRef: is required')
    replace(policies / "image-policies.yaml", "  imageRepositoryRef:\n    name: podinfo\n  policy:\n    semver:\n"
            "      range: '^6.x'", "  imageRepositoryRf:\n    name: podinfo\n  policy:\n    semver:\n      range: '^6.x'")
    # 3. a policy naming a repository that does not exist
    replace(policies / "image-policies.yaml", "  imageRepositoryRef:\n    name: podinfo\n  policy:\n    semver:\n"
            "      range: '>=6.0.0-0'", "  imageRepositoryRef:\n    name: podinfoo\n  policy:\n    semver:\n"
            "      range: '>=6.0.0-0'")
    # 4. an invalid regex
    replace(policies / "image-policies.yaml", "pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)$'",
            "pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)(?<=x)$'")
    (policies / "extra.yaml").write_text(
        # 5. an invalid semver range
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: broken-range\n"
        "  namespace: flux-system\n  labels: {env: dev}\nspec:\n  imageRepositoryRef:\n    name: podinfo\n"
        "  policy:\n    semver:\n      range: '>=1.0 <<2'\n---\n"
        # 6. a policy no marker names
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: orphan\n"
        "  namespace: flux-system\n  labels: {env: dev}\nspec:\n  imageRepositoryRef:\n    name: podinfo\n"
        "  policy:\n    numerical: {order: asc}\n---\n"
        # 7. an automation whose policySelector selects nothing
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: qa\n"
        "  namespace: flux-system\nspec:\n  sourceRef:\n    kind: GitRepository\n    name: gitops\n"
        "  policySelector:\n    matchLabels: {env: qa}\n  git:\n    commit:\n      author: {email: a@example.com}\n"
    )
    (example / "gitops" / "apps" / "extra.yaml").write_text(
        'image: ghcr.io/stefanprodan/podinfo:6.5.0 # {"$imagepolicy": "flux-system:broken-range"}\n'
    )
    # 8. a marker naming a policy that does not exist
    replace(example / "gitops" / "apps" / "shop" / "overlays" / "dev" / "kustomization.yaml",
            "flux-system:shop-frontend", "flux-system:shop-frontent")


def test_the_bundled_example_has_no_findings(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(example, "--strict") == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "no problems in 4 configuration file(s), 4 marker(s)" in err


def test_the_repository_itself_validates() -> None:
    # the README's command, as a user runs it from a checkout
    assert cli.main(["validate", "--config", str(ROOT / "policies"), str(ROOT / "example" / "gitops")]) == 0


def test_one_finding_per_mistake(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    break_example(example)
    assert validate(example, "--json") == 2
    report = json.loads(capsys.readouterr().out)
    by_code: dict[str, list[dict[str, object]]] = {}
    for finding in report["findings"]:
        by_code.setdefault(str(finding["code"]), []).append(finding)
    summary = {code: [f["severity"] for f in found] for code, found in by_code.items()}
    assert summary == {
        "unknown-kind": ["error"],
        "unknown-key": ["error"],
        "missing-repository": ["error"],
        "invalid-regex": ["error"],
        "invalid-range": ["error"],
        "unused-policy": ["warning"],
        "selects-nothing": ["warning"],
        "unknown-policy": ["error"],
    }, report["findings"]
    policies = str(example / "policies" / "image-policies.yaml")
    extra = str(example / "policies" / "extra.yaml")

    def one(code: str) -> tuple[str, str, int]:
        finding, = by_code[code]
        return str(finding["message"]), str(finding["file"]), int(str(finding["line"]))

    assert one("unknown-kind") == (
        "kind: unknown kind 'ImagePolicyy' in image.toolkit.fluxcd.io (did you mean 'ImagePolicy'?)",
        policies, 49,
    )
    assert one("unknown-key") == (
        "spec.imageRepositoryRf: unknown key 'imageRepositoryRf' (did you mean 'imageRepositoryRef'?)",
        policies, 42,
    )
    message, file, line = one("missing-repository")
    assert "ImageRepository flux-system/podinfoo not found" in message
    assert "(did you mean 'flux-system/podinfo'?)" in message
    assert (file, line) == (policies, 28)
    message, file, line = one("invalid-regex")
    assert "spec.filterTags.pattern '^main-[a-f0-9]+-(?P<ts>[0-9]+)(?<=x)$' is not a valid Go regular" in message
    assert (file, line) == (policies, 14)
    message, file, line = one("invalid-range")
    assert "spec.policy.semver.range '>=1.0 <<2' is not a valid semver range" in message
    assert (file, line) == (extra, 12)
    assert one("unused-policy") == (
        "ImagePolicy flux-system/orphan: no marker under the checked paths names it", extra, 17,
    )
    message, file, line = one("selects-nothing")
    assert "ImageUpdateAutomation flux-system/qa: spec.policySelector {env=qa} selects no ImagePolicy" in message
    assert (file, line) == (extra, 35)
    assert one("unknown-policy") == (
        "marker 'flux-system:shop-frontent:tag' names ImagePolicy flux-system/shop-frontent, which is not in "
        "the configuration (did you mean 'flux-system:shop-frontend'?)",
        "gitops/apps/shop/overlays/dev/kustomization.yaml", 8,
    )
    assert (report["errors"], report["warnings"], report["ok"]) == (6, 2, False)


def test_text_output_names_file_line_and_the_closest_name(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replace(example / "policies" / "image-policies.yaml", "imageRepositoryRef:\n    name: shop-frontend",
            "imageRepositoryRf:\n    name: shop-frontend")
    assert validate(example) == 2
    out, err = capsys.readouterr()
    assert out == (
        f"{example}/policies/image-policies.yaml:55: error: spec.imageRepositoryRf: unknown key "
        "'imageRepositoryRf' (did you mean 'imageRepositoryRef'?) [unknown-key]\n"
    )
    assert "1 error(s), 0 warning(s)" in err


def test_strict_fails_on_warnings(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a policy no marker names is a warning
    replace(example / "gitops" / "apps" / "shop" / "overlays" / "dev" / "kustomization.yaml",
            '# {"$imagepolicy": "flux-system:shop-frontend:tag"}', "")
    assert validate(example) == 0
    assert "warning: ImagePolicy flux-system/shop-frontend: no marker" in capsys.readouterr().out
    assert validate(example, "--strict") == 2


def test_github_annotations(
    example: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.chdir(example)
    replace(example / "policies" / "image-policies.yaml", "kind: ImagePolicy\nmetadata:\n  name: shop-frontend",
            "kind: ImagePolicyy\nmetadata:\n  name: shop-frontend")
    assert cli.main(["validate", "--config", "policies", "gitops"]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "::error file=policies/image-policies.yaml,line=49,title=imagebot validate%3A unknown-kind::"
        "kind: unknown kind 'ImagePolicyy' in image.toolkit.fluxcd.io (did you mean 'ImagePolicy'?)"
    )
    assert len(lines) == 1  # its marker is not reported again as naming an unknown policy


def test_a_mistyped_kind_stops_plan_instead_of_dropping_the_policy(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replace(example / "policies" / "image-policies.yaml", "kind: ImagePolicy\nmetadata:\n  name: shop-frontend",
            "kind: ImagePolicyy\nmetadata:\n  name: shop-frontend")
    code = cli.main(["plan", "--config", str(example / "policies"), "--repo", str(example / "gitops"),
                     "--state", str(example / "state.db")])
    assert code == 2
    assert "unknown kind 'ImagePolicyy' in image.toolkit.fluxcd.io (did you mean 'ImagePolicy'?)" in \
        capsys.readouterr().err


def test_scan_rejects_the_range_plan_rejects(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace(example / "policies" / "image-policies.yaml", "range: '^6.x'", "range: '>=1.0 <<2'")
    # no registry is reachable at this address: the range must fail first, before any request
    code = cli.main(["scan", "--config", str(example / "policies"), "--state", str(example / "state.db"),
                     "--mirror", "ghcr.io=http://127.0.0.1:9"])
    assert code == 2
    err = capsys.readouterr().err
    assert "spec.policy.semver.range '>=1.0 <<2' is not a valid semver range" in err


def test_a_mistyped_key_names_the_key_meant(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace(example / "policies" / "image-policies.yaml", "imageRepositoryRef:\n    name: shop-frontend",
            "imageRepositoryRf:\n    name: shop-frontend")
    code = cli.main(["scan", "--config", str(example / "policies"), "--state", str(example / "state.db"),
                     "--mirror", "ghcr.io=http://127.0.0.1:9"])
    assert code == 2
    err = capsys.readouterr().err
    assert "spec.imageRepositoryRf: unknown key 'imageRepositoryRf' (did you mean 'imageRepositoryRef'?)" in err
    assert "is required" not in err


def test_no_config_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "--config", str(tmp_path / "nope"), str(tmp_path)]) == 2
    assert "no such file or directory" in capsys.readouterr().err
