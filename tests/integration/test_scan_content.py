"""`imagebot scan` against a real registry serving what a conformance run found mishandled:
rate-limit headers (exposed in ``--json``), image configs whose ``created`` is not a date, and
tags that are not images (a cosign signature tag, a Helm chart pushed as an OCI artifact).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot import cli
from testing.images import OCI_MANIFEST, Blob, Image, Manifest, Platform
from testing.registry import RegistryServer

pytestmark = pytest.mark.integration


def _config(tmp_path: Path, image: str) -> Path:
    config = tmp_path / "policies"
    config.mkdir()
    (config / "repo.yaml").write_text(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n"
        f"metadata: {{name: app, namespace: apps}}\nspec: {{image: {image}, interval: 5m}}\n"
    )
    return config


def test_the_pull_budget_is_in_scan_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    headers = {"RateLimit-Limit": ["100;w=21600"], "RateLimit-Remaining": ["7;w=21600"]}
    with RegistryServer(tmp_path / "registry", headers=headers, storage="inmemory") as registry:
        registry.push_image("org/app", "1.0.0")
        config = _config(tmp_path, f"{registry.host}/org/app")
        code = cli.main(["scan", "--json", "--config", str(config), "--state", str(tmp_path / "s.db")])
    out, err = capsys.readouterr()
    assert code == 0, err
    [entry] = json.loads(out)
    assert entry["rateLimit"] == {"limit": 100, "remaining": 7, "window": 21600}
    # below a tenth of the budget: one warning for the registry, not one per answer
    assert err.count("7 of 100 requests left") == 1, err


def test_a_created_time_that_is_not_a_date_is_warned_about_once_per_tag(
        tmp_path: Path, registry_anonymous: RegistryServer, repo: Callable[[str], str],
        capsys: pytest.CaptureFixture[str]) -> None:
    name = repo("org/app")
    registry_anonymous.push_image(name, "1.0.0", created="last tuesday\x1b[2J")
    registry_anonymous.push_image(name, "2.0.0", created="2024-03-04T05:06:07Z")
    config = _config(tmp_path, f"{registry_anonymous.host}/{name}")
    code = cli.main(["--log-format", "text", "scan", "--json", "--created", "--config", str(config),
                     "--state", str(tmp_path / "s.db")])
    out, err = capsys.readouterr()
    assert code == 0, err
    [entry] = json.loads(out)
    assert entry["created"] == {"2.0.0": "2024-03-04T05:06:07+00:00"}
    warnings = [line for line in err.splitlines() if "not a date" in line]
    assert len(warnings) == 1 and f"{name}:1.0.0" in warnings[0], err
    assert "\x1b" not in err


def _helm_chart() -> Image:
    config = Blob(b'{"name":"app","version":"9.9.9","apiVersion":"v2"}', "application/vnd.cncf.helm.config.v1+json")
    layer = Blob(b"not really a chart tarball", "application/vnd.cncf.helm.chart.content.v1.tar+gzip")
    document = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.descriptor(),
                "layers": [layer.descriptor()]}
    manifest = Manifest(json.dumps(document, sort_keys=True).encode(), OCI_MANIFEST)
    return Image(config, (layer,), manifest, Platform())


def test_signature_tags_and_helm_charts_are_not_candidates(
        tmp_path: Path, registry_anonymous: RegistryServer, repo: Callable[[str], str],
        capsys: pytest.CaptureFixture[str]) -> None:
    name = repo("org/app")
    digest = registry_anonymous.push_image(name, "1.0.0")
    registry_anonymous.push_image(name, digest.replace(":", "-") + ".sig")  # cosign's tag scheme
    registry_anonymous.push_image(name, "9.9.9", _helm_chart())
    config = _config(tmp_path, f"{registry_anonymous.host}/{name}")
    (config / "repo.yaml").write_text((config / "repo.yaml").read_text().replace(  # a custom list
        "interval: 5m}", "interval: 5m, exclusionList: ['^0']}"))
    code = cli.main(["scan", "--json", "--created", "--config", str(config), "--state", str(tmp_path / "s.db")])
    out, err = capsys.readouterr()
    assert code == 0, err
    [entry] = json.loads(out)
    assert entry["tags"] == ["1.0.0"]
