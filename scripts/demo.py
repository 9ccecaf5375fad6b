"""The quick-start demo: imagebot against the bundled example, with no internet access needed.

A private ``docker-registry`` on a free loopback port plays ghcr.io through imagebot's mirror
support (image names in manifests stay ``ghcr.io/...``). The example GitOps repository is copied
to ``.imagebot/demo/`` so the bundled files are never modified.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.registry import RegistryServer  # noqa: E402

IMAGES = {
    "stefanprodan/podinfo": [
        "6.5.0", "6.5.1", "6.6.0", "6.7.0", "6.7.1", "6.8.0-rc.1", "latest",
        "main-1a2b3c4-1732000000", "main-5d6e7f8-1732100000", "main-9a8b7c6-1732200000",
        "sha256-" + "ab" * 32 + ".sig",
    ],
    "example/shop-frontend": ["1.2.0", "1.3.0", "1.3.1", "2.0.0-beta.1"],
}


def step(title: str, *argv: str) -> int:
    print(f"\n$ imagebot {' '.join(argv)}    # {title}", flush=True)
    return subprocess.run([str(ROOT / ".venv/bin/imagebot"), *argv], check=False).returncode


def main() -> int:
    work = ROOT / ".imagebot" / "demo"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copytree(ROOT / "example" / "gitops", work / "gitops")
    with tempfile.TemporaryDirectory(prefix="imagebot-demo-") as tmp, \
            RegistryServer(Path(tmp), "anonymous", storage="inmemory") as registry:
        print(f"local registry for ghcr.io: {registry.url}")
        for repo, tags in IMAGES.items():
            registry.push_tags(repo, tags)
        mirror = f"ghcr.io={registry.url}"
        common = ["--config", str(ROOT / "policies"), "--mirror", mirror, "--state", str(work / "state.db")]
        code = step("list tags of every ImageRepository in policies/", "scan", *common)
    print(f"\nDemo files are in {work.relative_to(ROOT)}/ (the bundled example is untouched).")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
