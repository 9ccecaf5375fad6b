"""Sync Argo CD Applications and Flux Kustomizations from Git to a cluster, once.

Each unit's manifests are rendered at its Git revision (plain directories, or kustomize overlays
through `kubectl kustomize`) and applied with server-side apply (field manager `imagebot`), in
sync-wave, kind and name order, each wave healthy before the next. The unit's own syncPolicy is
followed as the loop would: `automated.prune: true` (Flux `prune: true`) prunes objects it
applied before and no longer renders; --prune prunes where the unit does not ask for it.
Objects annotated `argocd.argoproj.io/sync-options: Prune=confirm` are only pruned with
--confirm-prune. Fields another manager owns are a conflict; --force takes them over.

With --dry-run and no kubeconfig, imagebot only renders and validates, and prints each object it
would apply with the images in it; with a kubeconfig, --dry-run asks the API server (server-side
dry run) what each apply and prune would do.

Exit status: 0 every unit synced (or rendered), 1 some unit failed, 2 the configuration is invalid.

examples:
  imagebot sync --dry-run --repo .                     render every Application from this checkout
  imagebot sync argocd/shop-dev --diff                 show live vs Git, then sync
  imagebot sync --prune --kubeconfig ~/.kube/config --context kind-dev
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from imagebot import config, state, sync, validation
from imagebot.errors import ConfigError, ImagebotError
from imagebot.model import argo, gitauth
from imagebot.model.cluster import ApplyOutcome, AppState, RenderedObject, SyncResult, UnitStatus

Rendered = tuple[sync.Render, str]
_WORKERS = 8


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
    parser.add_argument("--kubeconfig", type=Path, metavar="FILE",
                        help="kubeconfig (default: $KUBECONFIG, then ~/.kube/config)")
    parser.add_argument("--context", metavar="NAME",
                        help="kubeconfig context for every unit (default: from each destination)")
    parser.add_argument("--state", type=Path, metavar="PATH",
                        help="record each unit's revision, sync status and health in this state store, as "
                             "serve's sync loop does (what promotion gates, imagebot.dev/promote-after, "
                             "read); default: record nothing")
    parser.add_argument("--json", action="store_true", help="print a JSON report")


def record_statuses(path: Path | None, rows: Sequence[UnitStatus]) -> None:
    """Remember each unit's observed status (``--state``) as the sync loop of ``serve`` does."""
    if path is None or not rows:
        return
    now = datetime.datetime.now(datetime.UTC)
    with state.StateStore(path) as store:
        for row in rows:
            store.record_app(AppState(unit=row.unit, revision=row.revision, sync=row.sync, health=row.health,
                                      checked_at=now, synced_revision=row.synced_revision, why=row.why))


def configure(parser: argparse.ArgumentParser) -> None:
    add_source_options(parser)
    parser.add_argument("--dry-run", action="store_true",
                        help="change nothing: without a cluster, render and list; with one, a server-side "
                             "dry run")
    parser.add_argument("--diff", action="store_true",
                        help="print a unified diff of live vs Git per object (Secret values masked)")
    parser.add_argument("--prune", action="store_true",
                        help="prune objects no longer rendered even where syncPolicy does not ask for it")
    parser.add_argument("--confirm-prune", action="store_true",
                        help="also prune objects annotated Prune=confirm")
    parser.add_argument("--force", action="store_true",
                        help="take over fields that another field manager owns (server-side apply force)")
    parser.add_argument("--wave-timeout", type=float, default=300.0, metavar="SECONDS",
                        help="how long a sync wave may take to become healthy (default: 300)")


def _config(args: argparse.Namespace) -> config.Config:
    loaded = getattr(args, "_loaded_config", None)
    if loaded is None:
        loaded = validation.load(args.config)  # the one loader every command uses
        args._loaded_config = loaded
    return loaded


def _generated(args: argparse.Namespace) -> sync.Generated:
    generated = getattr(args, "_generated", None)
    if generated is None:
        cfg = _config(args)
        generated = sync.generate(cfg.application_sets.values(), sources(args),
                                  config.parse_generated_application)
        args._generated = generated
    return generated


def settle(args: argparse.Namespace, clusters: Clusters, *, write: bool) -> sync.Settled:
    """Each ApplicationSet's Applications under its ``applicationsSync`` policy, from its record
    on the current context (recorded anew with ``write``)."""
    return sync.settle(_config(args).application_sets.values(), _generated(args), clusters.current(),
                       config.parse_generated_application, write=write)


