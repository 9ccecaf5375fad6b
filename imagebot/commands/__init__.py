"""Sub-commands of the ``imagebot`` CLI, one module each (as pre-commit's ``commands/``).

Each module ``imagebot.commands.<name>`` exposes ``configure(parser)`` and ``run(args) -> int``;
its docstring is the sub-command's ``--help`` description. Only the module of the command being
run is imported, so ``imagebot scan`` does not pay for the setters' imports. To add a command,
add a module and a line to :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Protocol, cast

__all__ = ["COMMANDS", "Command", "load"]

COMMANDS: dict[str, str] = {
    "run": "scan, choose tags, rewrite marked fields, commit and push (or open a pull request)",
    "plan": "show what 'run' would change and why, touching nothing",
    "scan": "list tags and digests of every ImageRepository",
    "policy": "test an ImagePolicy against a list of tags, offline",
    "set": "write image references into marked YAML fields (no registry involved)",
    "markers": "list image-policy markers and image references without one",
    "validate": "check the configuration and the markers offline: kinds, keys, references, ranges",
    "sync": "render Argo CD Applications / Flux Kustomizations from Git and apply them to a cluster",
    "apps": "sync status and health of each Application / Kustomization against the cluster",
    "rollback": "revert imagebot's image-update commit(s) of an Application in Git (commit or pull request)",
    "action": "run as a GitHub Actions step (the entrypoint of action.yml)",
    "health": "assess live Kubernetes objects saved with 'kubectl get -o yaml', offline",
    "serve": "run as a service: scheduled scans and updates, webhooks, /metrics",
    "status": "show the last scan, selection and commit of everything, from the state store",
    "completion": "print a bash, zsh or fish completion script (generated from this parser)",
}
"""Command name → one-line help, in pipeline order."""


class Command(Protocol):
    __doc__: str | None

    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def load(name: str) -> Command:
    return cast(Command, importlib.import_module(f"imagebot.commands.{name}"))
