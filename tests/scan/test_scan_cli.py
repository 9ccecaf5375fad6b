"""``imagebot scan`` end to end against a loopback registry whose answers the test writes.

Aspects: hostile tags never end the run (no exit 70) and never reach the terminal raw; ``--json``
lists every repository, each failed one with a one-line reason, and the others complete.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagebot import cli
from tests.fakes.loopback import Answer, LoopbackRegistry

MANIFEST = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "0" * 64, "size": 2},
    "layers": [],
}).encode()
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
HOSTILE = ["1.0.1\r\n", "~/../../x", "a" * 10_000, "\x1b]0;pwned\x07"]


def _json(data: object) -> Answer:
    return 200, {"Content-Type": "application/json"}, json.dumps(data).encode()


def routes(method: str, path: str) -> Answer | None:
    if path.startswith("/v2/org/hostile/tags/list"):
        return _json({"name": "org/hostile", "tags": ["1.0.0", *HOSTILE]})
    if path.startswith("/v2/org/ok/tags/list"):
        return _json({"name": "org/ok", "tags": ["2.0.0"]})
    if "/manifests/" in path:
        return 200, {"Content-Type": "application/vnd.oci.image.manifest.v1+json",
                     "Docker-Content-Digest": DIGEST}, MANIFEST
    if path.startswith("/v2/org/broken/tags/list"):
        return 403, {"Content-Type": "text/html"}, b"<h1>oops\x1b[2J</h1>\n<p>line two</p>"
    return None


@pytest.fixture
def loopback() -> Iterator[LoopbackRegistry]:
    with LoopbackRegistry(routes) as server:
        yield server


def _policies(tmp_path: Path, host: str, names: list[str]) -> Path:
    config = tmp_path / "policies"
    config.mkdir()
    for name in names:
        (config / f"{name}.yaml").write_text(
            "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n"
            f"metadata: {{name: {name}, namespace: apps}}\nspec:\n  image: {host}/org/{name}\n  interval: 5m\n"
        )
    return config


def test_scan_json_lists_every_repository_and_hostile_tags_are_dropped(
        tmp_path: Path, loopback: LoopbackRegistry, capsys: pytest.CaptureFixture[str]) -> None:
    config = _policies(tmp_path, loopback.host, ["hostile", "ok", "broken"])
    code = cli.main(["scan", "--json", "--config", str(config), "--secrets-dir", str(tmp_path / "s"),
                     "--state", str(tmp_path / "state.db"), "--digests", "all"])
    out, err = capsys.readouterr()
    assert code == 1, err  # a repository failed; the others are listed
    entries = {e["name"]: e for e in json.loads(out)}
    assert entries["apps/hostile"]["tags"] == ["1.0.0"]
    assert entries["apps/hostile"]["digests"] == {"1.0.0": DIGEST}
    assert entries["apps/hostile"]["error"] is None
    assert entries["apps/ok"]["tags"] == ["2.0.0"]
    broken = entries["apps/broken"]["error"]
    assert broken is not None and broken.isprintable() and "access denied (403)" in broken and "oops" in broken
    assert "\x1b" not in err and "\r" not in err and "\x07" not in err
    assert "internal error" not in out + err
    assert not any("\r" in path or "~" in path for _, path in loopback.requests)
