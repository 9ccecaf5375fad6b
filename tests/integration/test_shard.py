"""Sharding: ``--shard INDEX/COUNT`` (or ``JOB_COMPLETION_INDEX``/``IMAGEBOT_SHARD_COUNT``) splits
the ImageUpdateAutomations deterministically; every automation runs in exactly one shard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot import cli, config, pipeline
from imagebot.errors import ConfigError
from imagebot.model.ids import ObjectKey
from testing import fluxyaml
from testing.gitrepos import git_env, make_bare
from testing.registry import RegistryServer

MANIFEST = "image: {image}:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n"


def test_shard_of_is_deterministic_and_spreads_the_work() -> None:
    keys = [ObjectKey("flux-system", f"app-{i}") for i in range(300)]
    shards = [pipeline.shard_of(k, 3) for k in keys]

    assert shards == [pipeline.shard_of(k, 3) for k in keys]
    assert all(60 < shards.count(i) < 140 for i in range(3))
    assert {pipeline.shard_of(k, 1) for k in keys} == {0}


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("3", "expected INDEX/COUNT", id="no-slash"),
    pytest.param("3/3", "INDEX must be 0", id="index-too-big"),
    pytest.param("0/0", "COUNT at least 1", id="no-shards"),
    pytest.param("-1/2", "expected INDEX/COUNT", id="negative"),
])
def test_bad_shards_are_configuration_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config.parse_shard(text)


def test_the_environment_of_an_indexed_job_names_the_shard() -> None:
    assert config.shard_from_environment({"JOB_COMPLETION_INDEX": "2", "IMAGEBOT_SHARD_COUNT": "4"}) == (2, 4)
    assert config.shard_from_environment({"JOB_COMPLETION_INDEX": "2"}) is None
    with pytest.raises(ConfigError, match=r"\$JOB_COMPLETION_INDEX/\$IMAGEBOT_SHARD_COUNT '5/4'"):
        config.shard_from_environment({"JOB_COMPLETION_INDEX": "5", "IMAGEBOT_SHARD_COUNT": "4"})


def _policies(directory: Path, *, image: str, url: str, automations: int) -> Path:
    directory.mkdir()
    documents = [fluxyaml.image_policy("app", image, insecure=True), fluxyaml.git_repository("gitops", url)]
    documents += [fluxyaml.automation(f"team-{n}", path=f"./team-{n}") for n in range(automations)]
    (directory / "all.yaml").write_text("---\n".join(documents))
    return directory


@pytest.mark.integration
def test_each_automation_runs_in_exactly_one_shard(
    tmp_path: Path, registry_anonymous: RegistryServer, repo: Callable[[str], str],
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = repo("org/sharded")
    registry_anonymous.push_tags(name, ["1.0.0", "1.1.0"])
    image = f"{registry_anonymous.host}/{name}"
    env = git_env(tmp_path / "home")
    files = {f"team-{n}/app.yaml": MANIFEST.format(image=image) for n in range(6)}
    bare = make_bare(tmp_path / "gitops.git", files, env=env)
    cfg = _policies(tmp_path / "policies", image=image, url=f"file://{bare}", automations=6)
    ran: list[str] = []
    for index in range(3):
        monkeypatch.setenv("JOB_COMPLETION_INDEX", str(index))  # the flag wins over the environment
        code = cli.main(["plan", "--json", "--shard", f"{index}/3", "--config", str(cfg),
                         "--state", str(tmp_path / f"state-{index}.db"), "--workdir", str(tmp_path / f"w{index}")])
        document = json.loads(capsys.readouterr().out)
        assert code == 0
        mine = [a["automation"] for a in document["automations"]]
        assert mine == sorted(f"flux-system/team-{n}" for n in range(6)
                              if pipeline.shard_of(ObjectKey("flux-system", f"team-{n}"), 3) == index)
        ran.extend(mine)
    assert sorted(ran) == [f"flux-system/team-{n}" for n in range(6)]

    monkeypatch.setenv("JOB_COMPLETION_INDEX", "1")
    monkeypatch.setenv("IMAGEBOT_SHARD_COUNT", "3")
    code = cli.main(["plan", "--json", "--config", str(cfg), "--state", str(tmp_path / "e.db"),
                     "--workdir", str(tmp_path / "we")])
    from_env = [a["automation"] for a in json.loads(capsys.readouterr().out)["automations"]]
    assert code == 0
    assert from_env == [a for a in ran if pipeline.shard_of(ObjectKey(*a.split("/")), 3) == 1]


def _listings(registry: RegistryServer, name: str) -> int:
    """Tag listings of ``name`` the registry served (its log has one line per request)."""
    return sum(f"/v2/{name}/tags/list" in line for line in registry.log_text().splitlines()
               if "response completed" in line)


def _two_shards(tmp_path: Path, cfg: Path, states: tuple[Path, Path]) -> list[dict[str, object]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGEBOT_", "JOB_COMPLETION"))}
    env |= {"IMAGEBOT_HOME": str(tmp_path / "imagebot-home"), "HOME": str(tmp_path / "home")}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "imagebot", "plan", "--json", "--shard", f"{index}/2", "--config", str(cfg),
             "--state", str(states[index]), "--workdir", str(tmp_path / f"work-{states[index].stem}-{index}")],
            env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for index in range(2)
    ]
    documents = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        documents.append(json.loads(out))
    return documents


@pytest.mark.integration
def test_shards_sharing_a_state_file_list_a_shared_repository_once(
    tmp_path: Path, registry_anonymous: RegistryServer, repo: Callable[[str], str],
) -> None:
    name = repo("org/shared")
    registry_anonymous.push_tags(name, ["1.0.0", "1.1.0"])
    image = f"{registry_anonymous.host}/{name}"
    files = {f"team-{n}/app.yaml": MANIFEST.format(image=image) for n in range(6)}
    bare = make_bare(tmp_path / "gitops.git", files, env=git_env(tmp_path / "home"))
    cfg = _policies(tmp_path / "policies", image=image, url=f"file://{bare}", automations=6)
    shards = {pipeline.shard_of(ObjectKey("flux-system", f"team-{n}"), 2) for n in range(6)}
    assert shards == {0, 1}  # both shards have automations on the one ImageRepository

    shared = tmp_path / "shared.db"
    documents = _two_shards(tmp_path, cfg, (shared, shared))

    assert _listings(registry_anonymous, name) == 1
    planned = [p for d in documents for a in d["automations"] for p in a["policies"]]  # type: ignore[index]
    assert len(planned) == 6 and {p["selected"] for p in planned} == {"1.1.0"}

    # separate state files (a GitHub Actions matrix: one runner each): each shard lists on its own
    _two_shards(tmp_path, cfg, (tmp_path / "zero.db", tmp_path / "one.db"))
    assert _listings(registry_anonymous, name) == 3
