"""`imagebot scan` against a real registry serving what a conformance run found mishandled:
rate-limit headers (exposed in ``--json``) and image configs whose ``created`` is not a date.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot import cli
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
