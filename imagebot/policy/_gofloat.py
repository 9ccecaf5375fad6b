"""Go's ``strconv.ParseFloat(s, 64)``, which Flux's numerical policy applies to every candidate.

Called by :mod:`imagebot.policy._ordering`. Python's ``float()`` differs at the edges: it accepts
``+nan``, surrounding whitespace and non-ASCII digits, rejects hex floats (``0x1p4``), and turns
``1e400`` into ``inf`` where Go reports a range error (so Flux fails the policy).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

__all__ = ["parse_float", "parse_floats", "plain_decimals"]

_D = r"[0-9]+(?:_[0-9]+)*"  # Go allows "_" only between digits (underscoreOK)
_H = r"[0-9a-fA-F]+(?:_[0-9a-fA-F]+)*"
_DECIMAL = re.compile(rf"[+-]?(?:{_D}(?:\.(?:{_D})?)?|\.{_D})(?:[eE][+-]?{_D})?")
_HEX = re.compile(rf"[+-]?0[xX]_?(?:{_H}(?:\.(?:{_H})?)?|\.{_H})[pP][+-]?{_D}")
_SPECIAL = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def parse_float(text: str) -> float | None:
    """The value Go parses from ``text``, or ``None`` for a syntax or range error."""
    if text.isdigit() and text.isascii():  # the common build number, without a regex
        value = float(text)
        return None if math.isinf(value) else value
    special = text.lower().replace("infinity", "inf")
    if special in _SPECIAL and len(text) in (3, 4, 8, 9):
        return _SPECIAL[special]
    if _DECIMAL.fullmatch(text):
        value = float(text.replace("_", ""))
    elif _HEX.fullmatch(text):
        try:
            value = float.fromhex(text.replace("_", ""))
        except OverflowError:
            return None
    else:
        return None
    return None if math.isinf(value) else value


def plain_decimals(values: Sequence[str]) -> list[float] | None:
    """The numbers of a list of plain decimals (build numbers, the usual numerical policy),
    converted by ``float`` in C; ``None`` unless every value is one. Over ASCII digits and dots,
    Python's and Go's grammars agree (``1.``, ``.5``; ``.`` and ``1.2.3`` fail both), and a huge
    number overflows to inf where Go reports a range error: such lists are ``None`` too. The
    numbers are finite and never negative or NaN."""
    joined = "".join(values)
    # one grammar check for all of them (a value with a newline or a space fails it too)
    if not values or not joined.isascii() or joined.encode().translate(None, b"0123456789."):
        return None
    try:
        numbers = list(map(float, values))
    except ValueError:  # ".", "1.2.3", ""
        return None
    if math.isinf(sum(numbers)) and math.isinf(max(numbers)):  # (the sum may overflow alone)
        return None
    return numbers


def parse_floats(values: Sequence[str]) -> list[float | None]:
    """``[parse_float(v) for v in values]``, plain decimals in C (:func:`plain_decimals`)."""
    numbers = plain_decimals(values)
    if numbers is not None:
        return list[float | None](numbers)
    return [parse_float(value) for value in values]
