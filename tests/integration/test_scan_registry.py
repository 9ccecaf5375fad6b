"""``imagebot scan`` against real registries, one per auth mode (anonymous, htpasswd, token).

Aspects: tags come back sorted (descending byte order) whatever the server order, with
``.sig`` tags excluded by default and a custom ``exclusionList`` replacing the default; digests
equal the ones the test bed computed from the bytes it pushed (OCI image and index, Docker
schema 2 and manifest list); wrong credentials, anonymous access to a private repository and an
unknown repository each give one error line and exit 2 without leaking the password or a
traceback; ``tags: null`` is zero tags; a mirror serves a canonical ``ghcr.io`` name; a second
scan with the same state reports the same digests.

The contract under test is the CLI (``imagebot scan --json``), driven in-process through
``imagebot.cli.main`` except where the process boundary itself is the point.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from imagebot import cli
from testing.images import build_index
from testing.registry import RegistryServer

pytestmark = pytest.mark.integration

#: Tags in an order no sort produces; the registry stores them in its own order anyway.
APP_TAGS = ["1.1.0", "latest", "1.0.0", "1.10.0", "alpha", "1.2.0", "Zeta"]


# -- helpers ---------------------------------------------------------------------------------


def descending(tags: Sequence[str]) -> list[str]:
    return sorted(tags, key=str.encode, reverse=True)


def image_repository(
    name: str,
    image: str,
    *,
    secret: str | None = None,
    exclusion_list: Sequence[str] | None = None,
    insecure: bool = True,
) -> str:
    lines = [
        "apiVersion: image.toolkit.fluxcd.io/v1",
        "kind: ImageRepository",
        "metadata:",
        f"  name: {name}",
        "  namespace: flux-system",
        "spec:",
        f"  image: {image}",
        "  interval: 5m",
    ]
    if insecure:
        lines.append("  insecure: true")
    if secret is not None:
        lines.append(f"  secretRef: {{name: {secret}}}")
    if exclusion_list is not None:
        # JSON strings are valid YAML double-quoted scalars
        lines.append(f"  exclusionList: [{', '.join(json.dumps(e) for e in exclusion_list)}]")
    return "\n".join(lines) + "\n"


def registry_mirrors(mirrors: dict[str, list[str]]) -> str:
    lines = [
        "apiVersion: imagebot.dev/v1alpha1",
        "kind: RegistrySettings",
        "metadata: {name: mirrors}",
        "spec:",
        "  mirrors:",
    ]
    lines += [f"    {host}: [{', '.join(json.dumps(u) for u in urls)}]" for host, urls in mirrors.items()]
    return "\n".join(lines) + "\n"


def write_config(directory: Path, *documents: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "imagerepositories.yaml").write_text("---\n".join(documents))
    return directory


@dataclass
class Scan:
    code: int
    out: str
    err: str

    @property
    def results(self) -> dict[str, dict[str, object]]:
        parsed = json.loads(self.out)
        assert isinstance(parsed, list), self.out
        for item in parsed:
            assert {"name", "image", "tags", "digests", "error"} <= set(item), item
        return {item["name"]: item for item in parsed}

    def result(self, name: str = "flux-system/app") -> dict[str, object]:
        return self.results[name]


@dataclass
class Workspace:
    """A config dir, a secrets dir and a state path under ``tmp_path``."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "policies"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def state(self) -> Path:
        return self.root / "state" / "state.db"

    def argv(self, *extra: str) -> list[str]:
        return [
            "scan", "--config", str(self.config), "--secrets-dir", str(self.secrets),
            "--state", str(self.state), "--json", *extra,
        ]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    (tmp_path / "secrets").mkdir()
    return Workspace(tmp_path)


