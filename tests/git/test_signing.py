"""Signed commits: OpenPGP (armored key imported into a throwaway keyring) and SSH
(``ssh-keygen -Y sign``), with and without passphrases, verified by the git CLI; a wrong
passphrase fails cleanly without echoing it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from imagebot import errors
from imagebot.git import Workspace
from imagebot.model import gitauth
from testing.gitrepos import git, write_files
from testing.gitsshd import generate_key
from tests.git.conftest import RemoteFactory
from tests.git.helpers import AUTHOR, worktree_files

PASSPHRASE = "pass-Phr4se-q8"


def make_gpg_key(home: Path, *, passphrase: str | None) -> str:
    """A fresh ed25519 key in ``home``; returns the armored secret key."""
    home.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"}
    protection = f"Passphrase: {passphrase}" if passphrase else "%no-protection"
    spec = f"Key-Type: eddsa\nKey-Curve: ed25519\nName-Real: imagebot\nName-Email: bot@example.com\nExpire-Date: 0\n{protection}\n%commit\n"
    try:
        subprocess.run(
            ["gpg", "--batch", "--gen-key"], input=spec.encode(), env=env, check=True, capture_output=True
        )
        export = ["gpg", "--batch", "--armor", "--export-secret-keys"]
        if passphrase:
            export += ["--pinentry-mode", "loopback", "--passphrase", passphrase]
        return subprocess.run(export, env=env, check=True, capture_output=True).stdout.decode()
    finally:
        subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False, capture_output=True)


@pytest.fixture
def workspace(make_remote: RemoteFactory, tmp_path: Path) -> Workspace:
    ws = Workspace.clone(make_remote("file").url, workdir=tmp_path / "w")
    write_files(ws.path, {"apps/web/deploy.yaml": "image: web:2.0.0\n"})
    return ws


@pytest.mark.parametrize(
    "passphrase", [pytest.param(None, id="no-passphrase"), pytest.param(PASSPHRASE, id="passphrase")]
)
def test_gpg_signed_commit_verifies(
    workspace: Workspace, tmp_path: Path, genv: dict[str, str], passphrase: str | None
) -> None:
    keyring = tmp_path / "gnupg"
    armored = make_gpg_key(keyring, passphrase=passphrase)
    key = gitauth.GpgSigningKey(armored=armored, passphrase=passphrase)

    revision = workspace.commit("signed", files=worktree_files(workspace), signing_key=key, **AUTHOR)

    assert revision is not None
    env = genv | {"GNUPGHOME": str(keyring)}
    try:
        shown = git("log", "-1", "--show-signature", cwd=workspace.path, env=env)
        git("verify-commit", revision.sha, cwd=workspace.path, env=env)
        assert git("log", "-1", "--format=%G?", cwd=workspace.path, env=env).strip() == "G"
    finally:
        subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False, capture_output=True)
    assert 'Good signature from "imagebot <bot@example.com>"' in shown
    assert repr(key).count(armored[40:80]) == 0


@pytest.mark.parametrize(
    "passphrase", [pytest.param(None, id="no-passphrase"), pytest.param(PASSPHRASE, id="passphrase")]
)
def test_ssh_signed_commit_verifies(
    workspace: Workspace, tmp_path: Path, genv: dict[str, str], passphrase: str | None
) -> None:
    private, public = generate_key(tmp_path / "signing", passphrase=passphrase or "")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f'bot@example.com namespaces="git" {public}\n')

    revision = workspace.commit(
        "signed", files=worktree_files(workspace), signing_key=gitauth.SshSigningKey(private, passphrase), **AUTHOR
    )

    assert revision is not None
    ssh = ["-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={allowed}"]
    shown = git(*ssh, "log", "-1", "--show-signature", cwd=workspace.path, env=genv)
    git(*ssh, "verify-commit", revision.sha, cwd=workspace.path, env=genv)
    assert 'Good "git" signature for bot@example.com' in shown


def test_wrong_passphrase_fails_without_echoing_it(workspace: Workspace, tmp_path: Path) -> None:
    armored = make_gpg_key(tmp_path / "gnupg", passphrase=PASSPHRASE)
    wrong = "wrong-Secret-77"
    before = workspace.head
    with pytest.raises(errors.GitError, match="commit signing failed") as caught:
        workspace.commit(
            "signed", files=worktree_files(workspace),
            signing_key=gitauth.GpgSigningKey(armored=armored, passphrase=wrong), **AUTHOR
        )
    assert wrong not in str(caught.value) and PASSPHRASE not in str(caught.value)
    assert workspace.head == before


def test_unsigned_commit_has_no_signature(workspace: Workspace, genv: dict[str, str]) -> None:
    workspace.commit("plain", files=worktree_files(workspace), **AUTHOR)
    assert git("log", "-1", "--format=%G?", cwd=workspace.path, env=genv).strip() == "N"
