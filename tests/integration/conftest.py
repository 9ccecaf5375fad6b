"""Real registries for integration tests: one ``docker-registry`` per auth mode per test run.

Session-scoped, so each pytest-xdist worker starts its own (lazily, on first use) and stops it
by PID at the end. Tests share a registry, so each test pushes to repositories of its own:
use the ``repo`` factory for unique names. When a test fails, the tail of every registry log it
used is attached to the report.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator, Iterator

import pytest

from testing.registry import Mode, RegistryServer

MODES: tuple[Mode, ...] = ("anonymous", "htpasswd", "token")


def _serve(factory: pytest.TempPathFactory, mode: Mode) -> Iterator[RegistryServer]:
    with RegistryServer(factory.mktemp(f"registry-{mode}"), mode) as registry:
        yield registry


@pytest.fixture(scope="session")
def registry_anonymous(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """No auth at all."""
    yield from _serve(tmp_path_factory, "anonymous")


@pytest.fixture(scope="session")
def registry_htpasswd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """Basic auth; users ``alice`` and ``bob`` (``registry.users``), any user may push."""
    yield from _serve(tmp_path_factory, "htpasswd")


@pytest.fixture(scope="session")
def registry_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """Bearer auth with an in-process token server: alice everything, bob pull, anonymous
    pull on ``public/*`` only."""
    yield from _serve(tmp_path_factory, "token")


@pytest.fixture(params=MODES)
def registry(request: pytest.FixtureRequest) -> RegistryServer:
    """Each auth mode in turn."""
    server: RegistryServer = request.getfixturevalue(f"registry_{request.param}")
    return server


@pytest.fixture
def repo() -> Callable[[str], str]:
    """``repo("library/app")`` -> ``"library/app-1a2b3c4d"``: a name no other test uses."""

    def make(prefix: str = "library/app") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, RegistryServer):
                tail = "\n".join(line[:400] for line in value.log_text().splitlines()[-30:])
                report.sections.append((f"registry log ({value.mode}, {value.url})", tail))
    return report
