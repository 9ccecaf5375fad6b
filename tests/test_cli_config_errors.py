"""``imagebot scan`` with bad configuration: one clear line, a non-zero exit, no traceback.

Aspects under test (issue 2, "Done when"), all without a registry:
* invalid YAML in ``policies/`` names the file and the line;
* a policy naming a missing ImageRepository, an unknown apiVersion, an invalid field;
* no policies directory, an empty one;
* a missing ``certSecretRef`` secret (before any request) and a missing ``secretRef`` secret (that
  repository fails, the message says where the secret was looked for);
* an unusable ``--state`` path and a malformed ``--mirror``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from imagebot import cli

REPOSITORY = """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: app
  namespace: apps
spec:
  image: ghcr.io/org/app
  interval: 5m
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # the default --state lives under the working directory
    (tmp_path / "policies").mkdir()
    (tmp_path / "secrets").mkdir()
    return tmp_path


def write(workdir: Path, name: str, text: str) -> Path:
    path = workdir / "policies" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def scan(workdir: Path, *extra: str) -> int:
    return cli.main([
        "scan", "--config", str(workdir / "policies"), "--secrets-dir", str(workdir / "secrets"),
        "--state", str(workdir / "state.db"), "--log-format", "text", *extra,
    ])


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_invalid_yaml_names_file_and_line(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(workdir, "apps/repo.yaml", REPOSITORY + "---\nkind: ImagePolicy\nspec:\n  image: a: b\n")
    assert scan(workdir) == 2
    assert one_error_line(capsys) == (
        f"imagebot: configuration error: {path}: invalid YAML at line 12: mapping values are not allowed here"
    )


def test_policy_naming_a_missing_repository(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir, "repo.yaml", REPOSITORY)
    path = write(workdir, "policy.yaml", """\
        apiVersion: image.toolkit.fluxcd.io/v1
        kind: ImagePolicy
        metadata: {name: app, namespace: apps}
        spec:
          imageRepositoryRef: {name: ap}
          policy: {semver: {range: 1.x}}
        """)
    assert scan(workdir) == 2
    assert one_error_line(capsys) == (
        f"imagebot: configuration error: {path} (document 1): ImagePolicy apps/app: "
        f"spec.imageRepositoryRef: ImageRepository apps/ap not found in {workdir / 'policies'} "
        "(did you mean 'apps/app'?)"
    )


def test_unknown_api_version(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(workdir, "repo.yaml", REPOSITORY.replace("/v1\n", "/v2\n", 1))
    assert scan(workdir) == 2
    line = one_error_line(capsys)
    assert line.startswith(
        f"imagebot: configuration error: {path} (document 1): apiVersion: unsupported image.toolkit.fluxcd.io/v2; "
    )
    assert "image.toolkit.fluxcd.io/v1" in line.partition("supported: ")[2]


def test_invalid_field(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(workdir, "repo.yaml", REPOSITORY.replace("ghcr.io/org/app", "ghcr.io/org/app:1.0"))
    assert scan(workdir) == 2
    assert one_error_line(capsys) == (
        f"imagebot: configuration error: {path} (document 1): spec.image: "
        "invalid image 'ghcr.io/org/app:1.0': a repository takes no tag"
    )


def test_no_policies_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["scan", "--log-format", "text"]) == 2  # default --config policies
    assert one_error_line(capsys) == (
        "imagebot: configuration error: policies: no such file or directory (pass --config DIR)"
    )


def test_empty_policies_directory(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert scan(workdir) == 2
    assert one_error_line(capsys) == (
        f"imagebot: configuration error: {workdir / 'policies'}: no .yaml files found"
    )


def test_missing_cert_secret(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir, "repo.yaml", REPOSITORY + "  certSecretRef: {name: registry-ca}\n")
    assert scan(workdir) == 2
    assert one_error_line(capsys) == (
        f"imagebot: configuration error: {workdir / 'policies' / 'repo.yaml'} (document 1): "
        "ImageRepository apps/app: spec.certSecretRef: secret 'registry-ca' has no ca.crt or tls.crt: expected "
        f"{workdir / 'secrets'}/registry-ca/ca.crt or $IMAGEBOT_SECRET_REGISTRY_CA_CA_CRT"
    )


@pytest.mark.parametrize("as_json", [pytest.param(False, id="text"), pytest.param(True, id="json")])
def test_missing_secret_ref_fails_that_repository(
    workdir: Path, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    write(workdir, "repo.yaml", REPOSITORY + "  secretRef: {name: regcred}\n")
    assert scan(workdir, *(["--json"] if as_json else [])) == 1  # a run-time failure, not a config error
    out, err = capsys.readouterr()
    message = (
        f"secret 'regcred' not found: expected {workdir / 'secrets'}/regcred/.dockerconfigjson "
        "or $IMAGEBOT_SECRET_REGCRED_DOCKERCONFIGJSON"
    )
    assert "Traceback" not in out + err
    if as_json:
        assert '"error": ' + f'"{message}"' in out
        assert err == ""
    else:
        assert out.splitlines() == [f"apps/app  ghcr.io/org/app  error: {message}"]
        assert err.splitlines() == ["imagebot: 1 of 1 repositories failed to scan"]


def test_unusable_state_path(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir, "repo.yaml", REPOSITORY)
    (workdir / "state.db").mkdir()
    assert scan(workdir) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"imagebot: configuration error: state store {workdir / 'state.db'}: ")
    assert line.endswith("(choose another --state path)")


def test_malformed_mirror_flag(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir, "repo.yaml", REPOSITORY)
    assert scan(workdir, "--mirror", "ghcr.io=mirror.local:5000") == 2
    assert one_error_line(capsys) == (
        "imagebot: configuration error: --mirror 'ghcr.io=mirror.local:5000': expected HOST=http(s)://MIRROR"
    )
