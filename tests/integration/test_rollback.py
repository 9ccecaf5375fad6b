"""`imagebot rollback` end to end: a real registry, real git remotes (file:// and smart HTTP), the
local GitHub API for the pull-request path.

Aspects: the last image-update commit of one Application is reverted (restricted to its path,
with git's `Revert "…"` message, a human commit in between kept), the rolled-back tag is held by
`plan`/`run` until a newer tag appears, a second rollback reverts the next update; `--to` reverts
every update since a revision; a signed revert over smart HTTP that wins a push race; a pull
request instead of a push; in place, the checkout is left as found; nothing to roll back and an
unknown Application are clear errors.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from imagebot import cli, config, pipeline, state, validation
from testing.gitrepos import git, git_env, make_bare
from testing.gitserver import GitHttpServer
from testing.registry import RegistryServer
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration

GIT_PASSWORD = "gitPw-rollback-secret"

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  template:
    spec:
      containers:
        - name: web
          image: {image}:{tag} # {{"$imagepolicy": "flux-system:web-{env}"}}
"""


def deploy(image: str, env: str, tag: str = "1.0.0") -> str:
    return DEPLOY.format(image=image, env=env, tag=tag)


def write_config(directory: Path, *, image: str, url: str, secret: str | None = None, signing: str | None = None,
                 extra: str = "", promote_prod_after: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    documents = [f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: web, namespace: flux-system}}
spec: {{image: {image}, interval: 5m}}
""", f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: gitops, namespace: flux-system}}
spec:
  url: {url}
  ref: {{branch: main}}{f"{chr(10)}  secretRef: {{name: {secret}}}" if secret else ""}
"""]
    for env in ("dev", "prod"):
        signing_key = f"\n      signingKey: {{secretRef: {{name: {signing}}}}}" if signing else ""
        gate = (f", annotations: {{imagebot.dev/promote-after: {promote_prod_after}}}"
                if promote_prod_after and env == "prod" else "")
        documents.append(f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: web-{env}, namespace: flux-system, labels: {{env: {env}}}}}
spec:
  imageRepositoryRef: {{name: web}}
  policy: {{semver: {{range: '>=1.0.0'}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: web-{env}, namespace: flux-system{gate}}}
spec:
  sourceRef: {{kind: GitRepository, name: gitops}}
  policySelector: {{matchLabels: {{env: {env}}}}}
  git:
    commit:
      author: {{name: imagebot, email: bot@example.com}}{signing_key}
    push: {{branch: main}}
  update: {{path: ./apps/web/overlays/{env}, strategy: Setters}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web-{env}, namespace: argocd}}
