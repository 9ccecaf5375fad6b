"""Deterministic pull-request branches, and splitting a ``ChangeSet`` per policy.

The branch is a pure function of the automation (and, with ``group: per-image``, the policy), so
every run pushes to the same branch and finds the same pull request: ``imagebot/<automation>`` or
``imagebot/<automation>/<policy>``. Called by the pipeline before pushing; see ``docs/publish.md``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from imagebot.model.changes import ChangeSet, FieldChange, FileChange
from imagebot.model.ids import ObjectKey

__all__ = ["BRANCH_PREFIX", "branch_name", "branch_names", "split_by_policy"]

BRANCH_PREFIX = "imagebot"
_UNSAFE = re.compile(r"[\x00-\x20\x7f~^:?*\[\\/]+|\.\.+|@\{")


def _component(text: str) -> str:
    # git check-ref-format: no control/space ~^:?*[\, no "..", "@{", leading "." or trailing ".lock"/"."
    text = _UNSAFE.sub("-", text).strip("-")
    text = text.lstrip(".").rstrip(".")
    if text.endswith(".lock"):
        text = text[: -len(".lock")] + "-lock"
    return text or "-"


def branch_name(automation: ObjectKey, *, policy: ObjectKey | None = None, qualified: bool = False) -> str:
    """``imagebot/<automation>``, or ``imagebot/<automation>/<policy>`` for ``group: per-image``.

    >>> branch_name(ObjectKey("flux-system", "apps"))
    'imagebot/apps'
    >>> branch_name(ObjectKey("flux-system", "apps"), policy=ObjectKey("flux-system", "podinfo"))
    'imagebot/apps/podinfo'

    ``qualified`` writes ``<namespace>_<name>`` (``_`` cannot occur in Kubernetes names, so the two
    parts cannot be confused); use :func:`branch_names` to qualify only automations whose names clash.
    """
    name = f"{automation.namespace}_{automation.name}" if qualified else automation.name
    branch = f"{BRANCH_PREFIX}/{_component(name)}"
    if policy is not None:
        same = policy.namespace == automation.namespace
        part = policy.name if same else f"{policy.namespace}_{policy.name}"
        branch += f"/{_component(part)}"
    return branch


def branch_names(automations: Iterable[ObjectKey]) -> Mapping[ObjectKey, str]:
    """Branch per automation, namespace-qualified only where two automations share a name."""
    keys = list(automations)
    clashes = Counter(key.name for key in keys)
    return {key: branch_name(key, qualified=clashes[key.name] > 1) for key in keys}


def split_by_policy(changes: ChangeSet) -> Mapping[ObjectKey, ChangeSet]:
    """One ``ChangeSet`` per policy (``group: per-image``), policies in sorted order.

    Problems (errors/warnings) stay with the whole run and are not copied into the parts.
    """
    per_policy: dict[ObjectKey, dict[str, list[FieldChange]]] = {}
    for file in changes.files:
        for change in file.changes:
            per_policy.setdefault(change.policy, {}).setdefault(file.path, []).append(change)
    return {
        policy: ChangeSet(files=tuple(FileChange(path, tuple(found)) for path, found in files.items()))
        for policy, files in sorted(per_policy.items())
    }