def appset_failures(args: argparse.Namespace,
                    failures: Sequence[sync.AppSetFailure] | None = None) -> list[tuple[str, str]]:
    """``(ApplicationSet ns/name, error at file:line)`` for each ApplicationSet that generated nothing."""
    found = []
    for failure in _generated(args).failures if failures is None else failures:
        file, line = config.locate(failure.where, failure.key_path)
        where = f"{file}:{line}" if line else failure.where
        name = f"ApplicationSet {failure.application_set}"
        found.append((name, f"{where}: {name}: {failure.key_path}: {failure.message}"))
    return found


def selected_units(args: argparse.Namespace,
                   generated_apps: Sequence[argo.Application] | None = None) -> list[sync.SyncUnit]:
    """The units named on the command line; ``generated_apps`` (default: what the ApplicationSets
    generate now) are the ApplicationSets' Applications."""
    cfg = _config(args)
    generated = _generated(args)
    apps = generated.applications if generated_apps is None else generated_apps
    every = sync.units([*cfg.applications.values(), *apps], list(cfg.kustomizations.values()),
                       cfg.git_repositories)
    found = sync.select(every, args.apps)
    if not found and not generated.failures:
        raise ConfigError(f"no Application or Kustomization objects in {args.config}")
    return found


def sources(args: argparse.Namespace) -> sync.Sources:
    if args.repo is not None and not args.repo.is_dir():
        raise ConfigError(f"--repo {args.repo}: not a directory")
    secrets = config.SecretStore(args.secrets_dir)
    repositories = {r.url: r for r in _config(args).git_repositories.values()}

    def auth_for(url: str) -> gitauth.GitAuth | None:
        repository = repositories.get(url)
        return config.git_auth(secrets, repository) if repository is not None else None

    return sync.Sources(local=args.repo, workdir=args.workdir, auth_for=auth_for)


class Clusters:
    """One client per kubeconfig context, connected on first use."""

    def __init__(self, kubeconfig: Path, context: str | None) -> None:
        self._path = kubeconfig
        self._document = sync.read_kubeconfig(kubeconfig)
        self._context = context
        self._clients: dict[str | None, sync.KubernetesCluster] = {}

    def current(self) -> sync.KubernetesCluster:
        """The ``--context`` (or the kubeconfig's current context): where ApplicationSet records live."""
        if self._context not in self._clients:
            self._clients[self._context] = sync.connect(self._path, context=self._context)
        return self._clients[self._context]

    def for_unit(self, unit: sync.SyncUnit) -> sync.KubernetesCluster:
        context = self._context or sync.context_for(self._document, server=unit.server,
                                                    name=unit.cluster_name, unit=unit.name)
        if context not in self._clients:
            self._clients[context] = sync.connect(self._path, context=context)
        return self._clients[context]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def kubeconfig_of(args: argparse.Namespace) -> Path | None:
    if args.kubeconfig is not None:
        if not args.kubeconfig.is_file():
            raise ConfigError(f"--kubeconfig {args.kubeconfig}: no such file")
        return Path(args.kubeconfig)
    return sync.default_kubeconfig()


def render_all(
    units: Sequence[sync.SyncUnit], args: argparse.Namespace, clusters: Clusters | None = None,
) -> tuple[list[Rendered], list[tuple[sync.SyncUnit, str]]]:
    """Render every unit (checked out one repository/revision at a time); failures are collected.

    With clusters, the API server's discovery decides which kinds are namespaced.
    """
    source = sources(args)
    done: list[Rendered] = []
    failed: list[tuple[sync.SyncUnit, str]] = []
    for unit in sorted(units, key=lambda u: (u.repo_url, str(u.ref))):
        try:
            root, revision = source.checkout(unit)
        except ConfigError:
            raise
        except ImagebotError as exc:  # the source cannot be fetched: say whose, and the way around it
            hint = "" if args.repo is not None else " (to render a local checkout instead, pass --repo DIR)"
            failed.append((unit, f"{unit.name}: {exc}{hint}"))
            continue
        try:
            namespaced = clusters.for_unit(unit).namespaced if clusters is not None else None
            done.append((sync.render(unit, root, namespaced=namespaced,
                                     allow_remote=args.allow_remote_bases), revision))
        except ConfigError:
            raise
        except ImagebotError as exc:
            failed.append((unit, str(exc)))
    order = {unit: i for i, unit in enumerate(units)}
    done.sort(key=lambda pair: order[pair[0].unit])
    return done, failed