spec:
  project: default
  source: {{repoURL: '{url}', path: apps/web/overlays/{env}, targetRevision: main}}
  destination: {{server: https://kubernetes.default.svc, namespace: web-{env}}}
""")
    if extra:
        documents.append(extra)
    (directory / "all.yaml").write_text("---\n".join(documents))
    return directory


@pytest.fixture
def genv(tmp_path: Path) -> dict[str, str]:
    return git_env(tmp_path / "git-home")


@pytest.fixture
def image(registry_anonymous: RegistryServer, repo: Callable[[str], str]) -> str:
    name = repo("org/web")
    registry_anonymous.push_tags(name, ["1.0.0", "1.1.0"])
    return f"{registry_anonymous.host}/{name}"


def files(image: str) -> dict[str, str]:
    return {f"apps/web/overlays/{env}/deploy.yaml": deploy(image, env) for env in ("dev", "prod")}


def imagebot(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def show(bare: Path, path: str, env: dict[str, str], ref: str = "main") -> str:
    return git("show", f"{ref}:{path}", cwd=bare, env=env)


def human_commit(bare: Path | str, tmp_path: Path, env: dict[str, str], path: str, text: str) -> None:
    work = tmp_path / "human"
    if not work.exists():
        git("clone", "-q", str(bare), str(work), cwd=tmp_path, env=env)
    git("pull", "-q", "--ff-only", cwd=work, env=env)
    (work / path).parent.mkdir(parents=True, exist_ok=True)
    (work / path).write_text(text)
    git("add", path, cwd=work, env=env)
    git("commit", "-q", "-m", f"human: {path}", cwd=work, env=env)
    git("push", "-q", "origin", "main", cwd=work, env=env)


def test_rollback_reverts_the_last_update_and_holds_the_tag_until_a_newer_one(
    tmp_path: Path, image: str, registry_anonymous: RegistryServer, genv: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    bare = make_bare(tmp_path / "gitops.git", files(image), env=genv)
    cfg = write_config(tmp_path / "policies", image=image, url=f"file://{bare}")
    common = ["--config", str(cfg), "--state", str(tmp_path / "s.db"), "--workdir", str(tmp_path / "work")]
    code, _, err = imagebot(capsys, "run", *common)
    assert code == 0, err
    assert f"{image}:1.1.0" in show(bare, "apps/web/overlays/prod/deploy.yaml", genv)
    human_commit(bare, tmp_path, genv, "apps/web/overlays/prod/notes.yaml", "owner: team-web\n")
    prod_update = git("log", "--format=%H", "-1", "--author=bot@example.com", "--",
                      "apps/web/overlays/prod", cwd=bare, env=genv).strip()

    code, out, err = imagebot(capsys, "rollback", "argocd/web-prod", *common)

    assert code == 0, err
    assert f"revert {prod_update[:12]}" in out
    assert f"{image} 1.1.0 -> 1.0.0  (flux-system/web-prod)" in out
    assert f"{image}:1.0.0" in show(bare, "apps/web/overlays/prod/deploy.yaml", genv)
    assert f"{image}:1.1.0" in show(bare, "apps/web/overlays/dev/deploy.yaml", genv)  # dev untouched
    assert show(bare, "apps/web/overlays/prod/notes.yaml", genv) == "owner: team-web\n"  # human's kept
    message = git("log", "-1", "--format=%B", "main", cwd=bare, env=genv)
    assert message.startswith('Revert "chore(images): update 1 image"\n\nThis reverts commit '
                              f"{prod_update}.\n")
    assert f"- {image} 1.1.0 → 1.0.0" in message
    assert git("log", "-1", "--format=%an <%ae>", "main", cwd=bare, env=genv).strip() == \
        "imagebot <bot@example.com>"
    with state.StateStore(tmp_path / "s.db") as store:
        held = store.rollbacks()
    assert [(str(k), r.tag, r.application) for k, r in held.items()] == [
        ("flux-system/web-prod", "1.1.0", "argocd/web-prod")]

    code, out, err = imagebot(capsys, "plan", "--json", *common)

    assert code == 0, err
    policies = {p["policy"]: p for a in json.loads(out)["automations"] for p in a["policies"]}
    assert policies["flux-system/web-prod"]["selected"] is None
    assert policies["flux-system/web-prod"]["reason"].startswith("held: 1.1.0 was rolled back (main@")
    assert policies["flux-system/web-dev"]["selected"] == "1.1.0"
    code, out, err = imagebot(capsys, "run", *common)
    assert code == 0, err
    assert f"{image}:1.0.0" in show(bare, "apps/web/overlays/prod/deploy.yaml", genv)

    registry_anonymous.push_tags(image.split("/", 1)[1], ["1.2.0"])
    code, out, err = imagebot(capsys, "run", *common)

    assert code == 0, err
    assert f"{image}:1.2.0" in show(bare, "apps/web/overlays/prod/deploy.yaml", genv)

    code, out, err = imagebot(capsys, "rollback", "web-prod", *common)  # the next update goes back too

    assert code == 0, err
    assert f"{image} 1.2.0 -> 1.0.0" in out
    assert f"{image}:1.0.0" in show(bare, "apps/web/overlays/prod/deploy.yaml", genv)
    assert f"{image}:1.2.0" in show(bare, "apps/web/overlays/dev/deploy.yaml", genv)


def test_a_rollback_the_locked_state_file_could_not_record_says_so_and_exits_1(
    tmp_path: Path, image: str, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    """The revert is in Git; the hold is not (another process holds the state file past
    --state-wait), so the bot may propose the tag again: said, exit 1, no traceback."""
    import sqlite3

    bare = make_bare(tmp_path / "gitops.git", files(image), env=genv)
    cfg = write_config(tmp_path / "policies", image=image, url=f"file://{bare}")
    common = ["--config", str(cfg), "--state", str(tmp_path / "s.db"), "--workdir", str(tmp_path / "work")]
    code, _, err = imagebot(capsys, "run", *common)
    assert code == 0, err
    holder = sqlite3.connect(str(tmp_path / "s.db"), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        code, out, err = imagebot(capsys, "rollback", "argocd/web-prod", "--state-wait", "0.05", *common)
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert code == 1, err
    assert f"{image} 1.1.0 -> 1.0.0" in out
    assert f"{image}:1.0.0" in show(bare, "apps/web/overlays/prod/deploy.yaml", genv)
    assert "the revert is done" in err and "1.1.0 (flux-system/web-prod)" in err
    assert "narrow the ImagePolicy" in err and "Traceback" not in err
    with state.StateStore(tmp_path / "s.db") as store:
        assert store.rollbacks() == {}
def test_an_update_merged_with_a_merge_commit_is_found_and_reverted(
    tmp_path: Path, image: str, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    """Prod's updates arrive by pull request; GitHub's default "Create a merge commit" puts the
    bot's commit on the merge's second parent. Rollback walked the first-parent line only and
    said there was no image-update commit."""
    bare = make_bare(tmp_path / "gitops.git", files(image), env=genv)
    cfg = write_config(tmp_path / "policies", image=image, url=f"file://{bare}")
    common = ["--config", str(cfg), "--state", str(tmp_path / "s.db"), "--workdir", str(tmp_path / "work")]
    initial = git("rev-parse", "main", cwd=bare, env=genv).strip()
    assert imagebot(capsys, "run", *common)[0] == 0
    update = git("rev-parse", "main", cwd=bare, env=genv).strip()
    # main as a reviewed merge leaves it: a human commit, then the bot's branch merged --no-ff
    work = tmp_path / "reviewer"
    git("clone", "-q", str(bare), str(work), cwd=tmp_path, env=genv)
    git("reset", "-q", "--hard", initial, cwd=work, env=genv)
    (work / "README.md").write_text("reviewed\n")
    git("add", "README.md", cwd=work, env=genv)
    git("commit", "-q", "-m", "human: readme", cwd=work, env=genv)
    git("merge", "-q", "--no-ff", "-m", "Merge pull request #7 from org/imagebot/web", update, cwd=work, env=genv)
    git("push", "-q", "--force", "origin", "main", cwd=work, env=genv)
    assert f"{image}:1.1.0" in show(bare, "apps/web/overlays/prod/deploy.yaml", genv)

    code, out, err = imagebot(capsys, "rollback", "argocd/web-prod", *common)

    assert code == 0, err
    assert f"revert {update[:12]}" in out
    assert f"{image}:1.0.0" in show(bare, "apps/web/overlays/prod/deploy.yaml", genv)
    assert f"{image}:1.1.0" in show(bare, "apps/web/overlays/dev/deploy.yaml", genv)  # dev untouched
    assert show(bare, "README.md", genv) == "reviewed\n"
    assert f"This reverts commit {update}." in git("log", "-1", "--format=%B", "main", cwd=bare, env=genv)


def test_to_reverts_every_update_since_a_revision(
    tmp_path: Path, image: str, registry_anonymous: RegistryServer, genv: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    bare = make_bare(tmp_path / "gitops.git", files(image), env=genv)
    start = git("rev-parse", "main", cwd=bare, env=genv).strip()
    cfg = write_config(tmp_path / "policies", image=image, url=f"file://{bare}")
    common = ["--config", str(cfg), "--state", str(tmp_path / "s.db"), "--workdir", str(tmp_path / "work")]
    assert imagebot(capsys, "run", *common)[0] == 0
    registry_anonymous.push_tags(image.split("/", 1)[1], ["1.2.0"])
    assert imagebot(capsys, "run", *common)[0] == 0
    before = git("rev-parse", "main", cwd=bare, env=genv).strip()

    code, out, err = imagebot(capsys, "rollback", "web-prod", "--to", start[:10], "--dry-run", *common)

    assert code == 0, err
    assert out.count("  revert ") == 2
    assert "Revert 2 image updates of argocd/web-prod" in out
    assert git("rev-parse", "main", cwd=bare, env=genv).strip() == before  # a dry run changes nothing

    code, out, err = imagebot(capsys, "rollback", "web-prod", "--to", start, "--json", *common)

    assert code == 0, err
    report = json.loads(out)
    assert [i["rolled_back"] for i in report["images"]] == ["1.2.0"]
    assert [i["restored"] for i in report["images"]] == ["1.0.0"]
    assert report["files"] == ["apps/web/overlays/prod/deploy.yaml"]
    assert show(bare, "apps/web/overlays/prod/deploy.yaml", genv) == deploy(image, "prod")
    code, out, err = imagebot(capsys, "plan", *common)
    assert "held: 1.2.0 was rolled back" in out


@pytest.fixture
def http_remote(tmp_path: Path) -> Iterator[GitHttpServer]:
    with GitHttpServer(tmp_path / "srv", username="bot", password=GIT_PASSWORD) as server:
        yield server


def test_signed_revert_over_smart_http_wins_a_push_race(
    tmp_path: Path, image: str, http_remote: GitHttpServer, genv: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_bare(http_remote.root / "gitops.git", files(image), env=genv)
    secrets = tmp_path / "secrets"
    (secrets / "git").mkdir(parents=True)
    (secrets / "git" / "username").write_text("bot")
    (secrets / "git" / "password").write_text(GIT_PASSWORD)
    key = tmp_path / "signing"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bot", "-f", str(key)], check=True)
    (secrets / "signing").mkdir()
    (secrets / "signing" / "identity").write_text(key.read_text())
    cfg_dir = write_config(tmp_path / "policies", image=image, url=http_remote.url("gitops.git"), secret="git",
                           signing="signing")
    common = ["--config", str(cfg_dir), "--secrets-dir", str(secrets), "--state", str(tmp_path / "s.db"),
              "--workdir", str(tmp_path / "work")]
    code, _, err = imagebot(capsys, "run", *common)
    assert code == 0, err
    remote = http_remote.url_with_credentials("gitops.git")
    raced: list[bool] = []

    def human_pushes_first() -> None:
        if not raced:  # once: between imagebot's fetch and its push
            raced.append(True)
            human_commit(remote, tmp_path, genv, "apps/web/overlays/prod/notes.yaml", "raced\n")

    cfg = validation.load(cfg_dir)
    with state.StateStore(tmp_path / "s.db") as store:
        report = pipeline.rollback(
            cfg, app="web-prod", secrets=config.SecretStore(secrets), state=store,
            options=pipeline.RollbackOptions(workdir=tmp_path / "work", before_push=human_pushes_first,
                                             sleep=lambda _: None),
        )

    assert raced and report.revision is not None
    check = tmp_path / "check"
    git("clone", "-q", remote, str(check), cwd=tmp_path, env=genv)
    subjects = git("log", "--format=%s", cwd=check, env=genv).splitlines()
    assert subjects[:2] == ['Revert "chore(images): update 1 image"', "human: apps/web/overlays/prod/notes.yaml"]
    assert f"{image}:1.0.0" in (check / "apps/web/overlays/prod/deploy.yaml").read_text()
    assert (check / "apps/web/overlays/prod/notes.yaml").read_text() == "raced\n"
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f'bot@example.com namespaces="git" {key.with_suffix(".pub").read_text()}')
    shown = git("-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={allowed}",
                "log", "-1", "--show-signature", cwd=check, env=genv)
    assert 'Good "git" signature for bot@example.com' in shown
    captured = capsys.readouterr()
    assert GIT_PASSWORD not in captured.out + captured.err


def test_pull_request_instead_of_a_push(
    tmp_path: Path, image: str, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bare = make_bare(tmp_path / "gitops.git", files(image), env=genv)
    cfg = write_config(tmp_path / "policies", image=image, url=f"file://{bare}")
    common = ["--config", str(cfg), "--state", str(tmp_path / "s.db"), "--workdir", str(tmp_path / "work")]
    assert imagebot(capsys, "run", *common)[0] == 0
    github = FakeGitHub().start()
    try:
        extra = f"""\
apiVersion: imagebot.dev/v1alpha1
kind: PullRequest
metadata: {{name: web-prod, namespace: flux-system}}
spec:
  labels: [rollback]
  forge: {{apiURL: '{github.base_url}', repository: org/gitops}}
"""
        write_config(tmp_path / "policies", image=image, url=f"file://{bare}", extra=extra)
        monkeypatch.setenv("GITHUB_TOKEN", "ghp_valid")
        head = git("rev-parse", "main", cwd=bare, env=genv).strip()

        code, out, err = imagebot(capsys, "rollback", "argocd/web-prod", *common)

        assert code == 0, err
        assert "opened pull request #1" in out
        pull = github.pulls[1]
        assert pull.head == "imagebot/rollback-argocd-web-prod"
        assert pull.title == 'Revert "chore(images): update 1 image"'
        assert "1.1.0" in pull.body and "1.0.0" in pull.body
        assert git("rev-parse", "main", cwd=bare, env=genv).strip() == head  # main itself is untouched
        assert f"{image}:1.0.0" in show(bare, "apps/web/overlays/prod/deploy.yaml", genv,
                                        "imagebot/rollback-argocd-web-prod")
    finally:
        github.stop()


def test_in_place_the_checkout_is_left_as_found(
    tmp_path: Path, image: str, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    bare = make_bare(tmp_path / "gitops.git", files(image), env=genv)
    cfg = write_config(tmp_path / "policies", image=image, url=f"file://{bare}")
    state_db = str(tmp_path / "s.db")
    assert imagebot(capsys, "run", "--config", str(cfg), "--state", state_db, "--workdir",
                    str(tmp_path / "work"))[0] == 0
    checkout = tmp_path / "checkout"
    git("clone", "-q", "--depth", "1", f"file://{bare}", str(checkout), cwd=tmp_path, env=genv)
    (checkout / "scratch.txt").write_text("untracked\n")
    head = git("rev-parse", "HEAD", cwd=checkout, env=genv).strip()

    code, _, err = imagebot(capsys, "rollback", "web-prod", "--repo", str(checkout), "--config", str(cfg),
                            "--state", state_db)

    assert code == 0, err
    assert f"{image}:1.0.0" in show(bare, "apps/web/overlays/prod/deploy.yaml", genv)
    assert git("rev-parse", "HEAD", cwd=checkout, env=genv).strip() == head
    assert git("status", "--porcelain", cwd=checkout, env=genv) == "?? scratch.txt\n"
    assert f"{image}:1.1.0" in (checkout / "apps/web/overlays/prod/deploy.yaml").read_text()


def test_nothing_to_roll_back_and_unknown_application(
    tmp_path: Path, image: str, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    bare = make_bare(tmp_path / "gitops.git", files(image), env=genv)
    cfg = write_config(tmp_path / "policies", image=image, url=f"file://{bare}")
    common = ["--config", str(cfg), "--state", str(tmp_path / "s.db"), "--workdir", str(tmp_path / "work")]

    code, _, err = imagebot(capsys, "rollback", "web-prod", *common)

    assert code == 1
    assert "argocd/web-prod: no image-update commit by bot@example.com changed apps/web/overlays/prod" in err
    code, _, err = imagebot(capsys, "rollback", "web-qa", *common)
    assert code == 2
    assert "web-qa: no such Application or Kustomization" in err
