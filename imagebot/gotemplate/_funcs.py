"""Go text/template built-ins and Sprig's hermetic functions, as Jinja2 globals.

Flux renders with ``sprig.HermeticTxtFuncMap()`` (no env, time, random or network functions); a
converted template calls the same names with the same argument order (the piped value last), so
``{{ .X | trunc 40 }}`` becomes ``trunc(40, X)``. Registered by :mod:`imagebot.gotemplate._render`;
the names a converted template may use are checked by :mod:`imagebot.gotemplate._convert`.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from imagebot.gotemplate._fmt import go_quote, go_str, sprint, sprintf, sprintln

__all__ = ["FUNCTIONS", "go_items", "go_values"]

_NOT_SEPARATOR = re.compile(r"[A-Za-z0-9_]")


def go_items(value: object) -> Iterable[tuple[object, object]]:
    """``range $k, $v := X``: (key, value) of a map in its order, (index, element) of a list."""
    if isinstance(value, Mapping):
        return list(value.items())
    if isinstance(value, str):
        raise TypeError("range can't iterate over a string")
    if isinstance(value, int) and not isinstance(value, bool):
        return list(enumerate(range(value)))
    return list(enumerate(_iterable(value)))


def go_values(value: object) -> Iterable[object]:
    """``range X`` / ``range $v := X``: the values of a map, the elements of a list."""
    if isinstance(value, Mapping):
        return list(value.values())
    if isinstance(value, str):
        raise TypeError("range can't iterate over a string")
    if isinstance(value, int) and not isinstance(value, bool):
        return list(range(value))
    return list(_iterable(value))


def _iterable(value: object) -> Iterable[object]:
    if not isinstance(value, Iterable):
        raise TypeError(f"range can't iterate over {type(value).__name__}")
    return value


def _empty(value: object) -> bool:
    if value is None or value is False:
        return True
    if isinstance(value, int | float | str | Sequence | Mapping):
        return not value
    return False


def _length(value: object) -> int:
    if isinstance(value, str):
        return len(value.encode())  # Go's len counts bytes
    if isinstance(value, Sequence | Mapping):
        return len(value)
    raise TypeError(f"len of {type(value).__name__}")


def _index(value: object, *keys: object) -> object:
    for key in keys:
        value = value[key]  # type: ignore[index]
    return value


def _trunc(count: int, text: str) -> str:
    if count < 0 and len(text) + count > 0:
        return text[len(text) + count:]
    if count >= 0 and len(text) > count:
        return text[:count]
    return text


def _substr(start: int, end: int, text: str) -> str:
    if start < 0:
        return text[:end]
    if end < 0 or end > len(text):
        return text[start:]
    return text[start:end]


def _title(text: str) -> str:
    out: list[str] = []
    previous = " "
    for char in text:
        separated = not (_NOT_SEPARATOR.match(previous) or (previous.isalpha() and not previous.isascii()))
        out.append(char.upper() if separated else char)
        previous = char
    return "".join(out)


def _indent(spaces: int, text: str) -> str:
    pad = " " * spaces
    return pad + text.replace("\n", "\n" + pad)


def _abbrev(width: int, text: str) -> str:
    if width < 4 or len(text) <= width:
        return text
    return text[: width - 3] + "..."


def _strings(values: Iterable[object]) -> list[str]:
    return [go_str(v) for v in values if v is not None]


def _list(*values: object) -> list[object]:
    return list(values)


def _first(values: Sequence[object]) -> object:
    return values[0] if values else None


def _last(values: Sequence[object]) -> object:
    return values[-1] if values else None


FUNCTIONS: Mapping[str, Callable[..., object]] = {
    # Go text/template built-ins (and/or/not/eq/ne/lt/le/gt/ge become Jinja2 operators)
    "print": sprint,
    "printf": sprintf,
    "println": sprintln,
    "len": _length,
    "index": _index,
    # Sprig, hermetic subset (strings)
    "lower": lambda s: go_str(s).lower(),
    "upper": lambda s: go_str(s).upper(),
    "title": lambda s: _title(go_str(s)),
    "trim": lambda s: go_str(s).strip(" \t\n\r\v\f"),
    "trimAll": lambda cutset, s: go_str(s).strip(cutset),
    "trimPrefix": lambda prefix, s: go_str(s).removeprefix(prefix),
    "trimSuffix": lambda suffix, s: go_str(s).removesuffix(suffix),
    "contains": lambda substr, s: substr in go_str(s),
    "hasPrefix": lambda prefix, s: go_str(s).startswith(prefix),
    "hasSuffix": lambda suffix, s: go_str(s).endswith(suffix),
    "replace": lambda old, new, s: go_str(s).replace(old, new),
    "repeat": lambda count, s: go_str(s) * min(int(count), 10_000),
    "trunc": lambda count, s: _trunc(int(count), go_str(s)),
    "substr": lambda start, end, s: _substr(int(start), int(end), go_str(s)),
    "abbrev": lambda width, s: _abbrev(int(width), go_str(s)),
    "nospace": lambda s: "".join(go_str(s).split()),
    "quote": lambda *values: " ".join(go_quote(s) for s in _strings(values)),
    "squote": lambda *values: " ".join(f"'{s}'" for s in _strings(values)),
    "cat": lambda *values: " ".join(_strings(values)),
    "indent": lambda spaces, s: _indent(int(spaces), go_str(s)),
    "nindent": lambda spaces, s: "\n" + _indent(int(spaces), go_str(s)),
    "join": lambda sep, values: sep.join(_strings(values)),
    "splitList": lambda sep, s: go_str(s).split(sep),
    "toString": go_str,
    "sha1sum": lambda s: hashlib.sha1(go_str(s).encode()).hexdigest(),  # Sprig's sha1sum, not for security
    "sha256sum": lambda s: hashlib.sha256(go_str(s).encode()).hexdigest(),
    "adler32sum": lambda s: str(zlib.adler32(go_str(s).encode())),
    "b64enc": lambda s: base64.b64encode(go_str(s).encode()).decode(),
    "b64dec": lambda s: base64.b64decode(go_str(s)).decode(errors="replace"),
    # Sprig, defaults and lists
    "default": lambda default, *given: default if not given or _empty(given[0]) else given[0],
    "empty": _empty,
    "coalesce": lambda *values: next((v for v in values if not _empty(v)), None),
    "ternary": lambda true, false, condition: true if condition else false,
    "list": _list,
    "first": _first,
    "last": _last,
    "sortAlpha": lambda values: sorted(_strings(values)),
}
"""Every function a converted template may call, by its Go/Sprig name."""
