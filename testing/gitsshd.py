"""A private ``sshd`` on a free loopback port serving git over SSH, for tests.

:class:`SshServer` generates a host key and a client key (ed25519) under its own temp root,
writes an ``sshd_config`` there (the client key is the only authorized key, no passwords, no
PAM), runs ``sshd -D -e -f <config>`` as the current user and stops it by PID. Sessions get a
hermetic git config through ``SetEnv``. Used by ``tests/git`` fixtures; see ``docs/git.md``.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from testing import processes

__all__ = ["SshServer", "SshStartError", "generate_key"]

_STARTUP_ATTEMPTS = 3  # the free port we picked can be taken before sshd binds it


class SshStartError(RuntimeError):
    """sshd did not come up; the message ends with its log."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def generate_key(path: Path, *, comment: str = "imagebot-test", passphrase: str = "") -> tuple[str, str]:
    """An ed25519 key pair at ``path``/``path.pub``; returns (private text, public line)."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path.read_text(), path.with_suffix(".pub").read_text().strip()


class SshServer:
    """``with SshServer(tmp) as ssh: ssh.url(repo_path); ssh.known_hosts; ssh.client_key``."""

    def __init__(self, root: Path, *, startup_timeout: float = 10.0) -> None:
        self.root = root
        self.user = getpass.getuser()
        self.startup_timeout = startup_timeout
        root.mkdir(parents=True, exist_ok=True)
        self.client_key, self.client_pub = generate_key(root / "client_ed25519", comment="client")
        _, self.host_pub = generate_key(root / "host_ed25519", comment="host")
        (root / "authorized_keys").write_text(self.client_pub + "\n")
        home = root / "git-home"
        home.mkdir(exist_ok=True)
        (home / ".gitconfig").touch()
        self._git_config = home / ".gitconfig"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log = root / "sshd.log"

    @property
    def known_hosts(self) -> str:
        """A known_hosts text that trusts exactly this server's host key."""
        key_type, key = self.host_pub.split()[:2]
        return f"[127.0.0.1]:{self.port} {key_type} {key}\n"

    def url(self, repo: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{repo.resolve()}"

    def _write_config(self) -> Path:
        config = self.root / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.root / 'host_ed25519'}",
                    f"PidFile {self.root / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.root / 'authorized_keys'}",
                    "StrictModes no",  # the temp root sits below world-writable /tmp
                    "PermitRootLogin prohibit-password",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "PrintMotd no",
                    "LogLevel VERBOSE",
                    f"SetEnv GIT_CONFIG_GLOBAL={self._git_config} GIT_CONFIG_NOSYSTEM=1",
                    "",
                ]
            )
        )
        return config

    def _ready(self, deadline: float) -> bool:
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    if conn.recv(4).startswith(b"SSH-"):
                        return True
            except OSError:
                pass
            time.sleep(0.05)  # readiness poll
        return False

    def start(self) -> Self:
        binary = shutil.which("sshd") or "/usr/sbin/sshd"
        if not os.access(binary, os.X_OK):
            raise SshStartError("sshd is not installed (apt-get install openssh-server)")
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation dir
        for _ in range(_STARTUP_ATTEMPTS):
            self.port = _free_port()
            config = self._write_config()
            with self._log.open("ab") as log:
                self._process = subprocess.Popen(
                    [binary, "-D", "-e", "-f", str(config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL
                )
            if self._ready(time.monotonic() + self.startup_timeout):
                return self
            self.stop()
        raise SshStartError(f"sshd did not start:\n{self.log_text()[-2000:]}")

    def log_text(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            processes.stop(process)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
