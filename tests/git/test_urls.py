"""URL helpers and error translation: redaction, transport detection, cache paths, the error
classes libgit2 messages map to, and credentials that keep their secrets out of ``repr``.
"""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from imagebot import errors, git
from imagebot.git import _urls
from imagebot.git._errors import map_git_errors, rejection
from imagebot.model import gitauth
from imagebot.model.revisions import PullRequestRef, Revision


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "https://bot:s3cret@github.com/org/r.git", "https://github.com/org/r.git", id="user-pass"
        ),
        pytest.param(
            "https://ghp_token@github.com/org/r.git", "https://github.com/org/r.git", id="token-user"
        ),
        pytest.param("ssh://git@github.com/org/r.git", "ssh://git@github.com/org/r.git", id="ssh-user-kept"),
        pytest.param("ssh://git:pw@host/r.git", "ssh://host/r.git", id="ssh-password-dropped"),
        pytest.param("git@github.com:org/r.git", "git@github.com:org/r.git", id="scp-like"),
        pytest.param("/srv/git/r.git", "/srv/git/r.git", id="path"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert git.redact_url(url) == expected


@pytest.mark.parametrize(
    ("url", "local"),
    [
        pytest.param("/srv/r.git", True, id="abs-path"),
        pytest.param("relative/r.git", True, id="rel-path"),
        pytest.param("file:///srv/r.git", True, id="file-url"),
        pytest.param("https://h/r.git", False, id="https"),
        pytest.param("ssh://git@h/r.git", False, id="ssh"),
        pytest.param("git@h:org/r.git", False, id="scp-like"),
    ],
)
def test_is_local(url: str, local: bool) -> None:
    assert git.is_local(url) is local


def test_default_workdir_is_readable_stable_and_secret_free() -> None:
    a = git.default_workdir("https://bot:s3cret@github.com/org/fleet.git")
    b = git.default_workdir("https://github.com/org/fleet.git")
    assert a == b
    assert a.parent == Path(".imagebot/git")
    assert a.name.startswith("github.com-org-fleet-")
    assert git.default_workdir("https://github.com/org/other.git") != a


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        pytest.param("cannot push non-fastforwardable reference", errors.PushRejected, id="non-ff"),
        pytest.param("contains commits that are not present locally", errors.PushRejected, id="not-local"),
        pytest.param("unexpected http status code: 403", errors.GitAuthError, id="403"),
        pytest.param(
            "failed to connect to 127.0.0.1: Connection refused", errors.GitUnavailable, id="refused"
        ),
        pytest.param("unexpected http status code: 502", errors.GitUnavailable, id="502"),
        pytest.param("unexpected http status code: 404", errors.GitError, id="404"),
    ],
)
def test_libgit2_messages_are_classified(message: str, kind: type[errors.ImagebotError]) -> None:
    with pytest.raises(kind) as caught, map_git_errors("push", "https://u:pw-Z9@h/r.git", ("pw-Z9",)):
        raise pygit2.GitError(message + " (https://u:pw-Z9@h/r.git)")
    assert type(caught.value) is kind
    assert "pw-Z9" not in str(caught.value)
    assert caught.value.__cause__ is None  # the cause's own text held the secret: not chained


def test_clean_libgit2_errors_keep_their_cause() -> None:
    with pytest.raises(errors.GitError) as caught, map_git_errors("fetch", "https://h/r.git"):
        raise pygit2.GitError("reference 'refs/heads/x' not found")
    assert isinstance(caught.value.__cause__, pygit2.GitError)


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        pytest.param("non-fast-forward", errors.PushRejected, id="non-ff"),
        pytest.param("failed to update ref", errors.PushRejected, id="lost-lock-race"),
        pytest.param("pre-receive hook declined", errors.GitError, id="hook"),
        pytest.param("protected branch hook declined", errors.GitError, id="protected"),
    ],
)
def test_server_side_rejections(reason: str, kind: type[errors.ImagebotError]) -> None:
    error = rejection("https://h/r.git", "refs/heads/main", reason)
    assert type(error) is kind
    assert "refs/heads/main" in str(error)


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param(gitauth.BasicAuth("bot", "SECRET"), id="basic"),
        pytest.param(gitauth.TokenAuth("SECRET"), id="token"),
        pytest.param(gitauth.SshKeyAuth("SECRET", passphrase="SECRET"), id="ssh"),
        pytest.param(gitauth.GpgSigningKey(armored="SECRET", passphrase="SECRET"), id="gpg"),
        pytest.param(gitauth.SshSigningKey("SECRET", "SECRET"), id="ssh-signing"),
    ],
)
def test_credentials_keep_secrets_out_of_repr(auth: object) -> None:
    assert "SECRET" not in repr(auth)


def test_revision_values() -> None:
    assert str(Revision("main", "0123456789abcdef0123")) == "main@0123456789ab"
    assert PullRequestRef(7, "https://h/pr/7", created=True).number == 7


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://bot:s3%40cret@github.com/org/r.git", ("bot", "s3@cret"), id="user-pass"),
        pytest.param("https://ghp_token@github.com/org/r.git", ("ghp_token", ""), id="token-user"),
        pytest.param("https://github.com/org/r.git", None, id="none"),
        pytest.param("ssh://git@github.com/org/r.git", None, id="ssh-user-is-no-secret"),
        pytest.param("git@github.com:org/r.git", None, id="scp-like"),
    ],
)
def test_url_credentials(url: str, expected: tuple[str, str] | None) -> None:
    assert _urls.url_credentials(url) == expected
