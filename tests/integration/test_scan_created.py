"""`imagebot scan --created`: image creation times from config blobs (registry-protocol §9.4–9.5).

A plain image, a multi-arch OCI index with an attestation entry (linux/amd64 is read), and an
image built reproducibly (created = epoch 0, which means "unknown", not "oldest").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot import cli
from testing.registry import RegistryServer

pytestmark = pytest.mark.integration


def test_created_times(tmp_path: Path, registry_anonymous: RegistryServer, repo: Callable[[str], str],
                       capsys: pytest.CaptureFixture[str]) -> None:
    name = repo("org/app")
    registry_anonymous.push_image(name, "1.0.0", created="2024-03-04T05:06:07Z")
    registry_anonymous.push_image(name, "repro", created="1970-01-01T00:00:00Z")
    registry_anonymous.push_index(name, "2.0.0", attestation=True)
    config = tmp_path / "policies"
    config.mkdir()
    (config / "repo.yaml").write_text(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n"
        f"metadata: {{name: app, namespace: apps}}\nspec: {{image: {registry_anonymous.host}/{name}, interval: 5m}}\n"
    )

    code = cli.main(["scan", "--config", str(config), "--state", str(tmp_path / "s.db"), "--json", "--created"])

    out, err = capsys.readouterr()
    assert code == 0, err
    [entry] = json.loads(out)
    assert entry["created"]["1.0.0"] == "2024-03-04T05:06:07+00:00"
    assert "repro" not in entry["created"]
    assert "2.0.0" in entry["created"]  # read from the linux/amd64 image of the index
