"""What a marker writes, and how it is spelled in the file.

``wanted`` picks the part of an :class:`~imagebot.model.images.ImageRef` a marker asks for;
``spell`` renders it in the scalar's own quote style, double-quoting a new plain value that a
YAML 1.1 reader (Helm, go-yaml v2) would not read back as a string (flux-semantics §5.2).
Called by :mod:`imagebot.setters._edit`; ``check_ref`` guards :func:`imagebot.setters.plan`.
"""

from __future__ import annotations

import re

from imagebot.model import images
from imagebot.model.images import ImageRef
from imagebot.setters._markers import Field
from imagebot.yamldoc import ScalarStyle

__all__ = ["check_ref", "needs_quotes", "spell", "wanted"]

_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}")

# Plain scalars that go-yaml v2 (kyaml, Helm) or YAML 1.2 (ruamel) read as something other than a
# string. go-yaml v2 tries Go's ParseInt(base 0) and its float pattern; YAML 1.1 adds the words.
_NOT_A_STRING = re.compile(
    r"""(?x)
    [-+]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)   # int, any base
    | [-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?   # float
    | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
    | y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE
    | on|On|ON|off|Off|OFF
    | ~|null|Null|NULL|<<|=
    | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9].*)?   # timestamps (a safe extension)
    """
)
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW_INDICATORS = frozenset(",[]{}")


def check_ref(ref: ImageRef) -> None:
    """Raise ``ValueError`` unless ``ref`` is safe to splice into YAML (a valid reference)."""
    images.parse_image_repo(ref.name)
    if not _TAG.fullmatch(ref.tag):
        raise ValueError(f"invalid tag {ref.tag!r} for {ref.name}")
    if ref.digest is not None and not _DIGEST.fullmatch(ref.digest):
        raise ValueError(f"invalid digest {ref.digest!r} for {ref.name}")


def wanted(ref: ImageRef, field: Field) -> str | None:
    """The value a marker of ``field`` writes; ``None`` for ``:digest`` when there is none."""
    if field == "tag":
        return ref.tag
    if field == "name":
        return ref.name
    if field == "digest":
        return ref.digest
    return str(ref)


def needs_quotes(value: str, *, flow: bool) -> bool:
    """True when ``value`` cannot be written as a plain scalar that reads back as this string."""
    if not value or value != value.strip() or _NOT_A_STRING.fullmatch(value):
        return True
    if value[0] in _INDICATORS or value.startswith(("---", "...")):
        return True
    if ": " in value or " #" in value or value.endswith(":") or not value.isprintable():
        return True
    return flow and not _FLOW_INDICATORS.isdisjoint(value)


def spell(value: str, *, style: ScalarStyle, flow: bool) -> str:
    """``value`` as scalar text in ``style`` (plain becomes double-quoted when it must)."""
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    if style == "double" or needs_quotes(value, flow=flow):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value
