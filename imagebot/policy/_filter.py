"""``filterTags``: search each tag with the pattern and expand ``extract`` the way Go's ``Expand`` does.

Called by :mod:`imagebot.policy._evaluate`. The pattern is a search (``rc`` matches
``1.0.0-rc.1``); only the first match counts. In ``extract``, ``$name``/``${name}`` take the
longest run of letters, digits and ``_`` (so ``$1x`` is group "1x", usually empty, while
``${1}x`` is group 1 then ``x``), ``$$`` is ``$``, a ``$`` without a valid name stays literal, and
unknown or non-participating groups expand to nothing (flux image-reflector ``filter.go``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Sequence

from imagebot.errors import ConfigError
from imagebot.model import flux
from imagebot.model.ids import Tag
from imagebot.patterns import InvalidPattern, Pattern, Spans, compile_pattern

__all__ = ["Filter", "compile_filter", "exclude", "parse_template"]

Part = str | tuple[int, ...]
"""Literal text, or the indices of the groups a ``$name`` may take (first participating wins)."""


def _name(text: str) -> tuple[str, int, str] | None:
    """Go's ``extract``: the name after ``$``, its group number (or -1) and the rest."""
    brace = text.startswith("{")
    body = text[1:] if brace else text
    i = 0
    while i < len(body) and (body[i].isalpha() or body[i].isdecimal() or body[i] == "_"):
        i += 1
    if i == 0:
        return None
    name = body[:i]
    if brace:
        if i >= len(body) or body[i] != "}":
            return None
        i += 1
    num = 0
    for ch in name:
        if not "0" <= ch <= "9" or num >= 100_000_000:
            num = -1
            break
        num = num * 10 + ord(ch) - ord("0")
    if name[0] == "0" and len(name) > 1:
        num = -1
    return name, num, body[i:]


def parse_template(template: str, names: tuple[str, ...]) -> tuple[Part, ...]:
    """Compile an ``extract`` template against the pattern's group names."""
    parts: list[Part] = []
    literal: list[str] = []
    rest = template
    while rest:
        before, dollar, after = rest.partition("$")
        if not dollar:
            break
        literal.append(before)
        rest = after
        if rest.startswith("$"):
            literal.append("$")
            rest = rest[1:]
            continue
        parsed = _name(rest)
        if parsed is None:
            literal.append("$")
            continue
        name, num, rest = parsed
        if "".join(literal):
            parts.append("".join(literal))
        literal = []
        if num >= 0:
            parts.append((num,) if num < len(names) else ())
        else:
            parts.append(tuple(i for i, group in enumerate(names) if group == name))
    literal.append(rest)
    if "".join(literal):
        parts.append("".join(literal))
    return tuple(parts)


def _expand(parts: tuple[Part, ...], subject: str, spans: Spans) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        for index in part:
            start, end = spans[index]
            if start >= 0:
                out.append(subject[start:end])
                break
    return "".join(out)


@dataclasses.dataclass(frozen=True, slots=True)
class Filter:
    pattern: Pattern
    extract: str
    parts: tuple[Part, ...] | None
    """``None`` without ``extract``: the candidate value is the tag itself."""

    def value(self, tag: str) -> str | None:
        """The candidate value for ``tag``, or ``None`` when the pattern does not match."""
        spans = self.pattern.search(tag)
        if spans is None:
            return None
        if self.parts is None:
            return tag
        return _expand(self.parts, tag, spans)

    def values(self, tags: Sequence[str]) -> list[str | None]:
        """``[self.value(t) for t in tags]``, with one regex call per tag and nothing more where
        ``extract`` is a single ``$name`` (the usual ``$ts``)."""
        parts = self.parts
        group = parts[0][0] if parts is not None and len(parts) == 1 and len(parts[0]) == 1 else None
        out: list[str | None] = []
        append = out.append
        for tag, spans in zip(tags, self.pattern.search_all(tags), strict=True):
            if spans is None or parts is None:
                append(None if spans is None else tag)
            elif group is not None:
                start, end = spans[group]  # type: ignore[index]
                append(tag[start:end] if start >= 0 else "")
            else:
                append(_expand(parts, tag, spans))
        return out


@functools.lru_cache(maxsize=256)
def compile_filter(pattern: str, extract: str) -> Filter:
    """Raises :class:`~imagebot.patterns.InvalidPattern` for a bad pattern."""
    compiled = compile_pattern(pattern)
    parts = parse_template(extract, compiled.names) if extract else None
    return Filter(compiled, extract, parts)


def exclude(
        tags: Iterable[Tag], repository: flux.ImageRepository,
) -> tuple[tuple[Tag, ...], tuple[Tag, ...]]:
    """``(kept, excluded)``: a tag is dropped when any ``exclusionList`` pattern matches anywhere."""
    patterns = []
    for text in repository.exclusion_list:
        try:
            patterns.append(compile_pattern(text))
        except InvalidPattern as exc:
            where = f"{repository.source}: " if repository.source else ""
            raise ConfigError(
                f"{where}ImageRepository {repository.key}: spec.exclusionList pattern {text!r} "
                f"is not a valid Go regular expression: {exc}"
            ) from None
    kept: list[Tag] = []
    excluded: list[Tag] = []
    for tag in tags:
        (excluded if any(p.search(tag) for p in patterns) else kept).append(tag)
    return tuple(kept), tuple(excluded)
