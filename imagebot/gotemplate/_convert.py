"""Convert Flux's Go text/template commit messages into equivalent Jinja2 templates.

``convert_flux_template`` parses the Go template (actions, ``{{-``/``-}}`` trimming, comments,
pipelines, ``range``/``if``/``with``/``else``/``break``/``continue``, ``$x :=``/``$x =``) and emits
Jinja2 that prints the same text against :mod:`imagebot.publish._templatedata`. Trimming is applied
while converting, so the Jinja2 output carries no whitespace-control markers. Called by
:mod:`imagebot.publish._message` when ``looks_like_go_template`` says a messageTemplate is Go, and by
users who want to see (and keep) the Jinja2 equivalent.
"""

from __future__ import annotations

import contextvars
import dataclasses
import json
import re
from collections.abc import Callable, Mapping

from imagebot.gotemplate._funcs import FUNCTIONS
from imagebot.gotemplate._parse import Node, Operand, Pipeline, fail, parse

__all__ = ["DataModel", "convert", "looks_like_go_template"]

_GO_KEYWORDS = frozenset({"range", "end", "if", "else", "with", "define", "template", "block", "break",
                          "continue"})
_JINJA_KEYWORDS = frozenset({
    "and", "or", "not", "in", "is", "if", "else", "elif", "for", "endfor", "true", "false", "none",
    "True", "False", "None", "with", "set", "block", "macro", "import", "from", "as", "recursive",
    "include", "extends", "call", "filter",
})
_RESERVED_NAMES = _JINJA_KEYWORDS | {
    "loop", "self", "varargs", "kwargs", "caller", "super", "range", "dict", "namespace", "lipsum",
    "cycler", "joiner", "go_items", "go_values", "_root",
}
_DICT_METHODS = frozenset({"items", "keys", "values", "get", "copy", "pop", "update", "clear",
                           "setdefault", "fromkeys", "popitem"})


@dataclasses.dataclass(frozen=True, slots=True)
class DataModel:
    """How a converted template reaches its data, and what it may call."""

    bare: frozenset[str] = frozenset()
    """Root fields written as bare Jinja2 names (the render passes them as variables); every other
    field is read from ``_root``, the whole data."""
    removed: Mapping[tuple[str, ...], str] = dataclasses.field(default_factory=dict)
    """Field paths that no longer exist, with the error message that says what to use instead."""
    functions: Mapping[str, Callable[..., object]] = dataclasses.field(default_factory=lambda: FUNCTIONS)
    """The functions a template may call, by their Go/Sprig name."""
    reserved: frozenset[str] = frozenset()
    """Other names the render context uses, which Go variables must not shadow."""


_DEFAULT_MODEL = DataModel()
_MODEL: contextvars.ContextVar[DataModel] = contextvars.ContextVar("_MODEL")
"""The data model of the template being converted."""
_OPERATORS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def looks_like_go_template(template: str) -> bool:
    """True when ``template`` uses Go template syntax that Jinja2 would not read the same way.

    >>> looks_like_go_template("{{ range .Changed.Changes }}{{ .NewValue }}{{ end }}")
    True
    >>> looks_like_go_template("{% for c in Changed.Changes %}{{ c.NewValue }}{% endfor %}")
    False
    """
    if "{%" in template or "{#" in template:
        return False
    for match in re.finditer(r"\{\{(.*?)\}\}", template, re.DOTALL):
        inner = match.group(1)
        inner = inner[1:] if inner.startswith("-") and inner[1:2] in (" ", "\t", "\n", "\r") else inner
        inner = inner.strip()
        if inner.startswith((".", "$", "/*", "-")):
            return True
        word = re.match(r"[A-Za-z_]\w*", inner)
        if word and (word.group() in _GO_KEYWORDS or (
                word.group() in FUNCTIONS and inner[word.end():word.end() + 1] in (" ", "\t"))):
            return True
    return False


# --- Jinja2 generation -------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _Scope:
    dot: str
    """The Jinja2 expression for Go's ``.`` here; ``""`` at the top, where fields are bare names."""
    names: dict[str, str]
    """Go variable → Jinja2 name, visible here."""
    loop_depth: int