def _object_json(obj: RenderedObject) -> dict[str, object]:
    return {"kind": obj.ref.kind, "apiVersion": obj.ref.api_version, "namespace": obj.ref.namespace or None,
            "name": obj.ref.name, "wave": obj.wave, "images": list(obj.images), "source": obj.source}


def _hook_json(manifest: sync.Manifest) -> dict[str, object]:
    phases = list(sync.hook_phases(manifest))
    return {**_object_json(manifest.info), "name": _hook_name(manifest), "phases": phases}


def _hook_name(manifest: sync.Manifest) -> str:
    # a generateName hook is named per sync: show the prefix
    return manifest.ref.name or f"{(manifest.body.get('metadata') or {}).get('generateName', '')}*"


def _print_render(render: sync.Render, revision: str) -> None:
    unit = render.unit
    count = len(render.manifests)
    hooks = f", {len(render.hooks)} hook{'s' * (len(render.hooks) != 1)}" if render.hooks else ""
    print(f"{unit.name}  {revision[:12]}  {unit.path}  {count} object{'s' * (count != 1)}{hooks}")
    rows = [(f"wave {o.wave}" if o.wave else "", o.ref.kind,
             f"{o.ref.namespace}/{o.ref.name}" if o.ref.namespace else o.ref.name, ", ".join(o.images))
            for o in sorted(render.objects, key=sync.sort_key)]
    if unit.option("CreateNamespace") and unit.namespace:
        rows.insert(0, ("", "Namespace", unit.namespace, "(CreateNamespace=true, if missing)"))
    for hook in sorted(render.hooks, key=lambda m: sync.sort_key(m.info)):
        name = _hook_name(hook)
        where = f"{hook.ref.namespace}/{name}" if hook.ref.namespace else name
        wave = f" wave {hook.info.wave}" if hook.info.wave else ""
        rows.append((f"{','.join(sync.hook_phases(hook))} hook{wave}", hook.ref.kind, where,
                     ", ".join(hook.info.images)))
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(3)]
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(3) if widths[i]]
        print("  " + "  ".join(cells) + ("  " + row[3] if row[3] else ""))


def _offline(units: Sequence[sync.SyncUnit], args: argparse.Namespace) -> int:
    rendered, unit_failures = render_all(units, args)
    failed = [(u.name, e) for u, e in unit_failures] + appset_failures(args)
    if args.json:
        print(json.dumps({
            "units": [{"unit": r.unit.name, "revision": rev, "path": r.unit.path,
                       "objects": [_object_json(o) for o in sorted(r.objects, key=sync.sort_key)],
                       "hooks": [_hook_json(h) for h in r.hooks]}
                      for r, rev in rendered],
            "failures": [{"unit": u, "error": e} for u, e in failed],
        }, indent=2))
    else:
        for render, revision in rendered:
            _print_render(render, revision)
    for _, error in failed:
        print(f"imagebot: {error}", file=sys.stderr)
    return 1 if failed else 0


def _outcome_json(outcome: ApplyOutcome) -> dict[str, object]:
    ref = outcome.ref
    return {"kind": ref.kind, "apiVersion": ref.api_version, "namespace": ref.namespace or None,
            "name": ref.name, "action": outcome.action, "message": outcome.message or None}


def _summary(result: SyncResult) -> str:
    counts: dict[str, int] = {}
    for outcome in result.outcomes:
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
    verb = "would sync" if result.dry_run else "synced"
    if result.failed:
        verb = "failed"
    parts = ", ".join(f"{n} {action}" for action, n in counts.items()) or "nothing to do"
    return f"{verb}: {parts}"


def _print_result(result: SyncResult, *, diff: bool) -> None:
    print(f"{result.unit}  {result.revision[:12]}  {_summary(result)}")
    width = max((len(o.action) for o in result.outcomes), default=0)
    for outcome in result.outcomes:
        why = f"  ({outcome.message})" if outcome.message else ""
        print(f"  {outcome.action.ljust(width)}  {outcome.ref}{why}")
    if result.message:
        print(f"  note: {result.message}")
    if result.error:
        print(f"  error: {result.error}")
    if diff and result.diff:
        print(result.diff, end="")


def _dependency_failed(unit: sync.SyncUnit, failed: set[str], results: dict[str, SyncResult]) -> str | None:
    for dependency in unit.depends_on:
        name = f"Kustomization {dependency}"
        if name in failed or (name in results and results[name].failed):
            return f"dependency {name} failed; not synced"
    return None


