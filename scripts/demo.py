"""The quick-start demo: imagebot against the bundled example, with no internet access needed.

A private ``docker-registry`` on a free loopback port plays ghcr.io through imagebot's mirror
support (image names in manifests stay ``ghcr.io/...``). The example GitOps repository is copied
into a bare git repository under ``.imagebot/demo/`` which stands in for github.com/example/gitops,
so the bundled files are never modified.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.gitrepos import git, git_env, make_bare  # noqa: E402
from testing.registry import RegistryServer  # noqa: E402

IMAGES = {
    "stefanprodan/podinfo": [
        "6.5.0", "6.5.1", "6.6.0", "6.7.0", "6.7.1", "6.8.0-rc.1", "latest",
        "main-1a2b3c4-1732000000", "main-5d6e7f8-1732100000", "main-9a8b7c6-1732200000",
        "sha256-" + "ab" * 32 + ".sig",
    ],
    "example/shop-frontend": ["1.2.0", "1.3.0", "1.3.1", "2.0.0-beta.1"],
}


def heading(title: str) -> None:
    """``# title``, in bold on a terminal only: no escape codes in a file or a pipe."""
    bold, plain = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")
    print(f"\n{bold}# {title}{plain}", flush=True)


def step(title: str, *argv: str) -> int:
    shown = " ".join(a if len(a) < 60 else "…" + a[-40:] for a in argv)
    heading(title)
    print(f"$ imagebot {shown}", flush=True)
    # text logs even when the demo's output goes to a file: it is read by a person
    return subprocess.run([str(ROOT / ".venv/bin/imagebot"), "--log-format", "text", *argv],
                          check=False).returncode


def main() -> int:
    work = ROOT / ".imagebot" / "demo"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    env = git_env(work / "home")
    example = ROOT / "example" / "gitops"
    files = {str(p.relative_to(example)): p.read_bytes() for p in example.rglob("*") if p.is_file()}
    remote = make_bare(work / "gitops.git", files, env=env)
    codes: list[int] = []
    with tempfile.TemporaryDirectory(prefix="imagebot-demo-") as tmp, \
            RegistryServer(Path(tmp), "anonymous", storage="inmemory") as registry:
        print(f"local registry standing in for ghcr.io: {registry.url}")
        print(f"git repository standing in for github.com/example/gitops: {remote.relative_to(ROOT)}")
        for repo, tags in IMAGES.items():
            registry.push_tags(repo, tags)
        common = ["--config", str(ROOT / "policies"), "--mirror", f"ghcr.io={registry.url}",
                  "--state", str(work / "state.db")]
        repo = ["--repo", str(remote), "--workdir", str(work / "clones")]
        codes.append(step("1. what the registries hold (tags after each exclusionList)", "scan", *common))
        codes.append(step("2. which fields carry markers, which images have none",
                          "markers", str(example), "--config", str(ROOT / "policies")))
        codes.append(step("3. what a run would change, and why (prod waits 72h: cooldown)",
                          "plan", *common, *repo))
        codes.append(step("4. dev and staging follow new builds by direct commit",
                          "run", *common, *repo, "--automation", "flux-system/dev",
                          "--automation", "flux-system/staging"))
        codes.append(step("5. again: nothing new, so no commit and no push",
                          "run", *common, *repo, "--automation", "flux-system/dev"))
        codes.append(step("6. prod: nothing is old enough yet, so its field is left alone",
                          "run", *common, *repo, "--automation", "flux-system/prod"))
    heading("the repository's history")
    print(git("log", "--format=%h %an: %s", "main", cwd=remote, env=env), end="")
    print(git("show", "--stat", "--format=%n%B", "main", cwd=remote, env=env), end="")
    print(f"\nDemo files are in {work.relative_to(ROOT)}/ (the bundled example is untouched).")
    return max(codes)


if __name__ == "__main__":
    raise SystemExit(main())
