"""List the tags and digests of every ImageRepository in the configuration.

Reads Flux ImageRepository objects from --config, scans every registry concurrently, records each
tag the first time it is seen (--state), and prints a summary per repository — or, with --json,
one object per repository: name, image, tags, digests, error.

Exit status: 0 when every repository was scanned, 1 when some failed (the others are still
listed), 2 when the configuration or the command line is invalid — as for 'imagebot run'.

examples:
  imagebot scan --config policies/
  imagebot scan --json --digests none | jq '.[].tags | length'
  imagebot scan --mirror ghcr.io=http://127.0.0.1:5000
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from imagebot import config
from imagebot.errors import ConfigError

if TYPE_CHECKING:  # imported when a command runs, not to build its --help (tests/test_imports.py)
    from imagebot.model.ids import Tag
    from imagebot.model.images import TagList
    from imagebot.model.scans import ScanResult
    from imagebot.state import StateStore

logger = logging.getLogger("imagebot.commands")


def add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=Path("policies"), metavar="PATH",
        help="directory (or file) of Flux/Argo CD YAML objects (default: ./policies)",
    )
    parser.add_argument(
        "--secrets-dir", type=Path, default=config.DEFAULT_SECRETS_DIR, metavar="DIR",
        help="Kubernetes-style secrets directory: DIR/<secret>/<key> "
             f"(default: {config.DEFAULT_SECRETS_DIR}; IMAGEBOT_SECRET_<NAME>_<KEY> variables also work)",
    )
    parser.add_argument(
        "--state", type=Path, default=None, metavar="PATH",
        help="SQLite file remembering when each tag was first seen (default: $IMAGEBOT_HOME/state.db, "
             "else ~/.local/state/imagebot/state.db)",
    )
    parser.add_argument(
        "--state-wait", type=float, default=None, metavar="SECONDS",
        help="how long a write waits for a state file another process holds locked (default: 30); "
             "past it the run goes on without recording and exits 1",
    )
    parser.add_argument(
        "--reset-state", action="store_true",
        help="move the state file aside (kept as STATE.bak-<time>) and start a new one, e.g. when it "
             "is corrupted; first-seen times restart, so cooldowns count from now",
    )
    parser.add_argument(
        "--mirror", action="append", default=[], metavar="HOST=URL",
        help="scan HOST through the mirror URL (repeatable; adds to RegistrySettings mirrors)",
    )


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_options(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON array, one object per repository")
    parser.add_argument(
        "--digests", choices=("none", "new", "all"), default="new",
        help="resolve digests (HEAD, not counted as a Docker Hub pull) of tags without a known digest "
             "(new, default; at most 500 per repository per run), of every tag (all), or not at all "
             "(none); 'run' and 'plan' list only and resolve just the tags they use",
    )
    parser.add_argument("--created", action="store_true",
                        help="also read image creation times of newly resolved tags (extra requests)")


def _mirrors(values: list[str]) -> dict[str, tuple[str, ...]]:
    mirrors: dict[str, tuple[str, ...]] = {}
    for value in values:
        host, sep, url = value.partition("=")
        if not sep or not host or not url.startswith(("http://", "https://")):
            raise ConfigError(f"--mirror {value!r}: expected HOST=http(s)://MIRROR")
        mirrors[host] = (*mirrors.get(host, ()), url.rstrip("/"))
    return mirrors


def state_path(args: argparse.Namespace) -> Path:
    """--state, or the state store in imagebot's home (created; a clear error when unwritable);
    with --reset-state the existing file is first moved aside."""
    from imagebot import state

    path: Path = args.state if args.state is not None else config.home() / "state.db"
    if getattr(args, "reset_state", False):
        backup = state.reset(path)
        if backup is not None:
            logger.warning("state store %s moved to %s; starting a new one", path, backup)
    return path


def unrecorded_note(store: StateStore) -> str | None:
    """One line for what a locked state file kept from being recorded; None when all was."""
    if not store.unrecorded:
        return None
    what = ", ".join(dict.fromkeys(store.unrecorded))
    return f"state store {store.path}: not recorded this run: {what} (the next run records them)"


def load_settings(args: argparse.Namespace) -> config.Config:
    """The configuration of a one-shot command (``scan``, ``run``, ``plan``, ``rollback``)."""
    import dataclasses

    from imagebot import validation

    loaded = validation.load(args.config)
    extra = _mirrors(args.mirror)
    if extra:
        registries = dataclasses.replace(loaded.registries, mirrors={**loaded.registries.mirrors, **extra})
        loaded = dataclasses.replace(loaded, registries=registries)
    if getattr(args, "own_process", False):
        # What is loaded by now (the modules, the configuration) lives until the command exits.
        # Frozen, the cyclic collector no longer walks it at each collection of the run's
        # short-lived objects (tag lists, requests): 0.3-0.4 s of a cold 200-repository plan
        # (benchmarks/scan.py). Only in a process of its own: callers running commands
        # in-process (the tests) would keep the garbage of earlier runs out of the collector.
        gc.freeze()
    return loaded


_ANY_VERSION = ">=0.0.0-0"
_NEWEST = 5


def newest(tags: TagList) -> list[Tag]:
    """The newest tags to show: by semver (prereleases included), then by when first seen."""
    from imagebot import policy
    from imagebot.model import flux
    from imagebot.model.ids import ObjectKey

    spec = flux.ImagePolicy(key=ObjectKey("", "scan"), repository=ObjectKey("", ""),
                            choice=flux.SemverChoice(_ANY_VERSION))
    top = policy.evaluate(tags, spec, now=tags.scanned_at, current=None, current_digest=None).trace.top
    shown = [candidate.tag for candidate in top][:_NEWEST]
    rest = sorted((t for t in tags.tags if t not in shown), key=_natural, reverse=True)
    # a stable sort: tags first seen together keep their natural order
    rest.sort(key=lambda t: tags.first_seen.get(t, tags.scanned_at), reverse=True)
    return [*shown, *rest][:_NEWEST]


def _natural(tag: str) -> list[tuple[int, int | str]]:
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", tag) if part]


def _summary(result: ScanResult) -> str:
    if result.error is not None:
        return f"{result.key}  {result.image}  error: {result.error}"
    assert result.tags is not None
    tags = result.tags.tags
    shown = ", ".join(newest(result.tags)) + (", …" if len(tags) > _NEWEST else "")
    via = f"  (via {result.endpoint})" if result.image.registry not in result.endpoint else ""
    count = f"{len(tags)} tag{'s' if len(tags) != 1 else ''}"
    return f"{result.key}  {result.image}  {count}" + (
        f"  newest (semver, then first seen): {shown}" if tags else "") + via


def _as_json(result: ScanResult, *, created: bool) -> dict[str, object]:
    import dataclasses

    tags = result.tags
    entry: dict[str, object] = {
        "name": str(result.key),
        "image": result.image.name,
        "tags": list(tags.tags) if tags else [],
        "digests": dict(sorted(tags.digests.items())) if tags else {},
        "error": result.error,
        "rateLimit": dataclasses.asdict(result.rate_limit) if result.rate_limit else None,
    }
    if created:
        entry["created"] = {t: when.isoformat() for t, when in sorted(tags.created.items())} if tags else {}
    return entry


def run(args: argparse.Namespace) -> int:
    from imagebot import scan, state

    loaded = load_settings(args)
    secrets = config.SecretStore(args.secrets_dir)
    keychain = config.Keychain(secrets)
    repositories = [r for r in loaded.image_repositories.values() if not r.suspend]
    if not repositories:
        print(f"imagebot: no ImageRepository objects in {args.config}", file=sys.stderr)
        return 0
    tls = secrets.tls_for(repositories)
    progress = sys.stderr.isatty() and not args.json
    done = [0]

    def on_result(result: ScanResult) -> None:
        done[0] += 1
        if progress:
            print(f"\rscanning: {done[0]}/{len(repositories)} repositories", end="", file=sys.stderr)

    with state.StateStore(state_path(args), wait=args.state_wait) as store:
        results = scan.scan_all(
            repositories, credentials=keychain.lookup, settings=loaded.registries, state=store,
            options=scan.ScanOptions(digests=args.digests, created=args.created),
            tls=tls, on_result=on_result,
        )
        unrecorded = unrecorded_note(store)
    if progress:
        print("\r\033[K", end="", file=sys.stderr)
    if args.json:
        print(json.dumps([_as_json(r, created=args.created) for r in results], indent=2))
    else:
        for result in results:
            print(_summary(result))
    failed = [r for r in results if not r.ok]
    if failed and not args.json:
        print(f"imagebot: {len(failed)} of {len(results)} repositories failed to scan", file=sys.stderr)
    if unrecorded:
        print(f"imagebot: {unrecorded}", file=sys.stderr)
    return 1 if failed or unrecorded else 0
