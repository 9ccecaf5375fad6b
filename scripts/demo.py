"""The quick-start demo: imagebot against the bundled example, with no internet access needed.

Part 1: a private ``docker-registry`` on a free loopback port plays ghcr.io through imagebot's
mirror support (image names in manifests stay ``ghcr.io/...``). The example GitOps repository is
copied into a bare git repository under ``.imagebot/demo/`` which stands in for
github.com/example/gitops, so the bundled files are never modified.

Part 2 (when the local kube-apiserver has been built by ``scripts/kube-build``; otherwise it says
how): the whole GitOps loop on a local control plane — an ApplicationSet's dev, staging and prod
Applications, a new tag committed to dev, synced and Healthy, promoted to staging and (by pull
request, to a local GitHub stand-in) to prod, then prod rolled back with ``imagebot rollback``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing import gitopsloop  # noqa: E402
from testing.gitrepos import git, git_env, make_bare  # noqa: E402
from testing.registry import RegistryServer  # noqa: E402
from tests.fakes.github import FakeGitHub  # noqa: E402

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
    codes.append(loop(work))
    print(f"\nDemo files are in {work.relative_to(ROOT)}/ (the bundled example is untouched).")
    return max(codes)


KUBE_BIN = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "imagebot" / "kube" / "bin"


def run_json(*argv: str) -> object:
    done = subprocess.run([str(ROOT / ".venv/bin/imagebot"), "--log-format", "text", *argv],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"imagebot {argv[0]} failed:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout)


def wait_healthy(apps: list[str], common: list[str]) -> None:
    """Poll 'imagebot apps --state' until the rollouts are done (the test kubelet readies Pods)."""
    for _ in range(120):
        rows = run_json("apps", "--json", *apps, *common)
        assert isinstance(rows, list)
        if all((r["sync"], r["health"]) == ("Synced", "Healthy") for r in rows):
            return
        time.sleep(1)
    raise SystemExit(f"{', '.join(apps)} did not become Healthy")


def loop(work: Path) -> int:
    """Part 2: the whole GitOps loop on the local kube-apiserver (dev -> staging -> prod -> rollback)."""
    heading("part 2: the GitOps loop on a local Kubernetes API server")
    if not (KUBE_BIN / "kube-apiserver").exists():
        print("The loop needs the local kube-apiserver, which is not built yet. Build it once with\n"
              "  scripts/kube-build      (10-15 min on 2 cores; cached under ~/.cache/imagebot/kube)\n"
              "then run scripts/demo again. (scripts/test builds it too.)")
        return 0
    env = git_env(work / "home")
    kube_up = [str(ROOT / "scripts/kube-up"), str(work / "kube"), "--watch-pid", str(os.getpid())]
    with tempfile.TemporaryDirectory(prefix="imagebot-demo-") as tmp, \
            RegistryServer(Path(tmp) / "registry", "anonymous", storage="inmemory") as registry:
        started = subprocess.run(kube_up, capture_output=True, text=True, check=False)
        if started.returncode != 0:
            print(f"scripts/kube-up failed:\n{started.stderr}")
            return 1
        github = FakeGitHub().start()
        try:
            image = f"{registry.host}/example/web"
            registry.push_tags("example/web", ["1.0.0"])
            remote = make_bare(work / "loop.git", gitopsloop.files(image), env=env)
            (work / "loop-policies").mkdir()
            (work / "loop-policies" / "all.yaml").write_text(
                gitopsloop.policies(image, f"file://{remote}", suffix="demo", forge=github.base_url))
            print(f"registry {registry.url}, git remote {remote.relative_to(ROOT)}, apiserver "
                  f"{(work / 'kube' / 'kubeconfig').relative_to(ROOT)}, GitHub stand-in {github.base_url}")
            os.environ["GITHUB_TOKEN"] = "ghp_valid"  # a token the stand-in accepts
            return _loop_steps(work, remote, registry, env)
        finally:
            github.stop()
            subprocess.run([str(ROOT / "scripts/kube-down"), str(work / "kube")], check=False)


def _loop_steps(work: Path, remote: Path, registry: RegistryServer, env: dict[str, str]) -> int:
    codes: list[int] = []
    common = ["--config", str(work / "loop-policies"), "--state", str(work / "loop-state.db")]
    cluster = ["--kubeconfig", str(work / "kube" / "kubeconfig"), "--workdir", str(work / "sync-clones")]
    run = [*common, "--workdir", str(work / "loop-clones")]
    app = {env: f"argocd/web-demo-{env}" for env in gitopsloop.ENVS}

    def synced(title: str, *envs: str) -> None:
        codes.append(step(title, "sync", *(app[e] for e in envs), *common, *cluster))
        wait_healthy([app[e] for e in envs], [*common, *cluster])
        codes.append(step("the rollout is done; imagebot records what it sees (promotion gates read it)",
                          "apps", *(app[e] for e in envs), *common, *cluster))

    def merge(branch: str) -> None:
        sha = git("rev-parse", branch, cwd=remote, env=env).strip()
        git("update-ref", "refs/heads/main", sha, cwd=remote, env=env)
        print(f"(a reviewer merges the pull request: main -> {branch} at {sha[:12]})")

    synced("1. an ApplicationSet generates dev, staging and prod; all three run web:1.0.0",
           *gitopsloop.ENVS)
    registry.push_tags("example/web", ["1.1.0"])
    heading("CI pushes web:1.1.0 to the registry")
    codes.append(step("2. dev follows by direct commit; staging waits for dev, prod for staging",
                      "run", *run))
    synced("3. dev is synced and rolls out", "dev")
    codes.append(step("4. dev is Healthy at 1.1.0: staging follows", "run", *run))
    synced("5. staging is synced and rolls out", "staging")
    codes.append(step("6. staging is Healthy at 1.1.0: prod gets a pull request", "run", *run))
    merge("imagebot/web-prod")
    synced("7. prod is synced and rolls out 1.1.0", "prod")
    codes.append(step("8. something is wrong in prod: roll back the GitOps way (a revert, by pull request "
                      "as prod's changes go)", "rollback", app["prod"], *run))
    merge("imagebot/rollback-argocd-web-demo-prod")
    synced("9. the revert is synced: prod runs 1.0.0 again", "prod")
    codes.append(step("10. the bot does not propose 1.1.0 for prod again (until a newer tag)",
                      "plan", *run, "--automation", "flux-system/web-prod"))
    heading("the repository's history")
    print(git("log", "--format=%h %an: %s", "main", cwd=remote, env=env), end="")
    return max(codes)


if __name__ == "__main__":
    raise SystemExit(main())
