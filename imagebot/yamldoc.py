"""The only home of ruamel.yaml: loading YAML documents for config and locating scalars for setters.

Callers get plain Python data (config, :func:`load_all_plain`) or positioned value scalars
(:mod:`imagebot.setters`, :func:`locate_scalars`); ruamel's exceptions are translated here into
``ValueError`` subclasses carrying the line, so no ruamel type escapes.
"""

from __future__ import annotations

import dataclasses
import io
import re
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    DocumentStartEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceStartEvent,
)
from ruamel.yaml.reader import ReaderError

__all__ = [
    "MAX_DEPTH", "PathKey", "Scalar", "ScalarStyle", "YAMLSyntaxError", "check_depth", "dump_plain",
    "key_lines", "load_all_plain", "locate_scalars",
]

MAX_DEPTH = 1000
"""Nesting levels a document may have. Kubernetes manifests nest a few dozen; 20,000 levels of
``[[[…]]]`` (39 KiB) took ~2 GB to locate and 30,000 crashed libyaml's C composer, so depth is
checked on the text before any parser runs."""

# what can open or close a flow level, or hide brackets from the count: quoted scalars (a quote
# only opens one where a scalar can start) and comments (a '#' at a line start or after a space)
_FLOW_TOKENS = re.compile(
    r"""(?:(?<=[\s\[{,])|^)(?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*')|(?:(?<=\s)|^)#[^\n]*|[\[\]{}]""",
    re.MULTILINE,
)
_BLOCK_PREFIX = re.compile(r"^[ \t?-]*", re.MULTILINE)


class YAMLSyntaxError(ValueError):
    """A document that does not parse; ``line`` is 1-based (0 when unknown)."""

    # a plain exception, not a frozen dataclass: those break when re-raised through
    # contextlib (the traceback cannot be set on a frozen instance)
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(line, problem)
        self.line = line
        self.problem = problem

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}" if self.line else self.problem


