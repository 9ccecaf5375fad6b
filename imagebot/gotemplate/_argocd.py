"""Argo CD's template functions: Sprig (all but ``env``, ``expandenv``, ``getHostByName``; the
ones imagebot provides) plus ``normalize``, ``slugify``, ``toYaml``, ``fromYaml``, ``fromYamlArray``.

ApplicationSet templates with ``goTemplate: true`` may call these. Used by
:mod:`imagebot.config` (a template's syntax and function names are checked when it is loaded) and
:mod:`imagebot.sync` (rendering).
"""

from __future__ import annotations

import json
import posixpath
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from imagebot import yamldoc
from imagebot.gotemplate._fmt import go_str
from imagebot.gotemplate._funcs import FUNCTIONS

__all__ = ["ARGOCD_FUNCTIONS", "normalize"]

_INVALID_DNS = re.compile(r"[^-a-z0-9.]")


def normalize(name: str) -> str:
    """Argo CD's ``SanitizeName``: lowercase, ``[^-a-z0-9.]`` → ``-``, at most 253 characters,
    no leading or trailing ``-``/``.``."""
    return _INVALID_DNS.sub("-", name.lower())[:253].strip("-.")


def _slugify(*args: object) -> str:
    # Argo CD's slugify([maxLength=50], [smartTruncate=true], text) over gosimple/slug: ASCII-fold,
    # lowercase, runs of other characters → "-", truncated (at a word boundary when smart)
    if not args:
        raise TypeError("slugify needs the text to slugify")
    text = args[-1]
    max_length = int(args[0]) if len(args) > 1 else 50  # type: ignore[call-overload]
    smart_truncate = bool(args[1]) if len(args) > 2 else True
    folded = unicodedata.normalize("NFKD", go_str(text)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    if 0 < max_length < len(slug):
        if smart_truncate and "-" in slug[:max_length + 1]:
            slug = slug[:max_length + 1].rsplit("-", 1)[0]
        else:
            slug = slug[:max_length]
    return slug.strip("-")


def _from_yaml(text: str) -> object:
    docs = yamldoc.load_all_plain(go_str(text))
    return docs[0] if docs else None


def _from_yaml_map(text: str) -> dict[str, Any]:
    value = _from_yaml(text)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("fromYaml: the text is not a YAML mapping")
    return value


def _from_yaml_list(text: str) -> list[Any]:
    value = _from_yaml(text)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("fromYamlArray: the text is not a YAML list")
    return value


def _to_yaml(value: object) -> str:
    return yamldoc.dump_plain(value).removesuffix("\n") if value is not None else "null"


def _to_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _dict(*pairs: object) -> dict[str, object]:
    return {go_str(pairs[i]): pairs[i + 1] if i + 1 < len(pairs) else ""
            for i in range(0, len(pairs), 2)}


def _case(text: object, separator: str) -> str:
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", go_str(text))
    return separator.join(w for w in re.split(r"[-_\s]+", words.lower()) if w)


def _dig(*args: object) -> object:
    # Sprig: dig "a" "b" DEFAULT DICT
    if len(args) < 3:
        raise TypeError("dig needs keys, a default and a map")
    *keys, default, mapping = args
    current: object = mapping
    for key in keys:
        if not isinstance(current, Mapping) or key not in current:
            return default
        current = current[key]
    return current


def _get(mapping: Mapping[str, object], key: str) -> object:
    return mapping.get(key, "")


ARGOCD_FUNCTIONS: Mapping[str, Callable[..., object]] = {
    **FUNCTIONS,
    "normalize": lambda text: normalize(go_str(text)),
    "slugify": _slugify,
    "toYaml": _to_yaml,
    "fromYaml": _from_yaml_map,
    "fromYamlArray": _from_yaml_list,
    "toJson": _to_json,
    "toRawJson": _to_json,
    "toPrettyJson": lambda value: json.dumps(value, indent=2, ensure_ascii=False),
    "dict": _dict,
    "get": _get,
    "hasKey": lambda mapping, key: key in mapping,
    "keys": lambda *maps: [k for m in maps for k in m],
    "int": lambda value: int(float(value)) if value not in (None, "") else 0,
    "toStrings": lambda values: [go_str(v) for v in values],
    "add": lambda *numbers: sum(int(n) for n in numbers),
    "sub": lambda a, b: int(a) - int(b),
    "kebabcase": lambda text: _case(text, "-"),
    "snakecase": lambda text: _case(text, "_"),
    "base": lambda text: posixpath.basename(go_str(text).rstrip("/")) or ".",
    "dir": lambda text: posixpath.dirname(go_str(text)) or ".",
    "ext": lambda text: posixpath.splitext(go_str(text))[1],
    "clean": lambda text: posixpath.normpath(go_str(text)) if text else ".",
    "dig": _dig,
    "mustToJson": _to_json,
    "mustToPrettyJson": lambda value: json.dumps(value, indent=2, ensure_ascii=False),
}
"""Go/Sprig functions an ApplicationSet's Go template may call, with Argo CD's own."""
