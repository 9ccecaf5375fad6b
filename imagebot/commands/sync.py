"""Sync Argo CD Applications and Flux Kustomizations from Git to a cluster, once.

Each unit's manifests are rendered at its Git revision (plain directories, or kustomize overlays
through `kubectl kustomize`) and applied with server-side apply, in sync-wave, kind and name
order, following each Application's own syncPolicy. With --dry-run and no cluster, imagebot only
renders and validates, and prints each object it would apply with the images in it.

Exit status: 0 every unit synced (or rendered), 1 some unit failed, 2 the configuration is invalid.

examples:
  imagebot sync --dry-run --repo .             render every Application from this checkout
  imagebot sync argocd/shop-dev --dry-run --json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from imagebot import config, sync
from imagebot.errors import ConfigError, ImagebotError
from imagebot.model import gitauth
from imagebot.model.cluster import RenderedObject


def add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("apps", nargs="*", metavar="APP",
                        help="Application or Kustomization names (NAME or NAMESPACE/NAME; default: all)")
    parser.add_argument(
        "--config", type=Path, default=Path("policies"), metavar="PATH",
        help="directory (or file) of Argo CD / Flux YAML objects (default: ./policies)",
    )
    parser.add_argument(
        "--repo", type=Path, metavar="DIR",
        help="read every unit's path from this directory as it is, instead of checking out its repoURL",
    )
    parser.add_argument("--workdir", type=Path, metavar="DIR",
                        help="where clones are kept and reused (default: .imagebot/git/<repository>)")
    parser.add_argument("--secrets-dir", type=Path, default=config.DEFAULT_SECRETS_DIR, metavar="DIR",
                        help=f"Kubernetes-style secrets directory (default: {config.DEFAULT_SECRETS_DIR})")
    parser.add_argument("--allow-remote-bases", action="store_true",
                        help="let kustomize fetch remote bases (git, https); rendering is offline otherwise")
    parser.add_argument("--json", action="store_true", help="print a JSON report")


def configure(parser: argparse.ArgumentParser) -> None:
    add_source_options(parser)
    parser.add_argument("--dry-run", action="store_true",
                        help="render and validate only; print each object that would be applied")


def selected_units(args: argparse.Namespace) -> list[sync.SyncUnit]:
    cfg = config.load(args.config)
    every = sync.units(list(cfg.applications.values()), list(cfg.kustomizations.values()),
                       cfg.git_repositories, list(cfg.application_sets.values()))
    found = sync.select(every, args.apps)
    if not found:
        raise ConfigError(f"no Application or Kustomization objects in {args.config}")
    return found


def sources(args: argparse.Namespace) -> sync.Sources:
    if args.repo is not None and not args.repo.is_dir():
        raise ConfigError(f"--repo {args.repo}: not a directory")
    cfg_secrets = config.SecretStore(args.secrets_dir)
    repositories = {r.url: r for r in config.load(args.config).git_repositories.values()}

    def auth_for(url: str) -> gitauth.GitAuth | None:
        repository = repositories.get(url)
        return config.git_auth(cfg_secrets, repository) if repository is not None else None

    return sync.Sources(local=args.repo, workdir=args.workdir, auth_for=auth_for)


def _object_json(obj: RenderedObject) -> dict[str, object]:
    return {"kind": obj.ref.kind, "apiVersion": obj.ref.api_version, "namespace": obj.ref.namespace or None,
            "name": obj.ref.name, "wave": obj.wave, "images": list(obj.images), "source": obj.source}


def _print_render(render: sync.Render, revision: str) -> None:
    unit = render.unit
    count = len(render.manifests)
    print(f"{unit.name}  {revision[:12]}  {unit.path}  {count} object{'s' * (count != 1)}")
    rows = [(f"wave {o.wave}" if o.wave else "", o.ref.kind,
             f"{o.ref.namespace}/{o.ref.name}" if o.ref.namespace else o.ref.name, ", ".join(o.images))
            for o in sorted(render.objects, key=sync.sort_key)]
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(3)]
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(3) if widths[i]]
        print("  " + "  ".join(cells) + ("  " + row[3] if row[3] else ""))


def render_all(
    units: Sequence[sync.SyncUnit], args: argparse.Namespace,
) -> tuple[list[tuple[sync.Render, str]], list[tuple[sync.SyncUnit, str]]]:
    """Render every unit (checked out one repository/revision at a time); failures are collected."""
    source = sources(args)
    done: list[tuple[sync.Render, str]] = []
    failed: list[tuple[sync.SyncUnit, str]] = []
    for unit in sorted(units, key=lambda u: (u.repo_url, str(u.ref))):
        try:
            root, revision = source.checkout(unit)
            done.append((sync.render(unit, root, allow_remote=args.allow_remote_bases), revision))
        except ConfigError:
            raise
        except ImagebotError as exc:
            failed.append((unit, str(exc)))
    order = {unit: i for i, unit in enumerate(units)}
    done.sort(key=lambda pair: order[pair[0].unit])
    return done, failed


def run(args: argparse.Namespace) -> int:
    units = selected_units(args)
    if not args.dry_run:
        raise ConfigError("only 'imagebot sync --dry-run' is available so far")
    rendered, failed = render_all(units, args)
    if args.json:
        print(json.dumps({
            "units": [{"unit": r.unit.name, "revision": rev, "path": r.unit.path,
                       "objects": [_object_json(o) for o in sorted(r.objects, key=sync.sort_key)]}
                      for r, rev in rendered],
            "failures": [{"unit": u.name, "error": e} for u, e in failed],
        }, indent=2))
    else:
        for render, revision in rendered:
            _print_render(render, revision)
    for _, error in failed:
        print(f"imagebot: {error}", file=sys.stderr)
    return 1 if failed else 0