class _Writer:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.dots = 0
        self.declared_at: dict[str, int] = {}

    def dot_name(self) -> str:
        self.dots += 1
        return "dot" if self.dots == 1 else f"dot{self.dots}"

    def nodes(self, nodes: list[Node], scope: _Scope) -> None:
        for node in nodes:
            self.node(node, scope)

    def node(self, node: Node, scope: _Scope) -> None:
        if node.kind == "text":
            self.text(node.text)
        elif node.kind == "output":
            assert node.pipeline is not None
            self.out.append("{{ " + _expr(node.pipeline, scope) + " }}")
        elif node.kind == "set":
            assert node.pipeline is not None
            self.assign(node.pipeline, scope)
        elif node.kind in ("break", "continue"):
            if not scope.loop_depth:
                raise fail(node.line, f"{{{{{node.kind}}}}} outside {{{{range}}}}")
            self.out.append(f"{{% {node.kind} %}}")
        elif node.kind == "if":
            for i, (pipeline, body) in enumerate(node.branches):
                self.out.append(("{% if " if i == 0 else "{% elif ") + _expr(pipeline, scope) + " %}")
                self.nodes(body, _child(scope))
            if node.otherwise is not None:
                self.out.append("{% else %}")
                self.nodes(node.otherwise, _child(scope))
            self.out.append("{% endif %}")
        elif node.kind == "range":
            self.range(node, scope)
        else:
            self.with_(node.branches, node.otherwise, scope)

    def text(self, text: str) -> None:
        if any(mark in text for mark in ("{{", "{%", "{#", "\r")):
            self.out.append("{{ " + _string(text) + " }}")
        else:
            self.out.append(text)

    def assign(self, pipeline: Pipeline, scope: _Scope) -> None:
        (go_name,) = pipeline.declare if len(pipeline.declare) == 1 else (None,)
        if go_name is None:
            raise fail(pipeline.line, "only one variable can be declared outside {{range}}")
        value = _expr(dataclasses.replace(pipeline, declare=[]), scope)
        if pipeline.assign:
            if go_name not in scope.names:
                raise fail(pipeline.line, f"undefined variable ${go_name}")
            if self.declared_at[go_name] != scope.loop_depth:
                raise fail(pipeline.line, f"assigning {go_name} inside {{{{range}}}}/{{{{with}}}} is not "
                                           "supported; write the template in Jinja2 with namespace()")
            self.out.append(f"{{% set {scope.names[go_name]} = {value} %}}")
            return
        scope.names[go_name] = _jinja_name(go_name)
        self.declared_at[go_name] = scope.loop_depth
        self.out.append(f"{{% set {scope.names[go_name]} = {value} %}}")

    def range(self, node: Node, scope: _Scope) -> None:
        (pipeline, body), = node.branches
        inner = _Scope(scope.dot, dict(scope.names), scope.loop_depth + 1)
        source = _expr(dataclasses.replace(pipeline, declare=[]), scope)
        names = [_jinja_name(v) for v in pipeline.declare]
        for go_name, name in zip(pipeline.declare, names, strict=True):
            inner.names[go_name] = name
            self.declared_at[go_name] = inner.loop_depth
        if len(names) == 2:
            self.out.append(f"{{% for {names[0]}, {names[1]} in go_items({source}) %}}")
            inner.dot = names[1]
        else:
            inner.dot = names[0] if names else self.dot_name()
            self.out.append(f"{{% for {inner.dot} in go_values({source}) %}}")
        self.nodes(body, inner)
        if node.otherwise is not None:
            self.out.append("{% else %}")
            self.nodes(node.otherwise, _child(scope))
        self.out.append("{% endfor %}")

    def with_(self, branches: list[tuple[Pipeline, list[Node]]], otherwise: list[Node] | None,
              scope: _Scope) -> None:
        (pipeline, body), rest = branches[0], branches[1:]
        name = self.dot_name()
        inner = _Scope(name, dict(scope.names), scope.loop_depth + 1)
        self.out.append(f"{{% with {name} = {_expr(pipeline, scope)} %}}{{% if {name} %}}")
        self.nodes(body, inner)
        if rest or otherwise is not None:
            self.out.append("{% else %}")
            if rest:
                self.with_(rest, otherwise, scope)
            elif otherwise is not None:
                self.nodes(otherwise, _child(scope))
        self.out.append("{% endif %}{% endwith %}")


def _child(scope: _Scope) -> _Scope:
    return _Scope(scope.dot, dict(scope.names), scope.loop_depth)


