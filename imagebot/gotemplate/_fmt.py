"""Go's ``fmt`` printing rules for template values: ``%v``, ``Sprint``, ``Sprintln``, ``Sprintf``.

Go's text/template (Flux commit messages, Argo CD ApplicationSets) prints every value with
``fmt``; converted templates must print the same text. Used by :mod:`imagebot.publish._templatedata`
(``__str__`` of the Flux data types), :mod:`imagebot.gotemplate._funcs` (``print``/``printf``) and
the renderer's ``finalize``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

__all__ = ["MAX_WIDTH", "go_quote", "go_str", "sprint", "sprintf", "sprintln"]

MAX_WIDTH = 4096
"""The widest field or precision a template format may ask for (``%300000000s`` is refused before
any padding is allocated)."""

_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+))?([a-zA-Z%])")


def go_str(value: object) -> str:
    """``fmt.Sprint(value)`` for the value shapes templates see (``%v``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{go_str(k)}:{go_str(v)}" for k, v in value.items()) + "]"
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return "[" + " ".join(go_str(v) for v in value) + "]"
    return str(value)


def go_quote(text: str) -> str:
    """``strconv.Quote``: a double-quoted Go string literal (close to JSON for printable text)."""
    return json.dumps(text, ensure_ascii=False)


def sprint(*args: object) -> str:
    """``fmt.Sprint``: spaces between operands only when neither side is a string."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(go_str(arg))
    return "".join(out)


def sprintln(*args: object) -> str:
    """``fmt.Sprintln``: always spaces between operands, and a final newline."""
    return " ".join(go_str(a) for a in args) + "\n"


def sprintf(format_: str, *args: object) -> str:
    """``fmt.Sprintf`` for the verbs templates use: ``%s %v %d %q %x %X %t %%``, width and flags."""
    out: list[str] = []
    pos = 0
    used = 0
    for match in _VERB.finditer(format_):
        out.append(format_[pos:match.start()])
        pos = match.end()
        flags, width, precision, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        if width == "*":
            if used >= len(args):
                out.append("%!(BADWIDTH)")
                continue
            width = str(args[used])
            used += 1
        for number in (width, precision):
            if number is not None and number.lstrip("-").isdigit() and abs(int(number)) > MAX_WIDTH:
                raise ValueError(f"format width {number} is too large (at most {MAX_WIDTH})")
        if used >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[used]
        used += 1
        out.append(_pad(_verb(verb, arg, precision), flags, width))
    out.append(format_[pos:])
    if used < len(args):
        extra = ", ".join(f"{_go_type(a)}={go_str(a)}" for a in args[used:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _verb(verb: str, arg: object, precision: str | None) -> str:
    if verb in "sv":
        text = go_str(arg)
        return text[: int(precision)] if precision is not None and verb == "s" else text
    if verb == "q":
        return go_quote(go_str(arg))
    if verb == "d" and isinstance(arg, int) and not isinstance(arg, bool):
        return str(arg)
    if verb == "t" and isinstance(arg, bool):
        return go_str(arg)
    if verb in "xX":
        if isinstance(arg, int) and not isinstance(arg, bool):
            text = format(arg, "x")
        else:
            text = go_str(arg).encode().hex()
        return text.upper() if verb == "X" else text
    return f"%!{verb}({_go_type(arg)}={go_str(arg)})"


def _pad(text: str, flags: str, width: str | None) -> str:
    if not width:
        return text
    size = int(width)
    if "-" in flags:
        return text.ljust(size)
    return text.rjust(size, "0" if "0" in flags and text.lstrip("-").isdigit() else " ")


def _go_type(value: object) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return type(value).__name__
