"""Run as a long-lived service: scan each ImageRepository and run each ImageUpdateAutomation at
its spec.interval, and react at once to registry webhooks.

A scan that finds new tags (or digests) runs the automations using that repository right away.
With a cluster (--kubeconfig, $KUBECONFIG or ~/.kube/config), every Argo CD Application and Flux
Kustomization is reconciled too: checked at its interval (default 3m), synced when automated and
OutOfSync, at once when a commit imagebot pushed (or a Git push webhook) touches its path, drift
re-applied with selfHeal; history and status go to the state store ('imagebot apps'). Each
ApplicationSet generates again every --appset-interval seconds (and at once when a push touches
the repository its git generator reads): new Applications are synced at once, and the
applicationsSync policy deletes those no longer generated, as 'imagebot sync' does.
Jobs never overlap themselves; a failing job backs off (temporary errors briefly, errors that need
a human for longer) and never stops the service. Suspended objects are skipped. The --config
directory is re-read when a file changes (or on SIGHUP); a configuration that does not load is
reported and the previous one keeps running. SIGTERM (or Ctrl-C) stops taking jobs, lets a
running push finish — a run that has not pushed yet is abandoned — and exits within --grace
seconds. See docs/serve.md.

examples:
  imagebot serve --config policies/ --listen 0.0.0.0:8080
  imagebot serve --config /cfg --state /data/state.db --workdir /data/git --shard 0/2
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from imagebot import config, schedule, sync
from imagebot.commands.scan import _mirrors, add_config_options, state_path
from imagebot.commands.shard import add_shard_option, shard_from
from imagebot.errors import ConfigError

logger = logging.getLogger("imagebot.serve")


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_options(parser)
    parser.add_argument("--workdir", type=Path, default=None, metavar="DIR",
                        help="where clones are kept and reused (default: .imagebot/git/<repository>)")
    parser.add_argument("--workers", type=int, default=4, metavar="N",
                        help="jobs (scans, automations) running at once (default: 4)")
    parser.add_argument("--grace", type=float, default=30.0, metavar="SECONDS",
                        help="on SIGTERM, how long running jobs may take to finish (default: 30)")
    parser.add_argument("--listen", default="0.0.0.0:8080", metavar="HOST:PORT",
                        help="address of /healthz, /readyz, /metrics and the webhook receivers "
                             "(default: 0.0.0.0:8080; port 0 picks a free one)")
    parser.add_argument("--debounce", type=float, default=0.25, metavar="SECONDS",
                        help="webhooks for one repository within this time trigger one scan "
                             "(default: 0.25; more arriving while it runs make it run once more)")
    parser.add_argument("--watch", type=float, default=5.0, metavar="SECONDS",
                        help="check --config for changes this often; 0 only on SIGHUP (default: 5)")
    parser.add_argument("--kubeconfig", type=Path, default=None, metavar="FILE",
                        help="the cluster Applications and Kustomizations are synced to (default: "
                             "$KUBECONFIG, then ~/.kube/config; none: no sync loop)")
    parser.add_argument("--context", default=None, metavar="NAME",
                        help="kubeconfig context for every unit (default: from each destination)")
    parser.add_argument("--appset-interval", type=float, default=180.0, metavar="SECONDS",
                        help="generate each ApplicationSet again this often (default: 180, Argo CD's "
                             "requeue; a push to its git generator's repository generates it at once)")
    parser.add_argument("--no-sync", action="store_true",
                        help="do not sync Applications and Kustomizations even with a kubeconfig")
    add_shard_option(parser)


def _kubeconfig(args: argparse.Namespace) -> Path | None:
    if args.no_sync:
        return None
    if args.kubeconfig is not None:
        if not args.kubeconfig.is_file():
            raise ConfigError(f"--kubeconfig {args.kubeconfig}: no such file")
        return Path(args.kubeconfig)
    return sync.default_kubeconfig()


def settings_from(args: argparse.Namespace) -> schedule.ServeSettings:
    return schedule.ServeSettings(
        kubeconfig=_kubeconfig(args), context=args.context,
        config_path=args.config, secrets_dir=args.secrets_dir, state_path=state_path(args),
        workdir=args.workdir,
        workers=args.workers, grace=args.grace, watch=args.watch, debounce=args.debounce,
        mirrors=_mirrors(args.mirror),
        shard=shard_from(args),
        appset_interval=datetime.timedelta(seconds=_positive(args.appset_interval, "--appset-interval")),
    )


def _positive(value: float, flag: str) -> float:
    if not value > 0:
        raise ConfigError(f"{flag} {value:g}: expected a number of seconds above 0")
    return value


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--listen {text!r}: expected HOST:PORT, e.g. 0.0.0.0:8080")
    return host.strip("[]") or "0.0.0.0", int(port)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    metrics = schedule.Metrics()
    service = schedule.Service(settings, listeners=[metrics])
    secrets = config.SecretStore(settings.secrets_dir)
    notifier = schedule.Notifier(
        lambda: service.cfg, secrets,
        on_sent=lambda p, ok: metrics.events.labels(str(p), "sent" if ok else "dropped").inc(),
    )
    service.add_listener(notifier)
    stop = threading.Event()
    hangup = threading.Event()

    def on_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    def on_hangup(signum: int, frame: FrameType | None) -> None:
        hangup.set()
        stop.set()  # wake the loop; it tells the two apart

    address = _address(args.listen)
    service.start()  # a configuration that does not load stops us here (exit 2)
    try:
        server = schedule.HTTPServer(address, service=service, metrics=metrics, secrets=secrets).start()
    except OSError as exc:
        service.stop(0)
        raise ConfigError(f"--listen {args.listen}: {exc.strerror or exc}") from None
    logger.info("listening on %s:%d (/healthz /readyz /metrics /hook/...)", address[0], server.port)
    for receiver, path in sorted(server.paths().items()):
        logger.info("Receiver %s: POST %s", receiver, path)
    previous = {sig: signal.signal(sig, handler) for sig, handler in (
        (signal.SIGTERM, on_stop), (signal.SIGINT, on_stop), (signal.SIGHUP, on_hangup))}
    if settings.kubeconfig is None:
        logger.info("no kubeconfig: Applications and Kustomizations are not synced")
    else:
        logger.info("sync loop: %d Applications/Kustomizations on %s",
                    len([j for j in service.scheduled() if j.startswith(("app:", "kustomization:"))]),
                    settings.kubeconfig)
    logger.info("imagebot serve started (%d jobs)", len(service.scheduled()))
    try:
        while True:
            stop.wait()
            if hangup.is_set():
                hangup.clear()
                stop.clear()
                service.reload()
                continue
            break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        clean = service.stop()
        server.stop()
        notifier.close()
    if not clean:
        # a job is still running past --grace: leave without waiting for its thread (files are
        # replaced atomically and a push either lands whole or not at all on the remote)
        logger.error("grace period over; exiting with jobs still running")
        logging.shutdown()
        sys.stdout.flush()
        os._exit(1)
    logger.info("imagebot serve stopped")
    return 0
