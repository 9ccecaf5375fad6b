"""Fixtures of the fault suite: a fresh :class:`~tests.faults.fleet.Fleet` per test (its own two
registries, proxy and git remote, because the tests kill, restart and break them)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testing.certs import TLSFiles
from testing.faultproxy import FaultProxy
from testing.gitrepos import git_env
from testing.gitserver import GitHttpServer
from testing.registry import Mode, RegistryServer
from tests.faults.fleet import GIT_PASSWORD, Fleet

FleetFactory = Callable[..., Fleet]


@pytest.fixture
def make_fleet(tmp_path: Path) -> Iterator[FleetFactory]:
    with contextlib.ExitStack() as stack:

        def make(*, mode: Mode = "htpasswd", tls: bool | TLSFiles = False, proxied: bool = True,
                 a_extra: str = "") -> Fleet:
            a = stack.enter_context(RegistryServer(tmp_path / "registry-a", mode, tls=tls))
            b = stack.enter_context(RegistryServer(tmp_path / "registry-b", storage="inmemory"))
            proxy = stack.enter_context(FaultProxy(a.url, verify=a.ssl_context()))
            remote = stack.enter_context(GitHttpServer(tmp_path / "srv", username="bot", password=GIT_PASSWORD))
            fleet = Fleet(root=tmp_path / "fleet", a=a, b=b, proxy=proxy, remote=remote,
                          genv=git_env(tmp_path / "git-home"), a_host=proxy.host if proxied else a.host,
                          a_extra=a_extra)
            fleet.seed()
            return fleet

        yield make


@pytest.fixture
def fleet(make_fleet: FleetFactory) -> Fleet:
    return make_fleet()