def check_depth(text: str, *, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`YAMLSyntaxError` naming the line where ``text`` nests more than ``limit``
    levels: flow collections (``[``/``{`` outside quotes and comments) and block indentation or
    compact ``- - -`` entries (two characters a level). A cheap scan, before any parser runs."""
    depth = 0
    for match in _FLOW_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                _too_deep(text, match.start(), limit)
        elif token in "]}":
            depth = max(depth - 1, 0)
    for match in _BLOCK_PREFIX.finditer(text):
        if match.end() - match.start() > 2 * limit:
            _too_deep(text, match.start(), limit)


def _too_deep(text: str, offset: int, limit: int) -> None:
    line = text.count("\n", 0, offset) + 1
    raise YAMLSyntaxError(line, f"nested more than {limit} levels deep; not parsed")


def load_all_plain(text: str) -> list[Any]:
    """Every document of ``text`` as plain dicts/lists/scalars; an empty document is ``None``.

    libyaml (``ruamel.yaml.clib``) parses first when installed: config needs values, not
    positions, and it loads a 200-object ``policies/`` directory six times faster. It follows YAML
    1.1's stricter flow syntax (``{url: https://x}`` is an error there), so anything it rejects is
    parsed again by the pure YAML 1.2 parser, whose verdict and error line count. Values are the
    same either way: both use ruamel's YAML 1.2 resolver. Nesting is bounded first
    (:func:`check_depth`).
    """
    check_depth(text)
    try:
        return list(YAML(typ="safe").load_all(text))
    except YAMLError:
        pass
    documents = _load_marked(text)
    if documents is not None:
        return documents
    yaml = YAML(typ="safe", pure=True)
    try:
        return list(yaml.load_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YAMLSyntaxError(line, exc.problem or exc.context or "invalid YAML") from exc
    except YAMLError as exc:
        raise YAMLSyntaxError(0, str(exc).splitlines()[0]) from exc


_MARK = "\ue000"  # a private-use character: never in a sane configuration (checked)
_HOST_PORT_COLON = re.compile(r"(?<=[A-Za-z0-9.\-_]):(?=[0-9])")
"""A ``:`` between a name and a digit, as in ``localhost:5000/app``: text in YAML 1.2, but an
error inside a flow collection for libyaml (YAML 1.1)."""
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]")


class _NotSame(Exception):
    """A marked scalar might not have resolved to the same value."""


def _unmark(node: Any) -> Any:
    if isinstance(node, str):
        if _MARK not in node:
            return node
        text = node.replace(_MARK, ":")
        if _TIMESTAMP.match(text):  # a timestamp is not text under the YAML 1.2 resolver
            raise _NotSame
        return text
    if isinstance(node, list):
        return [_unmark(item) for item in node]
    if isinstance(node, dict):
        return {_unmark(key): _unmark(value) for key, value in node.items()}
    return node


def _load_marked(text: str) -> list[Any] | None:
    """libyaml's reading of ``text`` when it failed only on ``host:port`` colons in flow
    collections (``spec: {image: localhost:5000/app}``), else ``None`` (use the pure parser).

    Such a colon is replaced by a private-use character for libyaml and put back in every key
    and value: a plain scalar holding a ``:`` is text under the YAML 1.2 core schema either way,
    except a timestamp, which sends the text to the pure parser. A colon after a quote or a
    bracket (JSON-like ``{"port":5000}``) is an indicator and left alone. Four times faster than
    the pure parser on a 200-object file written in flow style with a registry port.
    """
    if _MARK in text:
        return None
    marked = _HOST_PORT_COLON.sub(_MARK, text)
    if marked == text:
        return None
    try:
        return [_unmark(document) for document in YAML(typ="safe").load_all(marked)]
    except (YAMLError, _NotSame):
        return None


def dump_plain(data: Any) -> str:
    """``data`` (plain dicts/lists/scalars) as block-style YAML, keys in the order given.

    Used by the sync stage to print objects and diffs; never to rewrite a user's file.
    """
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096  # no folding of long strings: a diff line should be one value
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


ScalarStyle = Literal["plain", "single", "double", "literal", "folded"]
PathKey = str | int
"""A mapping key (scalar keys only; complex keys show as ``"?"``) or a sequence index."""

_STYLES: dict[str | None, ScalarStyle] = {
    None: "plain", "'": "single", '"': "double", "|": "literal", ">": "folded",
}
_MAPPING_VALUE = re.compile(r"[ \t]*:")
_PROPERTY = re.compile(r"(?:[ \t\r\n]+|#[^\r\n]*|&[^ \t\r\n]*|!<[^>]*>|![^ \t\r\n]*)")


@dataclasses.dataclass(frozen=True, slots=True)
class Scalar:
    """A scalar *value* (mapping value, sequence item or document root) located in the text.

    Offsets index the ``str`` given to :func:`locate_scalars` (a BOM counts as one character), so
    ``text[start:end]`` is the scalar exactly as written, quotes included and anchor/tag excluded.
    An empty plain value (``tag:`` or ``-``) has ``start == end`` just after its indicator.
    """

    value: str
    document: int
    """0-based index of the document in the stream."""
    path: tuple[PathKey, ...]
    start: int
    end: int
    line: int
    """1-based line on which the scalar ends (where its line comment sits)."""
    style: ScalarStyle
    tag: str | None
    """Explicit tag (``!!str`` → ``tag:yaml.org,2002:str``); ``None`` when implicit."""
    flow: bool
    """Inside a flow collection (``[...]`` / ``{...}``)."""


@dataclasses.dataclass(slots=True)
class _Frame:
    up: _Frame | None
    """The enclosing collection; a level holds only its own key (``segment``), so tracking is
    linear in the depth and the full path is built only for a reported scalar."""
    segment: PathKey | None
    mapping: bool
    flow: bool
    in_key: bool = False
    expect_key: bool = True
    key: PathKey = "?"
    key_end: int = -1
    key_line: int = 0
    index: int = 0

    def path(self) -> tuple[PathKey, ...]:
        parts: list[PathKey] = []
        frame: _Frame | None = self
        while frame is not None and frame.segment is not None:
            parts.append(frame.segment)
            frame = frame.up
        return tuple(reversed(parts))


_COLLECTIONS = (MappingStartEvent, SequenceStartEvent)


def locate_scalars(text: str) -> list[Scalar]:
    """Every scalar value of every document in ``text``, in document order; keys and aliases are
    not reported (an anchored scalar is reported once, where it is defined).

    Only a parser runs (no composing, no tag resolution), which keeps this cheap; raises
    :class:`YAMLSyntaxError` when ``text`` is not YAML. libyaml (``ruamel.yaml.clib``) parses
    first when installed — about ten times faster than the pure parser, the setters' hot path —
    and its result is used only when every scalar it reports checks out against the text; a BOM,
    anything libyaml rejects (YAML 1.1's stricter flow syntax) or any mismatch goes to the pure
    YAML 1.2 parser, whose positions and errors are the reference. Nesting is bounded first
    (:func:`check_depth`); memory is linear in the depth (each level holds only its own key).
    """
    check_depth(text)
    if not text.startswith("\ufeff"):
        try:
            found = _locate(text, pure=False)
        except YAMLError:
            pass
        else:
            if all(_checks_out(text, scalar) for scalar in found):
                return found
    try:
        return _locate(text, pure=True)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YAMLSyntaxError(line, exc.problem or exc.context or "invalid YAML") from exc
    except ReaderError as exc:
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise YAMLSyntaxError(line, str(exc).splitlines()[0]) from exc
    except YAMLError as exc:
        raise YAMLSyntaxError(0, str(exc).splitlines()[0]) from exc


_QUOTES = {"single": "'", "double": '"'}


def _checks_out(text: str, scalar: Scalar) -> bool:
    written = text[scalar.start:scalar.end]
    if scalar.style == "plain":
        return written == scalar.value or (not written and not scalar.value)
    if scalar.style in _QUOTES:
        quote = _QUOTES[scalar.style]
        return len(written) >= 2 and written[0] == quote and written[-1] == quote
    return written[:1] in ("|", ">")


def _locate(text: str, *, pure: bool) -> list[Scalar]:
    found: list[Scalar] = []
    stack: list[_Frame] = []
    document = -1
    for event in YAML(typ="safe", pure=pure).parse(text):
        kind = type(event)  # exact-type dispatch: this loop runs once per YAML event
        if kind is ScalarEvent or kind is AliasEvent or kind in _COLLECTIONS:
            _visit(text, event, document, stack, found)
        elif issubclass(kind, CollectionEndEvent):
            stack.pop()
        elif kind is DocumentStartEvent:
            document += 1
            stack.clear()
    return found


def _visit(text: str, event: Any, document: int, stack: list[_Frame], found: list[Scalar]) -> None:
    parent = stack[-1] if stack else None
    kind = type(event)
    segment: PathKey | None
    if parent is None:
        segment = None
    elif parent.mapping:
        if parent.expect_key:
            parent.expect_key = False
            parent.key_line = event.end_mark.line
            if kind is ScalarEvent:
                parent.key, parent.key_end = event.value, event.end_mark.index
            else:
                parent.key, parent.key_end = "?", -1
                if kind in _COLLECTIONS:  # a complex key: walk it, but report nothing inside
                    stack.append(_Frame(None, None, kind is MappingStartEvent, True, in_key=True))
            return
        parent.expect_key = True
        segment = parent.key
    else:
        segment = parent.index
        parent.index += 1
    in_key = parent is not None and parent.in_key
    if kind is ScalarEvent:
        if not in_key:
            path = (*parent.path(), segment) if parent is not None and segment is not None else ()
            found.append(_scalar(text, event, document, path, parent))
    elif kind is not AliasEvent:
        flow = bool(event.flow_style) or (parent is not None and parent.flow)
        stack.append(_Frame(parent, segment, kind is MappingStartEvent, flow, in_key))


def _scalar(
    text: str, event: ScalarEvent, document: int, path: tuple[PathKey, ...], parent: _Frame | None
) -> Scalar:
    start, end, line = event.start_mark.index, event.end_mark.index, event.end_mark.line + 1
    style = _STYLES.get(event.style, "plain")
    if event.anchor is not None or event.tag is not None:
        while start < end and (match := _PROPERTY.match(text, start)) and match.end() > start:
            start = match.end()
    empty = style == "plain" and not event.value and start == end
    if empty and parent is not None and parent.mapping and parent.key_end >= 0:
        # ruamel marks an empty mapping value at the *next* token; anchor it after its ':'
        colon = _MAPPING_VALUE.match(text, parent.key_end)
        if colon is not None:
            start = end = colon.end()
            line = parent.key_line + 1
    return Scalar(
        value=event.value, document=document, path=path, start=start, end=end, line=line,
        style=style, tag=event.tag, flow=parent is not None and parent.flow,
    )


def key_lines(text: str) -> dict[tuple[int, str], int]:
    """Where each mapping key of ``text`` is written: ``(document, key path)`` → 1-based line.

    ``document`` is 1-based; key paths read like config errors (``spec.generators[0].list``);
    ``(document, "")`` is the line the document's content starts on. Used to put a line on a
    finding (``imagebot validate``); raises :class:`YAMLSyntaxError` when ``text`` is not YAML.
    """
    check_depth(text)
    lines: dict[tuple[int, str], int] = {}
    stack: list[_KeyFrame] = []
    document = 0
    try:
        events = list(YAML(typ="safe", pure=True).parse(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YAMLSyntaxError(line, exc.problem or "invalid YAML") from exc
    except YAMLError as exc:
        raise YAMLSyntaxError(0, str(exc).splitlines()[0]) from exc
    for event in events:
        kind = type(event)
        if kind is DocumentStartEvent:
            document += 1
            stack.clear()
            continue
        if not (kind is ScalarEvent or kind is AliasEvent or kind in _COLLECTIONS):
            if issubclass(kind, CollectionEndEvent) and stack:
                stack.pop()
            continue
        parent = stack[-1] if stack else None
        path: tuple[PathKey, ...] = ()
        if parent is None:
            lines.setdefault((document, ""), event.start_mark.line + 1)
        elif parent.mapping and parent.expect_key:
            parent.expect_key = False
            parent.key = event.value if kind is ScalarEvent else "?"
            lines.setdefault((document, _dotted((*parent.path, parent.key))), event.start_mark.line + 1)
            if kind in _COLLECTIONS:  # a complex key: walked, its keys recorded under "?"
                stack.append(_KeyFrame(("?",), kind is MappingStartEvent))
            continue
        elif parent.mapping:
            parent.expect_key = True
            path = (*parent.path, parent.key)
        else:
            path = (*parent.path, parent.index)
            parent.index += 1
        if kind in _COLLECTIONS:
            stack.append(_KeyFrame(path, kind is MappingStartEvent))
    return lines


@dataclasses.dataclass(slots=True)
class _KeyFrame:
    path: tuple[PathKey, ...]
    mapping: bool
    expect_key: bool = True
    key: PathKey = "?"
    index: int = 0


def _dotted(path: tuple[PathKey, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
