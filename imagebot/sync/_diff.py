"""Live vs desired: normalisation, ``ignoreDifferences``, Secret masking, unified YAML diffs.

The desired side is the server's answer to a dry-run server-side apply (so defaults and other
managers' fields are the server's, as Argo CD's server-side diff and Flux do); both sides lose
``status``, ``managedFields``, ``resourceVersion``, ``uid``, ``generation``,
``creationTimestamp`` and kubectl's last-applied annotation, then the unit's ignore rules (JSON
pointers, a jq path subset, fields owned by named managers). Secret values never appear: equal
values print as ``++++++++``, changed ones as ``++++++++ (before)``/``++++++++ (after)``.
Called by :mod:`imagebot.sync._reconcile`.
"""

from __future__ import annotations

import base64
import copy
import difflib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from imagebot import yamldoc
from imagebot.model import argo
from imagebot.model.cluster import ObjectRef

__all__ = ["normalise", "unified"]

_NOISE_META = ("managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink")
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_MASK = "++++++++"


def normalise(
    obj: Mapping[str, Any] | None, ref: ObjectRef, rules: Iterable[argo.IgnoreDifference],
    *, live: Mapping[str, Any] | None = None,
) -> Any:
    """A copy of ``obj`` without server noise and without the fields the rules ignore.

    ``managedFieldsManagers`` rules read field ownership from ``live`` (the live object; default
    ``obj``), so both sides of a comparison lose the same fields.
    """
    if obj is None:
        return None
    out = json.loads(json.dumps(obj, default=str))  # JSON's number rules: 1 and 1.0 do not differ
    out.pop("status", None)
    meta = out.get("metadata") or {}
    managed = ((live if live is not None else obj).get("metadata") or {}).get("managedFields") or []
    for key in _NOISE_META:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    annotations.pop(_LAST_APPLIED, None)
    if not annotations:
        meta.pop("annotations", None)
    if ref.kind == "Secret" and ref.group == "":
        data = dict(out.get("data") or {})
        for key, value in (out.pop("stringData", None) or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        if data:
            out["data"] = data
    for rule in rules:
        if not _matches(rule, ref):
            continue
        for pointer in rule.json_pointers:
            _drop_pointer(out, pointer)
        for expression in rule.jq_path_expressions:
            for path in _jq_paths(out, expression):
                _drop_path(out, path)
        for entry in managed:
            if isinstance(entry, Mapping) and entry.get("manager") in rule.managed_fields_managers:
                _drop_fields(out, entry.get("fieldsV1") or {})
    return out


def _matches(rule: argo.IgnoreDifference, ref: ObjectRef) -> bool:
    return (rule.kind == ref.kind and rule.group == ref.group
            and rule.name in (None, ref.name) and rule.namespace in (None, ref.namespace))


def _drop_pointer(doc: Any, pointer: str) -> None:
    if not pointer:
        return
    parts: list[str | int] = [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]
    _drop_path(doc, parts)


def _drop_path(doc: Any, path: list[str | int]) -> None:
    node = doc
    for part in path[:-1]:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return
    last = path[-1] if path else None
    if isinstance(node, dict):
        node.pop(str(last), None)
    elif isinstance(node, list) and str(last).isdigit() and int(str(last)) < len(node):
        node.pop(int(str(last)))


_JQ_STEP = re.compile(r'\.([A-Za-z0-9_\-]+)|\["([^"]+)"\]|\[(\d*)\]')
_JQ_SELECT = re.compile(
    r'^select\(\s*((?:\.[A-Za-z0-9_\-]+)+)\s*==\s*("(?:[^"\\]|\\.)*"|-?\d+|true|false)\s*\)$'
)


def _jq_paths(doc: Any, expression: str) -> list[list[str | int]]:
    """Paths matched by a jq path expression: ``.a.b``, ``.a["x.y"]``, ``.a[]``, ``.a[0]`` and
    ``| select(.name == "x")`` stages. Anything else matches nothing (and says so at config load
    in a later version)."""
    paths: list[tuple[list[str | int], Any]] = [([], doc)]
    for stage in (s.strip() for s in expression.split("|")):
        selected = _JQ_SELECT.match(stage)
        if selected:
            keys = selected.group(1).strip(".").split(".")
            wanted = json.loads(selected.group(2))
            paths = [(p, v) for p, v in paths if _get(v, keys) == wanted]
            continue
        position, steps = 0, []
        while position < len(stage):
            match = _JQ_STEP.match(stage, position)
            if match is None:
                return []
            steps.append(match)
            position = match.end()
        for step in steps:
            following: list[tuple[list[str | int], Any]] = []
            for path, value in paths:
                key = step.group(1) or step.group(2)
                if key is not None:
                    if isinstance(value, Mapping) and key in value:
                        following.append(([*path, key], value[key]))
                elif isinstance(value, list):
                    indexes = range(len(value)) if step.group(3) == "" else [int(step.group(3))]
                    following.extend(([*path, i], value[i]) for i in indexes if i < len(value))
            paths = following
    return sorted((p for p, _ in paths), key=lambda p: [str(x) for x in p], reverse=True)


def _get(value: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _drop_fields(doc: Any, fields: Mapping[str, Any]) -> None:
    """Remove what a managedFields ``fieldsV1`` tree names (``f:``, ``k:``, ``v:``, ``i:``)."""
    for segment, child in fields.items():
        if segment == ".":
            continue
        leaf = not child or set(child) == {"."}
        if segment.startswith("f:") and isinstance(doc, dict) and segment[2:] in doc:
            if leaf:
                doc.pop(segment[2:])
            else:
                _drop_fields(doc[segment[2:]], child)
        elif segment.startswith(("k:", "v:", "i:")) and isinstance(doc, list):
            wanted = json.loads(segment[2:])
            for index, item in reversed(list(enumerate(doc))):
                hit = (
                    (segment.startswith("k:") and isinstance(item, Mapping)
                     and all(item.get(k) == v for k, v in wanted.items()))
                    or (segment.startswith("v:") and item == wanted)
                    or (segment.startswith("i:") and index == wanted)
                )
                if hit and leaf:
                    doc.pop(index)
                elif hit:
                    _drop_fields(item, child)


def _mask(before: Any, after: Any) -> tuple[Any, Any]:
    def data(obj: Any) -> dict[str, Any]:
        found = obj.get("data") if isinstance(obj, dict) else None
        return dict(found) if isinstance(found, dict) else {}

    old, new = data(before), data(after)
    masked = []
    for side, mine, theirs, label in ((before, old, new, "before"), (after, new, old, "after")):
        obj = copy.deepcopy(side)
        if isinstance(obj, dict) and isinstance(obj.get("data"), dict):
            obj["data"] = {k: _MASK if theirs.get(k) == v else f"{_MASK} ({label})" for k, v in mine.items()}
        masked.append(obj)
    return masked[0], masked[1]


def unified(live: Any, desired: Any, ref: ObjectRef, *, context: int = 3) -> str:
    """A unified diff of the normalised objects (empty when equal); Secret values masked."""
    if live == desired:
        return ""
    if ref.kind == "Secret" and ref.group == "":
        live, desired = _mask(live, desired)
    before = yamldoc.dump_plain(live).splitlines(keepends=True) if live is not None else []
    after = yamldoc.dump_plain(desired).splitlines(keepends=True) if desired is not None else []
    name = f"{ref.kind}/{ref.namespace}/{ref.name}" if ref.namespace else f"{ref.kind}/{ref.name}"
    lines = difflib.unified_diff(before, after, f"live/{name}", f"desired/{name}", n=context)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
