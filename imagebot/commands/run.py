"""Run the whole pipeline once: scan registries, choose tags, rewrite marked fields, publish.

For each ImageUpdateAutomation in --config: scan the ImageRepositories its ImagePolicies use,
choose a tag per policy, rewrite the marked fields under spec.update.path, then commit and push
to the automation's push branch — or, with --pr (or a PullRequest object for the automation),
push imagebot's own branch and open or update one pull request.

The git repository is the automation's GitRepository (cloned into --workdir and reused), a URL
or path given with --repo, or the checkout you are in with --repo . (as in a GitHub Action).

Exit status: 0 done (with or without changes), 1 something failed (a registry, a file, a push),
2 the configuration is invalid.

examples:
  imagebot run --dry-run                       show the diff and commit message, touch nothing
  imagebot run --automation flux-system/dev    only that automation
  imagebot run --repo . --pr                   in a checkout: push a branch, open a pull request
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from imagebot import config, git, pipeline, policy, publish, scan, state
from imagebot.commands.scan import add_config_options, load_settings
from imagebot.errors import ConfigError, ImagebotError
from imagebot.model import flux
from imagebot.model.flux import GitRef
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.pullrequests import PullRequestConfig
from imagebot.model.scans import ScanResult, TagFacts


def add_run_options(parser: argparse.ArgumentParser) -> None:
    add_config_options(parser)
    parser.add_argument(
        "--automation", action="append", default=[], metavar="NS/NAME",
        help="run only this ImageUpdateAutomation (repeatable; default: all that are not suspended)",
    )
    parser.add_argument(
        "--repo", metavar="PATH|URL",
        help="git repository to update instead of the automation's GitRepository; an existing "
             "checkout (e.g. '.') is worked on in place",
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, metavar="DIR",
        help="where clones are kept and reused (default: .imagebot/git/<repository>)",
    )
    parser.add_argument(
        "--digests", choices=("none", "new", "all"), default="new",
        help="digest look-ups during the scan (see 'imagebot scan --help'; default: new)",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of text")


def configure(parser: argparse.ArgumentParser) -> None:
    add_run_options(parser)
    parser.add_argument("--dry-run", action="store_true",
                        help="print the diff and the commit message; write, commit and push nothing")
    push = parser.add_mutually_exclusive_group()
    push.add_argument("--push", dest="push", action="store_true", default=True,
                      help="push after committing (default)")
    push.add_argument("--no-push", dest="push", action="store_false",
                      help="commit in the work tree only")
    parser.add_argument("--pr", action="store_true",
                        help="open or update a pull request instead of pushing to the base branch")


def _selected(cfg: config.Config, names: Sequence[str]) -> list[flux.ImageUpdateAutomation]:
    if not names:
        return [a for _, a in sorted(cfg.automations.items()) if not a.suspend]
    chosen = []
    for name in names:
        namespace, sep, short = name.rpartition("/")
        matches = [a for k, a in sorted(cfg.automations.items())
                   if k.name == short and (not sep or k.namespace == namespace)]
        if not matches:
            known = ", ".join(str(k) for k in sorted(cfg.automations)) or "none"
            raise ConfigError(f"--automation {name}: no such ImageUpdateAutomation (known: {known})")
        chosen.extend(matches)
    return chosen


def _workspace(
    automation: flux.ImageUpdateAutomation, cfg: config.Config, secrets: config.SecretStore,
    args: argparse.Namespace,
) -> git.Workspace:
    repository = cfg.git_repositories.get(automation.source)
    auth = config.git_auth(secrets, repository) if repository is not None else None
    if args.repo is not None and _is_checkout(Path(args.repo)):
        return git.Workspace.open(Path(args.repo), auth=auth)
    url = args.repo or (repository.url if repository is not None else None)
    if url is None:
        raise ConfigError(
            f"{automation.source_file}: ImageUpdateAutomation {automation.key}: GitRepository "
            f"{automation.source} not found in {args.config} (or pass --repo)"
        )
    ref = automation.checkout or (repository.ref if repository is not None else None) or GitRef()
    workdir = args.workdir / git.default_workdir(url).name if args.workdir else None
    return git.Workspace.clone(url, ref=ref, auth=auth, workdir=workdir, choose_tag=pipeline.choose_tag)


def _is_checkout(path: Path) -> bool:
    """A work tree (or a directory inside one) is worked on in place; a bare repository is cloned."""
    bare = (path / "HEAD").is_file() and (path / "objects").is_dir() and not (path / ".git").exists()
    return path.is_dir() and not bare


def _github_repository(url: str) -> str | None:
    match = re.search(r"github\.com[:/]+([^/]+/[^/]+?)(?:\.git)?/?$", url)
    return match.group(1) if match else None


def _forge(pr: PullRequestConfig, workspace: git.Workspace, secrets: config.SecretStore) -> publish.Forge:
    repository = pr.forge.repository or _github_repository(workspace.url)
    if repository is None:
        raise ConfigError(
            f"PullRequest {pr.key}: set spec.forge.repository (owner/name); it cannot be derived "
            f"from {git.redact_url(workspace.url)}"
        )
    return publish.GitHubForge(repository, config.forge_credentials(secrets, pr.forge),
                               base_url=pr.forge.api_url)


def execute(args: argparse.Namespace, *, dry_run: bool) -> tuple[list[pipeline.RunReport], list[str]]:
    """Scan once, then run each selected automation; failures are collected, not raised."""
    cfg = load_settings(args)
    automations = _selected(cfg, args.automation)
    if not automations:
        raise ConfigError(f"no ImageUpdateAutomation objects in {args.config}")
    for automation in automations:
        for spec in pipeline.policies_for(cfg, automation):
            policy.validate(spec)  # a bad range or regex stops the run before any network call
    secrets = config.SecretStore(args.secrets_dir)
    keychain = config.Keychain(secrets)
    reports: list[pipeline.RunReport] = []
    now = datetime.datetime.now(datetime.UTC)
    with state.StateStore(args.state) as store:
        scans = pipeline.scan_for(cfg, automations, keychain=keychain, secrets=secrets,
                                  state=store, options=scan.ScanOptions(digests=args.digests))
        failures = [f"{r.key}: {r.error}" for r in scans.values() if r.error]

        def refresh(
            wanted: Sequence[tuple[flux.ImageRepository, Sequence[Tag]]], *, sources: bool,
        ) -> dict[ObjectKey, TagFacts]:
            tls = secrets.tls_for(r for r, _ in wanted)
            fresh = scan.refresh(wanted, credentials=keychain.lookup, settings=cfg.registries, tls=tls,
                                 sources=sources)
            store.record_many(
                {r.image.canonical: ((), fresh[r.key].digests) for r, _ in wanted if r.key in fresh}, now=now
            )
            return fresh

        for automation in automations:
            try:
                reports.append(_run_one(automation, cfg, scans, secrets, args, dry_run=dry_run, now=now,
                                        refresh=refresh))
            except ConfigError:
                raise
            except ImagebotError as exc:
                failures.append(f"{automation.key}: {exc}")
    return reports, failures


def _run_one(
    automation: flux.ImageUpdateAutomation, cfg: config.Config, scans: Mapping[ObjectKey, ScanResult],
    secrets: config.SecretStore, args: argparse.Namespace, *, dry_run: bool, now: datetime.datetime,
    refresh: pipeline.Refresh,
) -> pipeline.RunReport:
    workspace = _workspace(automation, cfg, secrets, args)
    pr = cfg.pull_requests.get(automation.key)
    if pr is None and getattr(args, "pr", False):
        pr = PullRequestConfig(key=automation.key)
    signing = (config.signing_key(secrets, automation.commit.signing_key_secret)
               if automation.commit.signing_key_secret else None)
    options = pipeline.RunOptions(dry_run=dry_run, push=getattr(args, "push", True),
                                  pull_request=pr, signing_key=signing, refresh=refresh)

    def forge() -> publish.Forge:
        assert pr is not None
        return _forge(pr, workspace, secrets)

    return pipeline.run_automation(automation, cfg=cfg, scans=scans, workspace=workspace,
                                   options=options, forge=forge if pr is not None else None, now=now)


def print_table(report: pipeline.RunReport) -> None:
    print(f"automation {report.automation}")
    rows = [("policy", "current", "selected", "why")]
    for evaluation in report.evaluations:
        selected = evaluation.selection.tag if evaluation.selection else "-"
        flag = " (downgrade)" if evaluation.selection and evaluation.selection.downgrade else ""
        rows.append((str(evaluation.policy), report.current.get(evaluation.policy, "?"),
                     f"{selected}{flag}", evaluation.reason))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    for evaluation in report.evaluations:
        repush = evaluation.selection.repush if evaluation.selection else None
        if repush is not None:
            print(f"  WARNING {evaluation.policy}: tag {repush.tag} was re-pushed: it pointed at "
                  f"{repush.first_digest} when first seen and points at {repush.digest} now")
    for line in report.skipped:
        print(f"  skipped {line}")
    for problem in report.changes.errors:
        print(f"  error {problem}")
    for problem in report.changes.warnings:
        print(f"  warning {problem}")


def _summary(report: pipeline.RunReport, *, dry_run: bool) -> str:
    fields = sum(len(f.changes) for f in report.changes.files)
    if not fields:
        return "  nothing to change"
    files = len(report.changes.files)
    verb = "would change" if dry_run else "changed"
    what = f"  {verb} {fields} field{'s' * (fields != 1)} in {files} file{'s' * (files != 1)}"
    for pull_request in report.pull_requests:
        verb = "opened" if pull_request.created else "updated"
        what += f"; {verb} pull request #{pull_request.number} {pull_request.url}"
    if not report.pull_requests and report.revision is not None:
        what += f"; committed {report.revision.sha[:12]} on {report.revision.branch}"
    return what


def as_json(report: pipeline.RunReport) -> dict[str, object]:
    return {
        "automation": str(report.automation),
        "policies": [
            {"policy": str(e.policy), "current": report.current.get(e.policy),
             "selected": e.selection.tag if e.selection else None,
             "downgrade": bool(e.selection and e.selection.downgrade),
             "repushed": bool(e.selection and e.selection.repush), "reason": e.reason}
            for e in report.evaluations
        ],
        "skipped": list(report.skipped),
        "files": [{"path": f.path, "changes": [
            {"line": c.line, "setter": c.setter, "old": c.old_value, "new": c.new_value}
            for c in f.changes]} for f in report.changes.files],
        "errors": [str(p) for p in report.changes.errors],
        "message": report.message,
        "revision": report.revision.sha if report.revision else None,
        "pull_requests": [p.url for p in report.pull_requests],
    }


def show(reports: Sequence[pipeline.RunReport], failures: Sequence[str], *, as_json_output: bool,
         dry_run: bool, diff: bool) -> int:
    """Print the reports (text or JSON) and the failures; the exit status of run and plan."""
    if as_json_output:
        document = {"automations": [as_json(r) for r in reports], "failures": list(failures)}
        print(json.dumps(document, indent=2))
    for report in [] if as_json_output else reports:
        print_table(report)
        print(_summary(report, dry_run=dry_run))
        if diff and report.diff:
            print()
            print(report.diff, end="")
            print(f"\n--- commit message ---\n{report.message}")
    for failure in failures:
        print(f"imagebot: {failure}", file=sys.stderr)
    return 1 if failures or any(r.changes.errors for r in reports) else 0


def run(args: argparse.Namespace) -> int:
    reports, failures = execute(args, dry_run=args.dry_run)
    return show(reports, failures, as_json_output=args.json, dry_run=args.dry_run, diff=args.dry_run)
