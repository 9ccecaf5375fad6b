"""Parse Go text/template source into a small tree: text, actions, pipelines, control blocks.

Lexing applies Go's trim markers (``{{- ``/`` -}}``: spaces, tabs, CR, LF) and drops comments; the
parser builds ``Node``s for :mod:`imagebot.gotemplate._convert`, which writes the Jinja2. Errors
are ``ConfigError`` with the template line.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

from imagebot import errors

__all__ = ["Action", "Node", "Operand", "Pipeline", "fail", "parse"]

_TRIM = " \t\r\n"
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<declare>:=)
  | (?P<assign>=)
  | (?P<pipe>\|)
  | (?P<comma>,)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\\n]|\\.[^']*)')
  | (?P<number>[-+]?(?:0[xX][0-9a-fA-F_]+|\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))
  | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
  | (?P<dot>\.)
  | (?P<var>\$[A-Za-z0-9_]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE | re.DOTALL)
_ESCAPE = re.compile(r"""\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|[abfnrtv\\'"])""")
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
                   "\\": "\\", "'": "'", '"': '"'}


def fail(line: int, message: str) -> errors.ConfigError:
    return errors.ConfigError(f"Go template, line {line}: {message}")


def parse(source: str) -> list[Node]:
    return _Parser(_lex(source)).parse()


# --- lexing ------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _Token:
    kind: str
    text: str
    line: int
    spaced: bool
    """Whitespace came right before this token (``$x .A`` is two operands, ``$x.A`` one)."""


@dataclasses.dataclass(slots=True)
class Action:
    tokens: list[_Token]
    line: int


def _lex(source: str) -> list[str | Action]:
    items: list[str | Action] = []
    pos = 0
    trim_next = False
    while True:
        start = source.find("{{", pos)
        text = source[pos:] if start < 0 else source[pos:start]
        if trim_next:
            text = text.lstrip(_TRIM)
        if start < 0:
            items.append(text)
            return items
        line = source.count("\n", 0, start) + 1
        cursor = start + 2
        if source[cursor:cursor + 1] == "-" and source[cursor + 1:cursor + 2] in tuple(_TRIM):
            text = text.rstrip(_TRIM)
            cursor += 2
        items.append(text)
        action, cursor, trim_next = _lex_action(source, cursor, line)
        if action is not None:
            items.append(action)
        pos = cursor


def _lex_action(source: str, cursor: int, line: int) -> tuple[Action | None, int, bool]:
    stripped = cursor
    while stripped < len(source) and source[stripped] in _TRIM:
        stripped += 1
    if source.startswith("/*", stripped):
        end = source.find("*/", stripped + 2)
        if end < 0:
            raise fail(line, "unclosed comment")
        rest = end + 2
        match = re.compile(r"(\s+-)?\}\}").match(source, rest)
        if not match:
            raise fail(line, "comment ends before closing delimiter")
        return None, match.end(), match.group(1) is not None
    tokens: list[_Token] = []
    spaced = False
    while True:
        close = re.compile(r"(\s+-)?\}\}").match(source, cursor)
        if close:
            return Action(tokens, line), close.end(), close.group(1) is not None
        match = _TOKEN.match(source, cursor)
        if match is None:
            if cursor >= len(source):
                raise fail(line, "unclosed action")
            raise fail(line, f"unexpected {source[cursor]!r} in action")
        kind = match.lastgroup or ""
        if kind == "space":
            spaced = True
        else:
            tokens.append(_Token(kind, match.group(), line, spaced))
            spaced = False
        cursor = match.end()


# --- parsing -----------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class Operand:
    kind: str  # field | var | literal | ident | paren | dot
    value: object
    chain: list[str]


@dataclasses.dataclass(slots=True)
class Pipeline:
    commands: list[list[Operand]]
    declare: list[str]
    """Variables of ``$x :=`` / ``$k, $v :=``."""
    assign: bool = False
    line: int = 0


@dataclasses.dataclass(slots=True)
class Node:
    kind: str  # text | output | set | if | range | with | break | continue
    text: str = ""
    pipeline: Pipeline | None = None
    branches: list[tuple[Pipeline, list[Node]]] = dataclasses.field(default_factory=list)
    otherwise: list[Node] | None = None
    line: int = 0