def _jinja_name(go_name: str) -> str:
    name = go_name if go_name != "$" else "root"
    model = _MODEL.get(_DEFAULT_MODEL)
    if name in _RESERVED_NAMES or name in model.bare or name in model.reserved or name in model.functions \
            or re.fullmatch(r"dot\d*", name) or name[0].isdigit():
        name = f"{name}_v"
    return name


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _expr(pipeline: Pipeline, scope: _Scope) -> str:
    if pipeline.declare:
        raise fail(pipeline.line, "a variable declaration cannot be used as a value")
    result: str | None = None
    for command in pipeline.commands:
        result = _command(command, scope, result, pipeline.line)
    assert result is not None
    return result


def _command(operands: list[Operand], scope: _Scope, piped: str | None, line: int) -> str:
    head = operands[0]
    if head.kind != "ident":
        if len(operands) > 1 or piped is not None:
            raise fail(line, "can't give arguments to a non-function")
        return _operand(head, scope, line)
    args = [_operand(o, scope, line) for o in operands[1:]] + ([piped] if piped is not None else [])
    name = head.value
    assert isinstance(name, str)
    if head.chain:
        raise fail(line, f"{name} is a function, not a value with fields")
    if name in ("and", "or"):
        if not args:
            raise fail(line, f"{name} needs arguments")
        return "(" + f" {name} ".join(args) + ")"
    if name == "not":
        if len(args) != 1:
            raise fail(line, "not takes one argument")
        return f"(not {args[0]})"
    if name in _OPERATORS:
        if len(args) < 2 or (name != "eq" and len(args) != 2):
            raise fail(line, f"wrong number of arguments for {name}")
        if len(args) == 2:
            return f"({args[0]} {_OPERATORS[name]} {args[1]})"
        return "(" + " or ".join(f"{args[0]} == {other}" for other in args[1:]) + ")"
    if name not in _MODEL.get(_DEFAULT_MODEL).functions:
        raise fail(line, f"function {name!r} is not supported (it is not among the Go/Sprig functions "
                          "imagebot provides)")
    return f"{name}({', '.join(args)})"


def _operand(operand: Operand, scope: _Scope, line: int) -> str:
    chain = list(operand.chain)
    if operand.kind == "literal":
        value = operand.value
        if value is None:
            base = "none"
        elif isinstance(value, bool):
            base = "true" if value else "false"
        elif isinstance(value, str):
            base = _string(value)
        else:
            base = repr(value)
        if chain:
            raise fail(line, "a literal has no fields")
        return base
    if operand.kind == "ident":
        assert isinstance(operand.value, str)
        return _command([operand], scope, None, line)
    if operand.kind == "paren":
        assert isinstance(operand.value, Pipeline)
        base = _expr(operand.value, scope)  # operators come parenthesised, calls are atoms
    elif operand.kind == "var":
        assert isinstance(operand.value, str)
        if operand.value == "$":
            return _root_fields(chain, line)
        if operand.value not in scope.names:
            raise fail(line, f"undefined variable ${operand.value}")
        base = scope.names[operand.value]
    elif scope.dot:  # "." inside range/with
        base = scope.dot
    else:
        return _root_fields(chain, line)
    return base + "".join(_attribute(name) for name in chain)


def _root_fields(chain: list[str], line: int) -> str:
    model = _MODEL.get(_DEFAULT_MODEL)
    for removed, message in model.removed.items():
        if tuple(chain[:len(removed)]) == removed:
            raise fail(line, message)
    if not chain:
        return "_root"
    head, rest = chain[0], chain[1:]
    base = head if head in model.bare else "_root" + _attribute(head)
    return base + "".join(_attribute(name) for name in rest)


def _attribute(name: str) -> str:
    if name in _DICT_METHODS or name in _JINJA_KEYWORDS:
        return f"[{_string(name)}]"
    return f".{name}"


def convert(go_template: str, model: DataModel | None = None) -> str:
    """Translate a Go text/template into Jinja2 for ``model`` (default: everything under ``_root``).

    >>> convert("{{range .apps}}{{.name}} {{end}}")
    '{% for dot in go_values(_root.apps) %}{{ dot.name }} {% endfor %}'

    Raises ``ConfigError`` (with the line) for syntax errors, functions the model does not allow,
    ``define``/``template``/``block``, and the model's removed fields.
    """
    token = _MODEL.set(model or _DEFAULT_MODEL)
    try:
        nodes = parse(go_template)
        writer = _Writer()
        writer.nodes(nodes, _Scope("", {}, 0))
    finally:
        _MODEL.reset(token)
    return "".join(writer.out)
