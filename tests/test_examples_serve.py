"""The serve and sharding examples stay usable: valid YAML, arguments imagebot accepts, and shard
counts that agree with the Job's completions or the workflow's matrix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from imagebot import cli, yamldoc

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def documents(path: Path) -> list[Any]:
    return [d for d in yamldoc.load_all_plain(path.read_text()) if d is not None]


def container(pod: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = pod["spec"]["containers"][0]
    return found


def test_the_serve_deployment_runs_arguments_serve_accepts() -> None:
    kinds = {d["kind"]: d for d in documents(EXAMPLES / "kubernetes" / "serve.yaml")}
    deployment = kinds["Deployment"]
    spec = container(deployment["spec"]["template"])
    args = cli.build_parser(spec["args"]).parse_args(spec["args"])
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]

    assert args.command == "serve"
    assert args.grace < grace  # Kubernetes' SIGKILL comes after imagebot's own deadline
    assert spec["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert spec["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert args.listen.endswith(":8080") and spec["ports"][0]["containerPort"] == 8080
    assert deployment["spec"]["replicas"] == 1


def test_the_indexed_job_s_shard_count_matches_its_completions() -> None:
    cronjob = next(d for d in documents(EXAMPLES / "kubernetes" / "sharded-cronjob.yaml") if d["kind"] == "CronJob")
    job = cronjob["spec"]["jobTemplate"]["spec"]
    env = {e["name"]: e["value"] for e in container(job["template"])["env"]}

    assert job["completionMode"] == "Indexed"
    assert int(env["IMAGEBOT_SHARD_COUNT"]) == job["completions"] == job["parallelism"]
    assert "$(JOB_COMPLETION_INDEX)" in env["IMAGEBOT_HOME"]  # one state store per shard


def test_the_workflow_matrix_covers_every_shard() -> None:
    workflow = documents(EXAMPLES / "github" / "sharded.yml")[0]
    job = workflow["jobs"]["update"]
    step = next(s for s in job["steps"] if "with" in s and "extra_args" in s["with"])
    match = re.fullmatch(r"--shard \$\{\{ matrix\.shard \}\}/(\d+)", step["with"]["extra_args"])

    assert match is not None
    assert job["strategy"]["matrix"]["shard"] == list(range(int(match.group(1))))