class _Parser:
    def __init__(self, items: list[str | Action]) -> None:
        self.items = items
        self.index = 0

    def parse(self) -> list[Node]:
        nodes, stop, action = self.block()
        if stop is not None and action is not None:
            raise fail(action.line, f"unexpected {{{{{stop}}}}}")
        return nodes

    def block(self) -> tuple[list[Node], str | None, Action | None]:
        """Nodes up to an ``end``/``else`` (returned as the stop word) or the end of input."""
        nodes: list[Node] = []
        while self.index < len(self.items):
            item = self.items[self.index]
            self.index += 1
            if isinstance(item, str):
                if item:
                    nodes.append(Node("text", text=item))
                continue
            if not item.tokens:
                raise fail(item.line, "missing value for command")
            head = item.tokens[0]
            if head.kind == "ident" and head.text in ("end", "else"):
                return nodes, head.text, item
            if head.kind == "ident" and head.text in ("if", "range", "with"):
                nodes.append(self.control(head.text, item))
            elif head.kind == "ident" and head.text in ("break", "continue"):
                nodes.append(Node(head.text, line=item.line))
            elif head.kind == "ident" and head.text in ("define", "template", "block"):
                raise fail(item.line, f"{{{{{head.text}}}}} is not supported; write the template in Jinja2")
            else:
                pipeline = _pipeline(item.tokens, item.line)
                kind = "set" if pipeline.declare else "output"
                nodes.append(Node(kind, pipeline=pipeline, line=item.line))
        return nodes, None, None

    def control(self, word: str, action: Action) -> Node:
        node = Node(word, line=action.line)
        pipeline = _pipeline(action.tokens[1:], action.line)
        if word != "range" and pipeline.declare:
            raise fail(action.line, f"variables in {{{{{word}}}}} are not supported; declare them before")
        while True:
            body, stop, end = self.block()
            node.branches.append((pipeline, body))
            if stop is None or end is None:
                raise fail(action.line, f"{{{{{word}}}}} has no matching {{{{end}}}}")
            if stop == "end":
                return node
            rest = end.tokens[1:]
            if rest and word != "range" and rest[0].kind == "ident" and rest[0].text == word:
                pipeline = _pipeline(rest[1:], end.line)  # {{ else if … }} / {{ else with … }}
                continue
            if rest:
                raise fail(end.line, "unexpected tokens after {{else}}")
            otherwise, stop, end = self.block()
            if stop != "end":
                raise fail(action.line, f"{{{{{word}}}}} has no matching {{{{end}}}}")
            node.otherwise = otherwise
            return node


def _pipeline(tokens: list[_Token], line: int) -> Pipeline:
    declare: list[str] = []
    assign = False
    for i, token in enumerate(tokens):
        if token.kind in ("declare", "assign"):
            names = [t for t in tokens[:i] if t.kind != "comma"]
            if not names or any(t.kind != "var" for t in names) or len(names) > 2:
                raise fail(line, "bad variable declaration")
            declare = [t.text[1:] for t in names]
            assign = token.kind == "assign"
            tokens = tokens[i + 1:]
            break
    commands: list[list[Operand]] = [[]]
    stream = iter(_operands(tokens, line))
    for operand in stream:
        if operand.kind == "pipe":
            commands.append([])
        else:
            commands[-1].append(operand)
    if any(not command for command in commands):
        raise fail(line, "missing command in pipeline")
    return Pipeline(commands, declare, assign, line)


def _operands(tokens: list[_Token], line: int) -> Iterator[Operand]:
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token.kind == "pipe":
            yield Operand("pipe", None, [])
            continue
        if token.kind == "lparen":
            depth, j = 1, i
            while j < len(tokens) and depth:
                depth += {"lparen": 1, "rparen": -1}.get(tokens[j].kind, 0)
                j += 1
            if depth:
                raise fail(line, "unclosed left paren")
            operand = Operand("paren", _pipeline(tokens[i:j - 1], line), [])
            i = j
        elif token.kind == "field":
            operand = Operand("dot", None, [token.text[1:]])
        elif token.kind == "dot":
            operand = Operand("dot", None, [])
        elif token.kind == "var":
            operand = Operand("var", token.text[1:] or "$", [])
        elif token.kind == "ident" and token.text in ("true", "false"):
            operand = Operand("literal", token.text == "true", [])
        elif token.kind == "ident" and token.text == "nil":
            operand = Operand("literal", None, [])
        elif token.kind == "ident":
            operand = Operand("ident", token.text, [])
        elif token.kind in ("string", "raw", "char", "number"):
            operand = Operand("literal", _literal(token, line), [])
        else:
            raise fail(line, f"unexpected {token.text!r}")
        while i < len(tokens) and tokens[i].kind == "field" and not tokens[i].spaced:
            operand.chain.append(tokens[i].text[1:])
            i += 1
        yield operand


def _literal(token: _Token, line: int) -> object:
    text = token.text
    if token.kind == "raw":
        return text[1:-1]
    if token.kind == "string":
        return _ESCAPE.sub(_unescape, text[1:-1])
    if token.kind == "char":
        return ord(_ESCAPE.sub(_unescape, text[1:-1]))
    clean = text.replace("_", "")
    try:
        return int(clean, 0)
    except ValueError:
        try:
            return float(clean)
        except ValueError:
            raise fail(line, f"bad number {text!r}") from None


def _unescape(match: re.Match[str]) -> str:
    body = match.group(1)
    if body[0] in "xuU":
        return chr(int(body[1:], 16))
    if body[0].isdigit():
        return chr(int(body, 8))
    return _SIMPLE_ESCAPES[body]