@pytest.fixture
def scan(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> Callable[..., Scan]:
    """Run ``imagebot scan --json`` in-process on ``ws``."""

    def run(*extra: str) -> Scan:
        capsys.readouterr()
        code = cli.main(ws.argv(*extra))
        captured = capsys.readouterr()
        return Scan(code, captured.out, captured.err)

    return run


def scan_subprocess(ws: Workspace, *extra: str) -> Scan:
    # the autouse clean_environ fixture already scrubbed os.environ; the child inherits that
    done = subprocess.run(
        [sys.executable, "-m", "imagebot", *ws.argv(*extra)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    return Scan(done.returncode, done.stdout, done.stderr)


def secret_for(registry: RegistryServer, ws: Workspace, user: str = "bob") -> str | None:
    """Write ``regcred`` for ``user`` unless the registry is anonymous; the secretRef name."""
    if registry.mode == "anonymous":
        return None
    registry.write_secret(ws.secrets, user)
    return "regcred"


@dataclass
class Seeded:
    repo: str
    digests: dict[str, str]
    """Every tag pushed, ``.sig`` included, with the digest the test bed computed."""

    @property
    def visible(self) -> dict[str, str]:
        return {t: d for t, d in self.digests.items() if not t.endswith(".sig")}


def seed_app(registry: RegistryServer, repo: str) -> Seeded:
    """Tags like registry-testbed.md §7's ``library/app``: OCI images, one Docker schema 2
    image, and a cosign-style signature tag."""
    digests = registry.push_tags(repo, APP_TAGS)
    digests["docker-v2"] = registry.push_image(repo, "docker-v2", fmt="docker")
    sig = "sha256-" + digests["1.0.0"].removeprefix("sha256:") + ".sig"
    digests[sig] = registry.push_image(repo, sig)
    return Seeded(repo, digests)


def seed_multi(registry: RegistryServer, repo: str) -> Seeded:
    """An OCI index with an attestation entry and a Docker manifest list."""
    oci = build_index(attestation=True, labels={"v": "2.0.0"})
    docker = build_index(fmt="docker", labels={"v": "1.0.0"})
    return Seeded(
        repo,
        {
            "2.0.0": registry.push_index(repo, "2.0.0", oci),
            "1.0.0": registry.push_index(repo, "1.0.0", docker),
        },
    )


def assert_one_line_error(result: dict[str, object]) -> str:
    error = result["error"]
    assert isinstance(error, str), result
    assert error.strip()
    assert "\n" not in error.strip(), error
    return error


# -- each auth mode: tags and digests --------------------------------------------------------


def test_lists_sorted_tags_and_digests(
    registry: RegistryServer, repo: Callable[[str], str], ws: Workspace, scan: Callable[..., Scan]
) -> None:
    app = seed_app(registry, repo("library/app"))
    multi = seed_multi(registry, repo("library/multi"))
    secret = secret_for(registry, ws)
    write_config(
        ws.config,
        image_repository("app", f"{registry.host}/{app.repo}", secret=secret),
        image_repository("multi", f"{registry.host}/{multi.repo}", secret=secret),
    )

    run = scan()

    assert run.code == 0, (run.out, run.err)
    got = run.result("flux-system/app")
    assert got["image"] == f"{registry.host}/{app.repo}"
    assert got["error"] is None
    assert got["tags"] == descending(list(app.visible))
    assert got["digests"] == app.visible
    got = run.result("flux-system/multi")
    assert got["error"] is None
    assert got["tags"] == ["2.0.0", "1.0.0"]
    assert got["digests"] == multi.digests  # the index/list digests, not a child's


def test_custom_exclusion_list_replaces_the_default(
    registry_anonymous: RegistryServer,
    repo: Callable[[str], str],
    ws: Workspace,
    scan: Callable[..., Scan],
) -> None:
    app = seed_app(registry_anonymous, repo("library/app"))
    write_config(
        ws.config,
        image_repository(
            "app", f"{registry_anonymous.host}/{app.repo}", exclusion_list=["^alpha$", "^Z"]
        ),
    )

    run = scan()

    assert run.code == 0, (run.out, run.err)
    # the cosign signature tag stays out although the custom list dropped Flux's `\.sig$`
    # default: tags that are not images are never candidates (docs/scan.md)
    expected = [t for t in app.digests if t not in ("alpha", "Zeta") and not t.startswith("sha256-")]
    assert run.result()["tags"] == descending(expected)


def test_digests_none_resolves_nothing(
    registry_anonymous: RegistryServer,
    repo: Callable[[str], str],
    ws: Workspace,
    scan: Callable[..., Scan],
) -> None:
    app = seed_app(registry_anonymous, repo("library/app"))
    write_config(ws.config, image_repository("app", f"{registry_anonymous.host}/{app.repo}"))

    run = scan("--digests", "none")

    assert run.code == 0, (run.out, run.err)
    assert run.result()["tags"] == descending(list(app.visible))
    assert run.result()["digests"] == {}


def test_second_scan_with_the_same_state_reports_the_same_digests(
    registry: RegistryServer, repo: Callable[[str], str], ws: Workspace, scan: Callable[..., Scan]
) -> None:
    app = seed_app(registry, repo("library/app"))
    write_config(
        ws.config,
        image_repository("app", f"{registry.host}/{app.repo}", secret=secret_for(registry, ws)),
    )

    first, second = scan(), scan()

    assert (first.code, second.code) == (0, 0), (first.out, second.out, second.err)
    assert first.result()["digests"] == app.visible
    assert second.result()["digests"] == app.visible
    assert second.result()["tags"] == first.result()["tags"]


def test_docker_config_credentials(
    registry_htpasswd: RegistryServer,
    repo: Callable[[str], str],
    ws: Workspace,
    scan: Callable[..., Scan],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = seed_app(registry_htpasswd, repo("library/app"))
    registry_htpasswd.write_docker_config(ws.root / "docker", "bob")
    monkeypatch.setenv("DOCKER_CONFIG", str(ws.root / "docker"))
    write_config(ws.config, image_repository("app", f"{registry_htpasswd.host}/{app.repo}"))

    run = scan()

    assert run.code == 0, (run.out, run.err)
    assert run.result()["digests"] == app.visible


def test_token_mode_anonymous_pull_of_a_public_repository(
    registry_token: RegistryServer,
    repo: Callable[[str], str],
    ws: Workspace,
    scan: Callable[..., Scan],
) -> None:
    app = seed_app(registry_token, repo("public/tool"))
    write_config(ws.config, image_repository("app", f"{registry_token.host}/{app.repo}"))

    run = scan()

    assert run.code == 0, (run.out, run.err)
    assert run.result()["tags"] == descending(list(app.visible))
    assert run.result()["digests"] == app.visible


# -- failures: one line, exit 2, no secret, no traceback --------------------------------------


@pytest.mark.parametrize("mode", ["htpasswd", "token"])
def test_wrong_credentials(
    mode: str, request: pytest.FixtureRequest, repo: Callable[[str], str], ws: Workspace
) -> None:
    registry: RegistryServer = request.getfixturevalue(f"registry_{mode}")
    app = seed_app(registry, repo("library/app"))
    wrong = "Wr0ng-pa55word-9zq"
    secret = registry.write_secret(ws.secrets, "bob", password=wrong)
    write_config(
        ws.config, image_repository("app", f"{registry.host}/{app.repo}", secret="regcred")
    )

    run = scan_subprocess(ws)

    assert run.code == 1, run.err
    error = assert_one_line_error(run.result())
    assert registry.host in error
    assert run.result()["tags"] in (None, [])
    assert "Traceback" not in run.err
    encoded = json.loads(secret.read_text())["auths"][registry.host]["auth"]
    for leaked in (wrong, encoded, registry.users["bob"]):
        assert leaked not in run.out
        assert leaked not in run.err


def test_token_mode_anonymous_on_a_private_repository_is_denied(
    registry_token: RegistryServer,
    repo: Callable[[str], str],
    ws: Workspace,
    scan: Callable[..., Scan],
) -> None:
    app = seed_app(registry_token, repo("library/private"))
    write_config(ws.config, image_repository("app", f"{registry_token.host}/{app.repo}"))

    run = scan()

    assert run.code == 1
    error = assert_one_line_error(run.result())
    assert re.search(
        r"denied|insufficient.scope|unauthori[sz]ed|forbidden|not allowed|permission|access",
        error,
        re.IGNORECASE,
    ), error
    assert "Traceback" not in run.err


def test_untagged_repository_has_zero_tags_and_no_error(
    registry: RegistryServer, repo: Callable[[str], str], ws: Workspace, scan: Callable[..., Scan]
) -> None:
    name = repo("solo/repo")
    registry.make_untagged(name)
    assert registry.tags(name) is None  # the server really says "tags": null
    write_config(
        ws.config,
        image_repository("app", f"{registry.host}/{name}", secret=secret_for(registry, ws)),
    )

    run = scan()

    assert run.code == 0, (run.out, run.err)
    assert run.result()["error"] is None
    assert run.result()["tags"] == []
    assert run.result()["digests"] == {}


def test_unknown_repository_is_not_found(
    registry: RegistryServer, repo: Callable[[str], str], ws: Workspace, scan: Callable[..., Scan]
) -> None:
    name = repo("nope/nothing")
    write_config(
        ws.config,
        image_repository("app", f"{registry.host}/{name}", secret=secret_for(registry, ws, "alice")),
    )

    run = scan()

    assert run.code == 1
    error = assert_one_line_error(run.result())
    assert re.search(r"not found|unknown|does not exist|no such", error, re.IGNORECASE), error
    assert "Traceback" not in run.err


def test_one_failing_repository_does_not_hide_the_others(
    registry_anonymous: RegistryServer,
    repo: Callable[[str], str],
    ws: Workspace,
    scan: Callable[..., Scan],
) -> None:
    app = seed_app(registry_anonymous, repo("library/app"))
    write_config(
        ws.config,
        image_repository("app", f"{registry_anonymous.host}/{app.repo}"),
        image_repository("missing", f"{registry_anonymous.host}/{repo('nope/nothing')}"),
    )

    run = scan()

    assert run.code == 1
    assert run.result("flux-system/app")["error"] is None
    assert run.result("flux-system/app")["digests"] == app.visible
    assert_one_line_error(run.result("flux-system/missing"))


# -- mirrors -----------------------------------------------------------------------------------


def test_mirror_serves_a_canonical_name(
    registry_anonymous: RegistryServer,
    repo: Callable[[str], str],
    ws: Workspace,
    scan: Callable[..., Scan],
) -> None:
    app = seed_app(registry_anonymous, repo("org/app"))
    write_config(
        ws.config,
        registry_mirrors({"ghcr.io": [registry_anonymous.url]}),
        image_repository("app", f"ghcr.io/{app.repo}", insecure=False),
    )

    run = scan()

    assert run.code == 0, (run.out, run.err)
    got = run.result()
    assert got["image"] == f"ghcr.io/{app.repo}"
    assert got["error"] is None
    assert got["tags"] == descending(list(app.visible))
    assert got["digests"] == app.visible


# -- concurrency ---------------------------------------------------------------------------


def test_many_repositories_of_one_registry_scan_concurrently(
    registry: RegistryServer, repo: Callable[[str], str], ws: Workspace, scan: Callable[..., Scan]
) -> None:
    # every repository's first request goes out before any auth answer is known: each must
    # still authenticate on its own (one task's login must not count as another's refusal)
    names = [repo(f"team{i}/svc") for i in range(8)]
    pushed = {name: registry.push_tags(name, ["1.0.0", "1.1.0"]) for name in names}
    secret = secret_for(registry, ws)
    write_config(
        ws.config,
        *(image_repository(f"svc{i}", f"{registry.host}/{n}", secret=secret) for i, n in enumerate(names)),
    )

    run = scan()

    assert run.code == 0, (run.out, run.err)
    for i, name in enumerate(names):
        assert run.result(f"flux-system/svc{i}")["digests"] == pushed[name]


def test_repositories_with_and_without_credentials_on_one_registry(
    registry_htpasswd: RegistryServer,
    repo: Callable[[str], str],
    ws: Workspace,
    scan: Callable[..., Scan],
) -> None:
    # the repository without a secretRef comes first, so whatever the client learns about the
    # host from it must not make the others' first 401 look like refused credentials
    names = [repo(f"team{i}/svc") for i in range(8)]
    pushed = {name: registry_htpasswd.push_tags(name, ["1.0.0"]) for name in names}
    secret = secret_for(registry_htpasswd, ws)
    write_config(
        ws.config,
        image_repository("anonymous", f"{registry_htpasswd.host}/{names[0]}"),
        *(
            image_repository(f"svc{i}", f"{registry_htpasswd.host}/{n}", secret=secret)
            for i, n in enumerate(names)
        ),
    )

    run = scan()

    assert run.code == 1
    assert_one_line_error(run.result("flux-system/anonymous"))
    for i, name in enumerate(names):
        got = run.result(f"flux-system/svc{i}")
        assert got["error"] is None, got["error"]
        assert got["digests"] == pushed[name]
