"""imagebot.git against real git servers: smart HTTP (``git http-backend`` + Basic auth) and SSH
(a private ``sshd`` with generated keys).

Aspects: shallow clone and push per transport; refused credentials, a missing repository and an
unreachable server become classified errors; SSH host keys are checked (known_hosts accepted,
unknown or wrong keys refused unless ``insecure_skip_host_key``); and no secret (password, key
text, passphrase) appears in any error or log line.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

import pygit2
import pytest
from pygit2.enums import ConfigLevel

from imagebot import errors
from imagebot.git import Workspace
from imagebot.model import gitauth
from testing.gitrepos import git, git_env, make_bare, write_files
from testing.gitserver import GitHttpServer
from testing.gitsshd import SshServer, generate_key
from tests.git.helpers import worktree_files

pytestmark = pytest.mark.integration


class Author(TypedDict):
    author_name: str
    author_email: str


AUTHOR: Author = {"author_name": "imagebot", "author_email": "bot@example.com"}
FILES = {"apps/web/deploy.yaml": "image: web:1.0.0\n", "README.md": "fleet\n"}


@pytest.fixture(scope="module", autouse=True)
def isolated_git_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """libgit2 must not read the machine's ~/.gitconfig or /etc/gitconfig."""
    empty = str(tmp_path_factory.mktemp("no-git-config"))
    levels = (ConfigLevel.GLOBAL, ConfigLevel.XDG, ConfigLevel.SYSTEM)
    saved = {level: pygit2.settings.search_path[level] for level in levels}
    for level in levels:
        pygit2.settings.search_path[level] = empty
    yield
    for level, value in saved.items():
        pygit2.settings.search_path[level] = value


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHttpServer]:
    with GitHttpServer(tmp_path_factory.mktemp("git-http") / "srv", password="http-Secret-51x") as server:
        yield server


