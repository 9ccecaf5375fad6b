"""Roll an Application back the GitOps way: revert imagebot's image-update commit(s) in Git.

APP is an Argo CD Application (ApplicationSet-generated ones included) or a Flux Kustomization,
NAME or NAMESPACE/NAME. imagebot finds the ImageUpdateAutomation writing below its source path,
and reverts the last image-update commit it made there (with --to REVISION: every one since that
revision), restricted to the Application's path. The revert is committed and pushed like
'imagebot run' does it (author, signing, push retries on a moved branch; in place with --repo .),
or opened as a pull request from imagebot/rollback-<namespace>-<name> (--pull-request, or when the
automation has a PullRequest object). The state store records each rolled-back tag: 'run' and
'plan' do not propose it (or anything ranked at or below it) again until a newer tag appears.
The next sync applies the revert.

Exit status: 0 reverted (or nothing to change in the files); 1 nothing to roll back, a conflict
or a push failed; 2 invalid configuration or command line.

examples:
  imagebot rollback argocd/web-prod                    revert the last image update of web-prod
  imagebot rollback web-prod --to 4f2a9c1              revert every image update since 4f2a9c1
  imagebot rollback web-prod --pull-request --dry-run  show the revert and its message
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from imagebot import config, pipeline, state
from imagebot.commands.scan import add_config_options, load_settings, state_path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", metavar="APP", help="the Application or Kustomization: NAME or NAMESPACE/NAME")
    parser.add_argument("--to", metavar="REVISION",
                        help="revert every image-update commit after REVISION (a sha or a ref); default: "
                             "only the last one")
    add_config_options(parser)
    parser.add_argument("--pull-request", "--pr", dest="pull_request", action="store_true",
                        help="open a pull request instead of pushing the revert (the default when the "
                             "automation has a PullRequest object)")
    parser.add_argument("--repo", metavar="PATH|URL",
                        help="git repository instead of the automation's GitRepository; an existing "
                             "checkout (e.g. '.') is worked on in place")
    parser.add_argument("--workdir", type=Path, default=None, metavar="DIR",
                        help="where clones are kept and reused (default: $IMAGEBOT_HOME/git)")
    parser.add_argument("--message-template", metavar="TEMPLATE",
                        help="Jinja2 (or Flux Go) template of the revert message; it sees application, "
                             "automation, reverted (sha, title) and images (policy, image, rolled_back, "
                             "restored); default: git's 'Revert \"<title>\"' style")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the commits to revert, the files and the message; change nothing")
    parser.add_argument("--json", action="store_true", help="print a JSON report")


def run(args: argparse.Namespace) -> int:
    cfg = load_settings(args)
    options = pipeline.RollbackOptions(
        to=args.to, pull_request=args.pull_request, repo=args.repo, workdir=args.workdir,
        dry_run=args.dry_run, message_template=args.message_template,
    )
    with state.StateStore(state_path(args), wait=args.state_wait) as store:
        report = pipeline.rollback(cfg, app=args.app, secrets=config.SecretStore(args.secrets_dir),
                                   state=store, options=options)
        unrecorded = "rollback" in store.unrecorded
    code = 0
    if unrecorded and report.images and not args.dry_run:
        # the revert is in Git; without the record the bot may propose the rolled-back tags again
        tags = ", ".join(f"{i.rolled_back} ({i.policy})" for i in report.images)
        print(f"imagebot: the revert is done, but state store {store.path} was locked by another "
              f"process, so the rollback is not recorded and imagebot may propose {tags} again; narrow "
              "the ImagePolicy until a newer tag appears (running rollback again would revert the next "
              "older update)", file=sys.stderr)
        code = 1
    if args.json:
        print(json.dumps(pipeline.rollback_summary(report), indent=2))
        return code
    print(f"rollback {report.application} ({report.path or '.'}) via automation {report.automation}")
    for commit in report.reverted:
        print(f"  revert {commit.sha[:12]} {commit.title}")
    for image in report.images:
        print(f"  {image.image} {image.rolled_back} -> {image.restored or '(removed)'}  ({image.policy})")
    for path in report.files:
        print(f"  file {path}")
    if args.dry_run:
        print(f"--- commit message ---\n{report.message}")
    elif report.pull_request is not None:
        verb = "opened" if report.pull_request.created else "updated"
        print(f"{verb} pull request #{report.pull_request.number} {report.pull_request.url}")
    elif report.revision is not None:
        print(f"committed {report.revision.sha[:12]} on {report.revision.branch}")
    else:
        print("nothing to change: the files already hold what the revert would write")
    return code
