"""Sign a raw commit with OpenPGP (``gpg``) or SSH (``ssh-keygen -Y sign``), via the CLIs.

``sign(payload, key)`` returns the ASCII-armored signature that
``Repository.create_commit_with_signature`` stores in the commit's ``gpgsig`` header; git verifies
it with ``git verify-commit`` / ``git log --show-signature``. Called by
:mod:`imagebot.git._workspace`. Key material lives only in a private temporary directory for the
duration of one signature; passphrases travel through a pipe (gpg) or an askpass helper's
environment (ssh-keygen), never on a command line.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from imagebot import errors
from imagebot.model import gitauth

__all__ = ["sign"]

_TIMEOUT = 60.0


def sign(payload: str, key: gitauth.SigningKey) -> str:
    """The detached, armored signature of ``payload`` (the text of an unsigned commit)."""
    with tempfile.TemporaryDirectory(prefix="imagebot-sign-") as tmp:
        if isinstance(key, gitauth.GpgSigningKey):
            return _gpg(payload, key, Path(tmp))
        return _ssh(payload, key, Path(tmp))


def _run(
    argv: list[str],
    *,
    what: str,
    env: dict[str, str],
    data: bytes | None = None,
    pass_fds: tuple[int, ...] = (),
) -> bytes:
    try:
        done = subprocess.run(
            argv,
            input=data,
            stdin=None if data is not None else subprocess.DEVNULL,
            capture_output=True,
            env=env,
            pass_fds=pass_fds,
            timeout=_TIMEOUT,
            check=False,
            start_new_session=True,  # no controlling tty: ssh-keygen must use the askpass helper
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise errors.GitError(f"commit signing failed: cannot run {argv[0]}: {type(exc).__name__}") from exc
    if done.returncode != 0:
        # gpg/ssh-keygen print key ids and file names, never key material or passphrases
        last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise errors.GitError(f"commit signing failed ({what}): {last}")
    return done.stdout


def _gpg(payload: str, key: gitauth.GpgSigningKey, tmp: Path) -> str:
    env = dict(os.environ)
    if key.armored is None:
        return _gpg_sign(payload, key, key.key_id, env)
    home = tmp / "gnupg"
    home.mkdir(mode=0o700)
    env["GNUPGHOME"] = str(home)
    try:
        _run(["gpg", "--batch", "--import"], what="gpg --import", data=key.armored.encode(), env=env)
        user = key.key_id
        if user is None:
            listing = _run(
                ["gpg", "--batch", "--with-colons", "--list-secret-keys"],
                what="gpg --list-secret-keys",
                env=env,
            ).decode()
            user = next((f.split(":")[9] for f in listing.splitlines() if f.startswith("fpr:")), None)
        return _gpg_sign(payload, key, user, env)
    finally:
        # gpg started an agent for this throwaway home; do not leave it running
        subprocess.run(
            ["gpgconf", "--kill", "all"], env=env, capture_output=True, check=False, timeout=_TIMEOUT
        )


def _gpg_sign(payload: str, key: gitauth.GpgSigningKey, user: str | None, env: dict[str, str]) -> str:
    argv = ["gpg", "--batch", "--no-tty", "--detach-sign", "--armor"]
    if user:
        argv += ["--local-user", user]
    if key.passphrase is None:
        return _run(argv, what="gpg --detach-sign", data=payload.encode(), env=env).decode()
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, key.passphrase.encode() + b"\n")
    finally:
        os.close(write_end)
    try:
        argv += ["--pinentry-mode", "loopback", "--passphrase-fd", str(read_end)]
        signature = _run(argv, what="gpg --detach-sign", data=payload.encode(), env=env, pass_fds=(read_end,))
    finally:
        os.close(read_end)
    return signature.decode()


def _ssh(payload: str, key: gitauth.SshSigningKey, tmp: Path) -> str:
    key_file = tmp / "key"
    key_file.touch(mode=0o600)
    key_file.write_text(key.private_key if key.private_key.endswith("\n") else key.private_key + "\n")
    data = tmp / "commit"
    data.write_text(payload, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    if key.passphrase is not None:
        askpass = tmp / "askpass"
        askpass.write_text('#!/bin/sh\nprintf "%s\\n" "$IMAGEBOT_SIGNING_PASSPHRASE"\n')
        askpass.chmod(0o700)
        env |= {
            "SSH_ASKPASS": str(askpass),
            "SSH_ASKPASS_REQUIRE": "force",
            "DISPLAY": env.get("DISPLAY", ":0"),
            "IMAGEBOT_SIGNING_PASSPHRASE": key.passphrase,
        }
    _run(
        ["ssh-keygen", "-Y", "sign", "-q", "-n", "git", "-f", str(key_file), str(data)],
        what="ssh-keygen -Y sign",
        env=env,
    )
    return (tmp / "commit.sig").read_text(encoding="utf-8")