@pytest.fixture(scope="module")
def ssh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    with SshServer(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture
def bare(http: GitHttpServer, tmp_path: Path) -> Path:
    """A fresh bare repo below the HTTP server's root (SSH serves it by absolute path)."""
    return make_bare(http.root / f"fleet-{uuid.uuid4().hex[:8]}.git", FILES, env=git_env(tmp_path / "home"))


def ssh_auth(server: SshServer, **overrides: object) -> gitauth.SshKeyAuth:
    fields: dict[str, object] = {
        "private_key": server.client_key,
        "username": server.user,
        "known_hosts": server.known_hosts,
    }
    return gitauth.SshKeyAuth(**(fields | overrides))  # type: ignore[arg-type]


def head_of(bare: Path, tmp_path: Path) -> str:
    return git("rev-parse", "main", cwd=bare, env=git_env(tmp_path / "home")).strip()


# -- smart HTTP ---------------------------------------------------------------------------------


def test_http_shallow_clone_commit_push(http: GitHttpServer, bare: Path, tmp_path: Path) -> None:
    auth = gitauth.BasicAuth(http.username, http.password)
    ws = Workspace.clone(http.url(bare.name), auth=auth, workdir=tmp_path / "w")
    assert ws.is_shallow
    write_files(ws.path, {"apps/web/deploy.yaml": "image: web:2.0.0\n"})
    ws.commit("bump", files=worktree_files(ws), **AUTHOR)
    assert ws.push().sha == head_of(bare, tmp_path)


def test_http_token_auth_is_sent_as_basic(http: GitHttpServer, bare: Path, tmp_path: Path) -> None:
    auth = gitauth.TokenAuth(token=http.password, username=http.username)
    assert Workspace.clone(http.url(bare.name), auth=auth, workdir=tmp_path / "w").branch == "main"


@pytest.mark.parametrize(
    ("auth", "match"),
    [
        pytest.param(gitauth.BasicAuth("bot", "wrong-Pw-93kd"), "credentials refused", id="wrong-password"),
        pytest.param(None, "none are configured", id="no-credentials"),
    ],
)
def test_http_auth_failures_are_clear(
    http: GitHttpServer, bare: Path, tmp_path: Path, auth: gitauth.GitAuth | None, match: str
) -> None:
    with pytest.raises(errors.GitAuthError, match=match) as caught:
        Workspace.clone(http.url(bare.name), auth=auth, workdir=tmp_path / "w")
    assert isinstance(caught.value, errors.PermanentError)
    assert "wrong-Pw-93kd" not in str(caught.value) and http.password not in str(caught.value)


def test_http_missing_repository(http: GitHttpServer, tmp_path: Path) -> None:
    auth = gitauth.BasicAuth(http.username, http.password)
    with pytest.raises(errors.GitError, match="404") as caught:
        Workspace.clone(http.url("nope.git"), auth=auth, workdir=tmp_path / "w")
    assert not isinstance(caught.value, errors.GitAuthError)


def test_unreachable_server_is_temporary(tmp_path: Path) -> None:
    with GitHttpServer(tmp_path / "gone") as server:
        url = server.url("fleet.git")
    with pytest.raises(errors.GitUnavailable) as caught:
        Workspace.clone(url, auth=gitauth.BasicAuth("bot", "pw-Gone-1"), workdir=tmp_path / "w")
    assert isinstance(caught.value, errors.TemporaryError)


def test_credentials_in_the_url_never_reach_a_message(http: GitHttpServer, tmp_path: Path) -> None:
    url = http.url_with_credentials("missing.git")
    with pytest.raises(errors.GitError) as caught:
        Workspace.clone(url, workdir=tmp_path / "w")
    assert http.password not in str(caught.value)
    assert f"http://127.0.0.1:{http.port}/missing.git" in str(caught.value)


# -- SSH ----------------------------------------------------------------------------------------


def test_ssh_with_known_hosts_clones_and_pushes(ssh: SshServer, bare: Path, tmp_path: Path) -> None:
    ws = Workspace.clone(ssh.url(bare), auth=ssh_auth(ssh), workdir=tmp_path / "w")
    assert ws.is_shallow
    write_files(ws.path, {"apps/web/deploy.yaml": "image: web:2.0.0\n"})
    ws.commit("bump over ssh", files=worktree_files(ws), **AUTHOR)
    assert ws.push().sha == head_of(bare, tmp_path)


def test_ssh_key_with_a_passphrase(ssh: SshServer, bare: Path, tmp_path: Path) -> None:
    private, public = generate_key(tmp_path / "locked", passphrase="key-Pass-77")
    authorized = ssh.root / "authorized_keys"
    authorized.write_text(authorized.read_text() + public + "\n")
    auth = ssh_auth(ssh, private_key=private, passphrase="key-Pass-77")
    assert Workspace.clone(ssh.url(bare), auth=auth, workdir=tmp_path / "w").branch == "main"


@pytest.mark.parametrize(
    "known_hosts",
    [
        pytest.param(None, id="not-in-users-known-hosts"),
        pytest.param("", id="empty"),
        pytest.param("wrong-key", id="wrong-key"),
    ],
)
def test_ssh_untrusted_host_key_is_refused(
    ssh: SshServer, bare: Path, tmp_path: Path, known_hosts: str | None
) -> None:
    if known_hosts == "wrong-key":
        _, other = generate_key(tmp_path / "impostor")
        known_hosts = f"[127.0.0.1]:{ssh.port} {' '.join(other.split()[:2])}\n"
    with pytest.raises(errors.GitAuthError, match="not trusted"):
        Workspace.clone(ssh.url(bare), auth=ssh_auth(ssh, known_hosts=known_hosts), workdir=tmp_path / "w")


def test_ssh_insecure_skip_host_key_only_when_asked(ssh: SshServer, bare: Path, tmp_path: Path) -> None:
    auth = ssh_auth(ssh, known_hosts=None, insecure_skip_host_key=True)
    assert Workspace.clone(ssh.url(bare), auth=auth, workdir=tmp_path / "w").branch == "main"


def test_ssh_wrong_client_key_is_an_auth_error(ssh: SshServer, bare: Path, tmp_path: Path) -> None:
    stranger, _ = generate_key(tmp_path / "stranger")
    with pytest.raises(errors.GitAuthError) as caught:
        Workspace.clone(ssh.url(bare), auth=ssh_auth(ssh, private_key=stranger), workdir=tmp_path / "w")
    assert "PRIVATE KEY" not in str(caught.value)


# -- secrets ------------------------------------------------------------------------------------


def test_no_secret_in_errors_or_logs(
    http: GitHttpServer, ssh: SshServer, bare: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [http.password, "wrong-Pw-93kd", ssh.client_key.splitlines()[1]]
    messages: list[str] = []
    attempts = [
        (http.url(bare.name), gitauth.BasicAuth(http.username, http.password)),
        (http.url(bare.name), gitauth.BasicAuth(http.username, "wrong-Pw-93kd")),
        (http.url_with_credentials("missing.git"), None),
        (ssh.url(bare), ssh_auth(ssh)),
        (ssh.url(bare), ssh_auth(ssh, known_hosts="")),
    ]
    for n, (url, auth) in enumerate(attempts):
        try:
            ws = Workspace.clone(url, auth=auth, workdir=tmp_path / f"w{n}")
            write_files(ws.path, {"README.md": f"run {n}\n"})
            ws.commit(f"run {n}", files=worktree_files(ws), **AUTHOR)
            ws.push()
            messages.append(repr(auth))
        except errors.ImagebotError as exc:
            messages.extend([str(exc), repr(exc), str(exc.__cause__ or "")])
    everything = "\n".join([*messages, caplog.text])
    assert everything.strip()
    for secret in secrets:
        assert secret not in everything
