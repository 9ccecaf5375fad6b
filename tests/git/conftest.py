"""Fixtures for the git layer: a hermetic git config, bare repos, and real remotes.

* ``isolated_git_config`` (autouse, session) points libgit2's global/XDG/system config search
  paths at an empty dir, so the machine's ``~/.gitconfig`` and ``/etc/gitconfig`` cannot leak in;
* ``genv`` is an environment for the ``git`` CLI (the "human" and the verifier) with its own
  ``GIT_CONFIG_GLOBAL`` and a fixed author;
* ``http_server`` is a smart-HTTP server (``git http-backend``, Basic auth), started once per
  xdist worker and stopped at the end; ``remote`` makes a fresh bare repo reachable over
  ``file://`` or smart HTTP (parametrized by the ``transport`` of the requesting test).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pygit2
import pytest
from pygit2.enums import ConfigLevel

from imagebot.model import gitauth
from testing.gitrepos import git_env, make_bare
from testing.gitserver import GitHttpServer

FILES: Mapping[str, str] = {
    "apps/web/deploy.yaml": 'image: web:1.0.0 # {"$imagepolicy": "ns:web"}\n',
    "apps/api/deploy.yaml": 'image: api:1.0.0 # {"$imagepolicy": "ns:api"}\n',
    "README.md": "fleet\n",
}


@pytest.fixture(scope="session", autouse=True)
def isolated_git_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    empty = str(tmp_path_factory.mktemp("no-git-config"))
    levels = (ConfigLevel.GLOBAL, ConfigLevel.XDG, ConfigLevel.SYSTEM)
    saved = {level: pygit2.settings.search_path[level] for level in levels}
    for level in levels:
        pygit2.settings.search_path[level] = empty
    yield
    for level, value in saved.items():
        pygit2.settings.search_path[level] = value


@pytest.fixture
def genv(tmp_path: Path) -> dict[str, str]:
    return git_env(tmp_path / "git-home")


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHttpServer]:
    with GitHttpServer(tmp_path_factory.mktemp("git-http") / "srv") as server:
        yield server


@dataclasses.dataclass(frozen=True)
class Remote:
    """A bare repo and how to reach it: ``url``/``auth`` for imagebot, ``cli_url`` for the git CLI."""

    bare: Path
    url: str
    auth: gitauth.GitAuth | None
    cli_url: str


RemoteFactory = Callable[..., Remote]


@pytest.fixture(
    params=[pytest.param("file", id="file"), pytest.param("http", id="http", marks=pytest.mark.integration)]
)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_remote(request: pytest.FixtureRequest, tmp_path: Path, genv: dict[str, str]) -> RemoteFactory:
    """``make_remote("http", files={...}, tags=("v1.0.0",))`` → a fresh :class:`Remote`."""

    def make(kind: str, *, files: Mapping[str, str | bytes] = FILES, tags: tuple[str, ...] = ()) -> Remote:
        name = f"fleet-{uuid.uuid4().hex[:8]}.git"
        if kind == "file":
            bare = make_bare(tmp_path / "remotes" / name, files, env=genv, tags=tags)
            url = f"file://{bare}"
            return Remote(bare, url, None, url)
        server: GitHttpServer = request.getfixturevalue("http_server")
        bare = make_bare(server.root / name, files, env=genv, tags=tags)
        auth = gitauth.BasicAuth(server.username, server.password)
        return Remote(bare, server.url(name), auth, server.url_with_credentials(name))

    return make


@pytest.fixture
def remote(transport: str, make_remote: RemoteFactory) -> Remote:
    return make_remote(transport)
