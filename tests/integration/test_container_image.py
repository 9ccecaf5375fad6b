"""The container image as users run it: built from the Dockerfile, then run with podman.

Aspects: ``--version``; an unprivileged user (``Config.User`` set, ``id -u`` not 0); no compiler or
``make`` in the final image; OCI labels; ``imagebot scan --config /cfg`` with only a mounted
configuration — no extra flags — against the real test registry on loopback, from ``/``, on a
read-only root file system, its state landing in the declared volume; an unwritable
``IMAGEBOT_HOME`` is one clear configuration error (exit 2), not a traceback; ``imagebot action``
with the mounts and variables a runner gives a Docker container action commits in the mounted
checkout and writes the output and summary files.

The image is built once per session (per xdist worker) by the ``image`` fixture:
``scripts/container-base`` makes (once, cached) a Debian base image with debootstrap, since no
container registry is reachable, and the Dockerfile is built on it in ``scripts/podman``'s store
(cached layers: later runs rebuild only the project's), tagged with a name of its own and
removed by that name at the end. Concurrent builds (the other worker, other work trees) take
turns through a lock file, so the second finds every layer cached.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from imagebot import __version__
from testing.gitops import manifest, write_policies
from testing.gitrepos import git, git_env, make_bare
from testing.podman import ROOT, STORE, make_base, podman, run_image
from testing.registry import RegistryServer

pytestmark = [pytest.mark.integration, pytest.mark.container]


@pytest.fixture(scope="session")
def image() -> Iterator[str]:
    if shutil.which("podman") is None or shutil.which("debootstrap", path="/usr/sbin:/usr/bin:/sbin") is None:
        pytest.fail("podman and debootstrap are not installed; run scripts/bootstrap")
    STORE.mkdir(parents=True, exist_ok=True)
    with (STORE / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        base = make_base()
        name = f"localhost/imagebot-test:{uuid.uuid4().hex[:12]}"
        podman("build", "--pull=never", "--network", "host", "--isolation", "chroot", "--quiet",
               "--build-arg", f"BASE={base}",
               "--build-arg", f"VERSION={__version__}", "--tag", name, str(ROOT), timeout=1200)
    try:
        yield name
    finally:
        podman("rmi", name, check=False)


def test_version(image: str) -> None:
    done = run_image(image, "--version")
    assert (done.returncode, done.stdout) == (0, f"imagebot {__version__}\n"), done.stderr


def test_runs_as_an_unprivileged_user_without_compilers(image: str) -> None:
    inspected = json.loads(podman("image", "inspect", image).stdout)[0]
    config = inspected["Config"]
    assert config["User"] not in ("", "0", "root", "0:0")
    assert config["Entrypoint"] == ["imagebot"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == "imagebot"
    assert labels["org.opencontainers.image.version"] == __version__
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.source"]

    script = ("id -u; for tool in cc gcc g++ c++ clang make; do command -v $tool; done; "
              "ls /opt/imagebot/bin/imagebot")
    done = run_image(image, "-c", script, flags=["--entrypoint", "/bin/sh"])

    assert done.returncode == 0, done.stderr
    uid, *rest = done.stdout.split()
    assert uid != "0"
    assert rest == ["/opt/imagebot/bin/imagebot"]  # the only line: no compiler was found


def test_scan_with_a_mounted_config_on_a_read_only_root(
    image: str, tmp_path: Path, registry_anonymous: RegistryServer, repo: Callable[[str], str]
) -> None:
    name = repo("org/app")
    digests = registry_anonymous.push_tags(name, ["1.0.0", "1.1.0"])
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "app.yaml").write_text(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n"
        f"metadata: {{name: app, namespace: apps}}\nspec: {{image: {registry_anonymous.host}/{name}, interval: 5m}}\n"
    )
    config.chmod(0o755)
    (config / "app.yaml").chmod(0o644)
    home = tmp_path / "home"  # the declared volume, as a directory the test can look into
    home.mkdir()
    home.chmod(0o777)
    mounts = ["--read-only", "--volume", f"{config}:/cfg:ro", "--volume", f"{home}:/var/lib/imagebot"]

    done = run_image(image, "scan", "--config", "/cfg", "--json", flags=mounts)

    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)
    assert (result["name"], result["tags"], result["error"]) == ("apps/app", ["1.1.0", "1.0.0"], None)
    assert result["digests"] == digests
    assert (home / "state.db").is_file()  # written by the image's user, in its home volume

    # without a volume of our own: the image's declared volume is where state goes
    done = run_image(image, "scan", "--config", "/cfg", flags=["--read-only", "--volume", f"{config}:/cfg:ro"])
    assert done.returncode == 0, done.stderr
    assert f"apps/app  {registry_anonymous.host}/{name}  2 tags" in done.stdout


def test_an_unwritable_home_is_one_clear_error(image: str, tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "app.yaml").write_text(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n"
        "metadata: {name: app, namespace: apps}\nspec: {image: ghcr.io/org/app, interval: 5m}\n"
    )

    done = run_image(image, "scan", "--config", "/cfg",
                     flags=["--read-only", "--volume", f"{config}:/cfg:ro", "--env", "IMAGEBOT_HOME=/opt/state"])

    assert done.returncode == 2
    assert done.stdout == ""
    # stderr is not a terminal in a container: one JSON object per line, like every log line
    (line,) = done.stderr.splitlines()
    entry = json.loads(line)
    assert entry["level"] == "error"
    assert entry["message"] == (
        "imagebot: configuration error: imagebot's home /opt/state ($IMAGEBOT_HOME) is not writable: "
        "read-only file system; set IMAGEBOT_HOME to a writable directory (or pass --state and --workdir)"
    )


def test_the_action_in_the_image_commits_in_the_mounted_workspace(
    image: str, tmp_path: Path, registry_anonymous: RegistryServer, repo: Callable[[str], str]
) -> None:
    # the mounts and variables a runner gives a Docker container action; the checkout belongs
    # to the runner's user (uid 1001 on GitHub-hosted runners), as the image's user is
    name = repo("org/app")
    registry_anonymous.push_tags(name, ["1.0.0", "1.1.0"])
    image_name = f"{registry_anonymous.host}/{name}"
    env = git_env(tmp_path / "git-home")
    bare = make_bare(tmp_path / "remote" / "gitops.git", {"apps/app.yaml": manifest(image_name)}, env=env)
    workspace = tmp_path / "workspace"
    git("clone", "-q", str(bare), str(workspace), cwd=tmp_path, env=env)
    git("remote", "set-url", "origin", "/remote/gitops.git", cwd=workspace, env=env)  # as mounted
    write_policies(workspace / "flux", image=image_name, automations={"apps": "/remote/gitops.git"})
    commands = tmp_path / "file_commands"
    commands.mkdir()
    (commands / "output").touch()
    (commands / "summary").touch()
    for path in (tmp_path / "remote", workspace, commands):
        subprocess.run(["chown", "-R", "1001:1001", str(path)], check=True)
    flags = [
        "--volume", f"{workspace}:/github/workspace", "--volume", f"{commands}:/github/file_commands",
        "--volume", f"{tmp_path / 'remote'}:/remote", "--workdir", "/github/workspace",
        "--env", "GITHUB_ACTIONS=true", "--env", "GITHUB_WORKSPACE=/github/workspace",
        "--env", "GITHUB_OUTPUT=/github/file_commands/output",
        "--env", "GITHUB_STEP_SUMMARY=/github/file_commands/summary",
        "--env", "GITHUB_EVENT_NAME=workflow_dispatch", "--env", "INPUT_CONFIG=flux",
        "--env", "INPUT_MODE=commit", "--env", "INPUT_EXTRA_ARGS=", "--env", "INPUT_TOKEN=",
    ]

    done = run_image(image, "action", flags=flags)

    assert done.returncode == 0, done.stdout + done.stderr
    trusted = ("-c", "safe.directory=*")  # the remote now belongs to uid 1001, as the push left it
    assert len(git(*trusted, "log", "--format=%s", "main", cwd=bare, env=env).splitlines()) == 2
    assert f"{image_name}:1.1.0" in git(*trusted, "show", "main:apps/app.yaml", cwd=bare, env=env)
    # in place the checkout is left as found (issue 8); the image has no git CLI, so the push to
    # this local remote (no hooks) went through imagebot's own ref transaction
    assert f"{image_name}:1.0.0" in (workspace / "apps" / "app.yaml").read_text()
    head = git(*trusted, "rev-parse", "main", cwd=bare, env=env).strip()
    assert f"commit={head}\n" in (commands / "output").read_text()
    assert "changed=true\n" in (commands / "output").read_text()
    assert "| flux-system/app | `1.0.0` | `1.1.0` |" in (commands / "summary").read_text()
