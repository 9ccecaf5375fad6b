"""`imagebot run` / `plan` end to end: a real registry, a real git remote, the local GitHub API.

Aspects: one signed, templated commit over smart HTTP with Basic auth and a no-op second run;
dry-run touches nothing and shows the diff and message; plan's table; a policy that selects
nothing leaves its field alone and says why; pull-request mode opens one PR and updates the same
PR on a later run; no secret appears in any output.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from imagebot import cli
from testing import fluxyaml
from testing.gitrepos import git, git_env, make_bare
from testing.gitserver import GitHttpServer
from testing.registry import RegistryServer
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration

GIT_PASSWORD = "gitPw-9f3kq-secret"
GITHUB_TOKEN = "ghp_valid"

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app   # the app
spec:
  template:
    spec:
      containers:
        - name: app
          image: {image}:1.0.0 # {{"$imagepolicy": "flux-system:app"}}
        - name: sidecar
          image: {image}:1.0.0 # {{"$imagepolicy": "flux-system:none"}}
"""


def policies(directory: Path, *, image: str, url: str, secret: str | None, signing: str | None = None,
             extra: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    secret_ref = f"\n  secretRef: {{name: {secret}}}" if secret else ""
    signing_key = f"\n      signingKey: {{secretRef: {{name: {signing}}}}}" if signing else ""
    (directory / "all.yaml").write_text(fluxyaml.image_policy("app", image) + f"""\
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: none, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: app}}
  policy: {{semver: {{range: '>=9.0.0'}}}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: gitops, namespace: flux-system}}
spec:
  url: {url}
  ref: {{branch: main}}{secret_ref}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: apps, namespace: flux-system}}
spec:
  sourceRef: {{kind: GitRepository, name: gitops}}
  git:
    commit:
      author: {{name: imagebot, email: bot@example.com}}{signing_key}
      messageTemplate: |
        Automated image update

        {{{{range .Changed.Changes}}}}- {{{{.OldValue}}}} -> {{{{.NewValue}}}}
        {{{{end}}}}
    push: {{branch: main}}
  update: {{path: ./apps, strategy: Setters}}
{extra}""")
    return directory


@pytest.fixture
def genv(tmp_path: Path) -> dict[str, str]:
    return git_env(tmp_path / "git-home")


@pytest.fixture
def http_remote(tmp_path: Path) -> Iterator[GitHttpServer]:
    with GitHttpServer(tmp_path / "srv", username="bot", password=GIT_PASSWORD) as server:
        yield server


@pytest.fixture
def image(registry_anonymous: RegistryServer, repo: Callable[[str], str]) -> str:
    name = repo("org/app")
    registry_anonymous.push_tags(name, ["1.0.0", "1.1.0", "latest"])
    return f"{registry_anonymous.host}/{name}"


def imagebot(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def remote_log(url: str, where: Path, env: dict[str, str]) -> tuple[str, str]:
    """(the branch's commit subjects, apps/app.yaml) as a fresh clone sees them."""
    if where.exists():
        subprocess.run(["rm", "-rf", str(where)], check=True)
    git("clone", "-q", url, str(where), cwd=where.parent, env=env)
    return git("log", "--format=%s", cwd=where, env=env), (where / "apps" / "app.yaml").read_text()


def ssh_key(path: Path) -> tuple[str, str]:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bot", "-f", str(path)], check=True)
    return path.read_text(), path.with_suffix(".pub").read_text()


def test_signed_templated_commit_over_smart_http_then_a_no_op(
    tmp_path: Path, image: str, http_remote: GitHttpServer, genv: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_bare(http_remote.root / "gitops.git", {"apps/app.yaml": MANIFEST.format(image=image)}, env=genv)
    secrets = tmp_path / "secrets"
    (secrets / "git").mkdir(parents=True)
    (secrets / "git" / "username").write_text("bot")
    (secrets / "git" / "password").write_text(GIT_PASSWORD)
    private, public = ssh_key(tmp_path / "signing")
    (secrets / "signing").mkdir()
    (secrets / "signing" / "identity").write_text(private)
    config = policies(tmp_path / "policies", image=image, url=http_remote.url("gitops.git"),
                      secret="git", signing="signing")
    argv = ["run", "--config", str(config), "--secrets-dir", str(secrets),
            "--state", str(tmp_path / "state.db"), "--workdir", str(tmp_path / "work")]

    code, out, err = imagebot(capsys, *argv)

    assert code == 0, err
    assert "changed 1 field in 1 file; committed" in out
    assert "flux-system/none" in out
    subjects, text = remote_log(http_remote.url_with_credentials("gitops.git"), tmp_path / "check", genv)
    assert subjects.splitlines() == ["Automated image update", "initial"]
    assert text == MANIFEST.format(image=image).replace(":1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}",
                                                        ":1.1.0 # {\"$imagepolicy\": \"flux-system:app\"}")
    body = git("log", "-1", "--format=%B", cwd=tmp_path / "check", env=genv)
    assert f"- {image}:1.0.0 -> {image}:1.1.0" in body
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f'bot@example.com namespaces="git" {public}')
    shown = git("-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={allowed}",
                "log", "-1", "--show-signature", cwd=tmp_path / "check", env=genv)
    assert 'Good "git" signature for bot@example.com' in shown

    code, out2, err2 = imagebot(capsys, *argv)

    assert code == 0, err2
    assert "nothing to change" in out2
    subjects, _ = remote_log(http_remote.url_with_credentials("gitops.git"), tmp_path / "check", genv)
    assert len(subjects.splitlines()) == 2
    for text in (out, err, out2, err2):
        assert GIT_PASSWORD not in text
        assert private.splitlines()[1] not in text


def test_dry_run_prints_diff_and_message_and_touches_nothing(
    tmp_path: Path, image: str, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    bare = make_bare(tmp_path / "gitops.git", {"apps/app.yaml": MANIFEST.format(image=image)}, env=genv)
    config = policies(tmp_path / "policies", image=image, url=f"file://{bare}", secret=None)

    code, out, err = imagebot(capsys, "run", "--dry-run", "--config", str(config), "--state",
                              str(tmp_path / "s.db"), "--workdir", str(tmp_path / "work"))

    assert code == 0, err
    assert f"-          image: {image}:1.0.0 #" in out
    assert f"+          image: {image}:1.1.0 #" in out
    assert "--- commit message ---\nAutomated image update" in out
    assert git("log", "--format=%s", "main", cwd=bare, env=genv).splitlines() == ["initial"]


def test_plan_table_shows_current_selected_and_why(
    tmp_path: Path, image: str, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    bare = make_bare(tmp_path / "gitops.git", {"apps/app.yaml": MANIFEST.format(image=image)}, env=genv)
    config = policies(tmp_path / "policies", image=image, url=f"file://{bare}", secret=None)

    code, out, err = imagebot(capsys, "plan", "--config", str(config), "--state", str(tmp_path / "s.db"),
                              "--workdir", str(tmp_path / "work"))

    assert code == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("  flux-system/")}
    assert rows["flux-system/app"][1:3] == ["1.0.0", "1.1.0"]
    assert rows["flux-system/none"][1:3] == ["1.0.0", "-"]
    assert "would change 1 field in 1 file" in out
    assert git("log", "--format=%s", "main", cwd=bare, env=genv).splitlines() == ["initial"]


def test_pull_request_is_opened_once_and_updated_in_place(
    tmp_path: Path, image: str, registry_anonymous: RegistryServer, genv: dict[str, str],
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    github = FakeGitHub().start()
    try:
        bare = make_bare(tmp_path / "gitops.git", {"apps/app.yaml": MANIFEST.format(image=image)}, env=genv)
        pull_request = f"""---
apiVersion: imagebot.dev/v1alpha1
kind: PullRequest
metadata: {{name: apps, namespace: flux-system}}
spec:
  labels: [images]
  forge: {{apiURL: '{github.base_url}', repository: org/gitops}}
"""
        config = policies(tmp_path / "policies", image=image, url=f"file://{bare}", secret=None,
                          extra=pull_request)
        monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
        argv = ["run", "--config", str(config), "--state", str(tmp_path / "s.db"),
                "--workdir", str(tmp_path / "work")]
        registry_anonymous.push_image(image.split("/", 1)[1], "1.1.0",
                                      labels={"org.opencontainers.image.source": "https://github.com/org/app"})

        code, out, err = imagebot(capsys, *argv)

        assert code == 0, err
        assert "opened pull request #1" in out
        assert "https://github.com/org/app" in github.pulls[1].body
        assert [p.head for p in github.pulls.values()] == ["imagebot/apps"]
        assert git("log", "--format=%s", "main", cwd=bare, env=genv).splitlines() == ["initial"]
        assert "1.1.0" in git("show", "imagebot/apps:apps/app.yaml", cwd=bare, env=genv)

        code, out2, err2 = imagebot(capsys, *argv)  # nothing new: the branch already carries it
        assert code == 0, err2

        registry_anonymous.push_tags(image.split("/", 1)[1], ["1.2.0"])
        code, out3, err3 = imagebot(capsys, *argv)

        assert code == 0, err3
        assert "updated pull request #1" in out3
        assert len(github.pulls) == 1
        assert "1.2.0" in github.pulls[1].title + github.pulls[1].body
        assert "1.2.0" in git("show", "imagebot/apps:apps/app.yaml", cwd=bare, env=genv)
        for text in (out, err, out2, err2, out3, err3):
            assert GITHUB_TOKEN not in text
    finally:
        github.stop()


def test_per_image_grouping_opens_one_pull_request_per_policy(
    tmp_path: Path, registry_anonymous: RegistryServer, repo: Callable[[str], str], genv: dict[str, str],
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = repo("org/app"), repo("org/api")
    registry_anonymous.push_tags(first, ["1.0.0", "1.1.0"])
    registry_anonymous.push_tags(second, ["2.0.0", "2.3.0"])
    host = registry_anonymous.host
    manifest = (f"a: {host}/{first}:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n"
                f"b: {host}/{second}:2.0.0 # {{\"$imagepolicy\": \"flux-system:api\"}}\n")
    bare = make_bare(tmp_path / "gitops.git", {"apps/app.yaml": manifest}, env=genv)
    github = FakeGitHub().start()
    try:
        extra = f"""---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: api, namespace: flux-system}}
spec: {{image: {host}/{second}, interval: 5m}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: api, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: api}}
  policy: {{semver: {{range: '>=2.0.0'}}}}
---
apiVersion: imagebot.dev/v1alpha1
kind: PullRequest
metadata: {{name: apps, namespace: flux-system}}
spec:
  group: per-image
  forge: {{apiURL: '{github.base_url}', repository: org/gitops}}
"""
        config = policies(tmp_path / "policies", image=f"{host}/{first}", url=f"file://{bare}", secret=None,
                          extra=extra)
        monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)

        code, out, err = imagebot(capsys, "run", "--config", str(config), "--state", str(tmp_path / "s.db"),
                                  "--workdir", str(tmp_path / "work"))

        assert code == 0, err
        assert out.count("opened pull request #") == 2
        assert sorted(p.head for p in github.pulls.values()) == ["imagebot/apps/api", "imagebot/apps/app"]
        app_branch = git("show", "imagebot/apps/app:apps/app.yaml", cwd=bare, env=genv)
        api_branch = git("show", "imagebot/apps/api:apps/app.yaml", cwd=bare, env=genv)
        assert f"{first}:1.1.0" in app_branch and f"{second}:2.0.0" in app_branch
        assert f"{first}:1.0.0" in api_branch and f"{second}:2.3.0" in api_branch
    finally:
        github.stop()


def test_in_place_in_an_existing_checkout(
    tmp_path: Path, image: str, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    bare = make_bare(tmp_path / "gitops.git", {"apps/app.yaml": MANIFEST.format(image=image)}, env=genv)
    checkout = tmp_path / "checkout"
    git("clone", "-q", str(bare), str(checkout), cwd=tmp_path, env=genv)
    config = policies(tmp_path / "policies", image=image, url="https://github.com/example/elsewhere", secret=None)

    code, out, err = imagebot(capsys, "run", "--repo", str(checkout), "--config", str(config),
                              "--state", str(tmp_path / "s.db"))

    assert code == 0, err
    assert "committed" in out
    assert git("log", "--format=%s", "main", cwd=bare, env=genv).splitlines() == [
        "Automated image update", "initial"]
    # published from objects: the checkout itself is left as found (git pull brings the change)
    assert "1.1.0" not in (checkout / "apps" / "app.yaml").read_text()
    assert git("status", "--porcelain", cwd=checkout, env=genv) == ""
    assert "1.1.0" in git("show", "origin/main:apps/app.yaml", cwd=checkout, env=genv)


def test_repushed_tag_is_reported_and_digest_pins_follow_it(
    tmp_path: Path, registry_anonymous: RegistryServer, repo: Callable[[str], str], genv: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = repo("org/latest")
    first = registry_anonymous.push_image(name, "1.1.0", created="2024-01-01T00:00:00Z")
    image = f"{registry_anonymous.host}/{name}"
    manifest = f"image: {image}:1.1.0@{first} # {{\"$imagepolicy\": \"flux-system:app\"}}\n"
    bare = make_bare(tmp_path / "gitops.git", {"apps/app.yaml": manifest}, env=genv)
    config = policies(tmp_path / "policies", image=image, url=f"file://{bare}", secret=None)
    text = (config / "all.yaml").read_text().replace(
        "policy: {semver: {range: '>=1.0.0'}}", "policy: {semver: {range: '>=1.0.0'}}\n  digestReflectionPolicy: Always",
        1)
    (config / "all.yaml").write_text(text)
    argv = ["run", "--config", str(config), "--state", str(tmp_path / "s.db"), "--workdir", str(tmp_path / "w")]

    code, out, err = imagebot(capsys, *argv)
    assert code == 0, err
    assert "nothing to change" in out.split("automation")[1]

    second = registry_anonymous.push_image(name, "1.1.0", created="2025-06-01T00:00:00Z")
    assert second != first
    code, out, err = imagebot(capsys, *argv)

    assert code == 0, err
    assert f"WARNING flux-system/app: tag 1.1.0 was re-pushed: it pointed at {first}" in out
    written = git("show", "main:apps/app.yaml", cwd=bare, env=genv)
    assert written == f"image: {image}:1.1.0@{second} # {{\"$imagepolicy\": \"flux-system:app\"}}\n"


def _digests_known(state_path: Path, image: str) -> dict[str, bool]:
    from imagebot import state
    from imagebot.model import images

    with state.StateStore(state_path) as store:
        records = store.records(images.parse_image_repo(image).canonical)
    return {tag: record.last_digest is not None for tag, record in records.items()}


@pytest.mark.parametrize(
    ("mode", "resolved"),
    [
        # 'app' selects 1.1.0 over the 1.0.0 in the file; 'none' selects nothing, its field holds
        # 1.0.0: a tag about to be replaced, or kept by no selection, decides nothing (Flux reads
        # the digest of the selected tag only)
        pytest.param([], {"1.1.0"}, id="default-selected-only"),
        pytest.param(["--digests", "new"], {"1.1.0"}, id="new-is-the-old-name-of-selected"),
        pytest.param(["--digests", "all"], {"1.0.0", "1.1.0", "latest"}, id="all"),
        pytest.param(["--digests", "none"], set(), id="none"),
    ],
)
def test_a_first_plan_looks_up_only_the_digests_it_uses(
    tmp_path: Path, image: str, genv: dict[str, str], capsys: pytest.CaptureFixture[str],
    mode: list[str], resolved: set[str],
) -> None:
    """Issue 9: a cold plan used to HEAD every tag of every repository (and time out at scale)."""
    bare = make_bare(tmp_path / "gitops.git", {"apps/app.yaml": MANIFEST.format(image=image)}, env=genv)
    config = policies(tmp_path / "policies", image=image, url=f"file://{bare}", secret=None)

    code, out, err = imagebot(capsys, "plan", "--config", str(config), "--state", str(tmp_path / "s.db"),
                              "--workdir", str(tmp_path / "work"), *mode)

    assert code == 0, err
    assert "would change 1 field in 1 file" in out
    known = _digests_known(tmp_path / "s.db", image)
    assert set(known) == {"1.0.0", "1.1.0", "latest"}  # every listed tag is remembered (first seen)
    assert {tag for tag, has_digest in known.items() if has_digest} == resolved


def test_pipeline_run_is_the_whole_run_without_a_command_line(
    tmp_path: Path, image: str, genv: dict[str, str],
) -> None:
    """The entry every runtime calls: typed options in, a report out; one automation whose
    repository is gone is a failure in the report while the other one commits."""
    from imagebot import config as config_module
    from imagebot import pipeline, state

    bare = make_bare(tmp_path / "gitops.git", {"apps/app.yaml": MANIFEST.format(image=image)}, env=genv)
    broken = """\
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: gone, namespace: flux-system}
spec: {url: 'file:///nonexistent/gone.git', ref: {branch: main}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {name: gone, namespace: flux-system}
spec:
  sourceRef: {kind: GitRepository, name: gone}
  git: {commit: {author: {name: imagebot, email: bot@example.com}}, push: {branch: main}}
  update: {path: ./apps, strategy: Setters}
"""
    directory = policies(tmp_path / "policies", image=image, url=f"file://{bare}", secret=None, extra=broken)
    cfg = config_module.load(directory)

    with state.StateStore(tmp_path / "s.db") as store:
        report = pipeline.run(
            cfg, secrets=config_module.SecretStore(tmp_path / "no-secrets"), state=store,
            automations=[cfg.automations[k] for k in sorted(cfg.automations)],
            options=pipeline.RunOptions(workdir=tmp_path / "work"),
        )

    assert [str(r.automation) for r in report.automations] == ["flux-system/apps"]
    assert report.automations[0].revision is not None
    assert [(f.kind, str(f.key)) for f in report.failures] == [("automation", "flux-system/gone")]
    assert str(report.failures[0]).startswith("flux-system/gone: ")
    assert not report.ok
    assert git("log", "--format=%s", "main", cwd=bare, env=genv).splitlines()[0] == "Automated image update"