def _sync_one(render: sync.Render, revision: str, clusters: Clusters, options: sync.SyncOptions,
              *, dry_run: bool, blocked: str | None) -> SyncResult:
    if blocked:
        return SyncResult(unit=render.unit.name, revision=revision, error=blocked, dry_run=dry_run)
    try:
        return sync.sync_unit(render, revision, clusters.for_unit(render.unit), options)
    except ConfigError:
        raise
    except ImagebotError as exc:
        return SyncResult(unit=render.unit.name, revision=revision, error=str(exc), dry_run=dry_run)


def _sync_all(rendered: Sequence[Rendered], failed_names: set[str], clusters: Clusters,
              options: sync.SyncOptions, *, dry_run: bool) -> dict[str, SyncResult]:
    """Independent units sync concurrently (the API server is the bottleneck, not this process);
    Flux Kustomizations with ``dependsOn`` run one after the other, after what they depend on."""
    results: dict[str, SyncResult] = {}
    independent = [(r, rev) for r, rev in rendered if r.unit.kind == "Application"]
    ordered = [(r, rev) for r, rev in rendered if r.unit.kind != "Application"]
    for render, _ in independent:  # discovery is warm before threads share the client
        clusters.for_unit(render.unit)
    with concurrent.futures.ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        futures = {render.unit.name: pool.submit(_sync_one, render, revision, clusters, options,
                                                 dry_run=dry_run, blocked=None)
                   for render, revision in independent}
        for name, future in futures.items():
            results[name] = future.result()
    for render, revision in ordered:
        blocked = _dependency_failed(render.unit, failed_names, results)
        results[render.unit.name] = _sync_one(render, revision, clusters, options, dry_run=dry_run,
                                              blocked=blocked)
    order = {r.unit.name: i for i, (r, _) in enumerate(rendered)}
    return dict(sorted(results.items(), key=lambda item: order[item[0]]))


def _delete_dropped(args: argparse.Namespace, settled: sync.Settled, clusters: Clusters,
                    options: sync.SyncOptions) -> dict[str, SyncResult]:
    """Delete the Applications their ApplicationSet's policy deletes (only on a sync of everything)."""
    if args.apps:
        return {}
    return sync.delete_dropped(settled.deleted, _config(args).application_sets, clusters.for_unit, options)


def run(args: argparse.Namespace) -> int:
    kubeconfig = kubeconfig_of(args)
    if kubeconfig is None:
        units = selected_units(args)
        if args.dry_run and not args.diff:
            return _offline(units, args)
        raise ConfigError("no kubeconfig: pass --kubeconfig or set KUBECONFIG "
                          "(or use --dry-run to render without a cluster)")
    clusters = Clusters(kubeconfig, args.context)
    options = sync.SyncOptions(dry_run=args.dry_run, prune=args.prune, confirm_prune=args.confirm_prune,
                               force=args.force, diff=args.diff, wave_timeout=args.wave_timeout)
    try:
        settled = settle(args, clusters, write=not args.dry_run and not args.apps)
        units = selected_units(args, settled.applications)
        rendered, unit_failures = render_all(units, args, clusters)
        render_failures = [(u.name, e) for u, e in unit_failures] + appset_failures(args, settled.failures)
        failed_names = {name for name, _ in render_failures}
        results = _sync_all(rendered, failed_names, clusters, options, dry_run=args.dry_run)
        if args.state is not None and not args.dry_run:
            observed = [sync.status(render, revision, clusters.for_unit(render.unit))
                        for render, revision in rendered if not results[render.unit.name].failed]
            record_statuses(args.state, observed)
        results.update(_delete_dropped(args, settled, clusters, options))
    finally:
        clusters.close()
    if args.json:
        print(json.dumps({
            "units": [{"unit": r.unit, "revision": r.revision, "dry_run": r.dry_run, "failed": r.failed,
                       "error": r.error, "message": r.message or None,
                       "outcomes": [_outcome_json(o) for o in r.outcomes], "diff": r.diff or None}
                      for r in results.values()],
            "failures": [{"unit": u, "error": e} for u, e in render_failures],
        }, indent=2))
    else:
        for result in results.values():
            _print_result(result, diff=args.diff)
    for _, error in render_failures:
        print(f"imagebot: {error}", file=sys.stderr)
    return 1 if render_failures or any(r.failed for r in results.values()) else 0
