"""The Jinja2 sandbox user templates run in, with a bound on everything they could blow up.

``ImmutableSandboxedEnvironment`` with ``*``/``**`` capped, format widths and precisions refused
above :data:`~imagebot.gotemplate._fmt.MAX_WIDTH` (printf, ``%``, the ``format`` filter,
``str.format`` including nested widths, padding filters and ``str`` methods), ``join``/``replace``
results capped, and :func:`step_budget` stopping runaway loops. Imported on the first render by
:mod:`imagebot.gotemplate._render` (jinja2 costs start-up time every ``plan`` would otherwise pay).
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import jinja2
import jinja2.exceptions
import jinja2.filters
import jinja2.sandbox

from imagebot.gotemplate._fmt import MAX_WIDTH

__all__ = [
    "MAX_SECONDS",
    "MAX_SEQUENCE",
    "MAX_STEPS",
    "BudgetExceeded",
    "GoNoValue",
    "Sandbox",
    "environment",
    "step_budget",
]

MAX_STEPS = 2_000_000
"""Python lines one render may execute; a message over a thousand changed files needs ~100,000.
Deterministic, so a template that passes once always passes."""
MAX_SECONDS = 10.0
"""Wall-clock backstop for a render (a slow machine, a C-level loop the step count cannot see)."""
MAX_SEQUENCE = 100_000
"""Items a ``*`` repetition may produce; a tenfold of it caps ``join``/``replace`` results."""
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_FORMAT_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)[,_]?(?:\.(\d+))?[a-zA-Z%]?")
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


class BudgetExceeded(Exception):
    """A render ran past :data:`MAX_STEPS` or :data:`MAX_SECONDS`."""


def _check_width(number: str | int | None) -> None:
    if number is None or number == "":
        return
    if number == "*":
        raise jinja2.exceptions.SecurityError("'*' widths are not allowed in templates")
    if abs(int(number)) > MAX_WIDTH:
        raise jinja2.exceptions.SecurityError(f"format width {number} is too large (at most {MAX_WIDTH})")


def _check_percent(template: str) -> None:
    for match in _PERCENT_SPEC.finditer(template):
        for number in match.groups():
            _check_width(number)


def _check_size(size: int, what: str) -> None:
    if size > MAX_SEQUENCE * 10:
        raise jinja2.exceptions.SecurityError(f"{what} result too large ({size} characters)")


class _BoundedFormatter(jinja2.sandbox.SandboxedFormatter):
    def format_field(self, value: Any, format_spec: str) -> Any:
        match = _FORMAT_SPEC.fullmatch(format_spec)
        if match is not None:
            for number in match.groups():
                _check_width(number)
        return super().format_field(value, format_spec)


class Sandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise jinja2.exceptions.SecurityError("exponent too large")
        if operator == "*":
            for sized, count in ((left, right), (right, left)):
                if isinstance(sized, str | list | tuple) and isinstance(count, int) \
                        and len(sized) * count > MAX_SEQUENCE:
                    raise jinja2.exceptions.SecurityError("repetition too large")
        if operator == "%" and isinstance(left, str):
            _check_percent(left)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if super().wrap_str_format(value) is None:
            return None  # not a str.format / format_map method
        text: str = value.__self__
        formatter = _BoundedFormatter(self)
        by_name = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            if by_name:
                (kwargs,) = args
                args = ()
            return formatter.vformat(text, args, kwargs)

        return bounded

    def call(self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(__obj, types.BuiltinMethodType) and isinstance(__obj.__self__, str):
            _check_str_method(__obj.__self__, __obj.__name__, args)
        return super().call(__context, __obj, *args, **kwargs)


def _check_str_method(text: str, name: str, args: tuple[Any, ...]) -> None:
    if name in _PADDING_METHODS and args and isinstance(args[0], int):
        _check_width(args[0])
    elif name == "expandtabs" and args and isinstance(args[0], int) and args[0] > 64:
        raise jinja2.exceptions.SecurityError("tab size too large")
    elif name == "join" and args:
        items = [str(item) for item in args[0]]
        _check_size(sum(map(len, items)) + len(text) * max(len(items) - 1, 0), "join")
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        count = len(text) + 1 if not args[0] else text.count(args[0])
        _check_size(len(text) + count * len(args[1]), "replace")


def _bounded_filter(name: str, check: Callable[..., None]) -> Callable[..., Any]:
    original = jinja2.filters.FILTERS[name]
    context_first = getattr(original, "jinja_pass_arg", None) is not None  # eval context or environment

    @functools.wraps(original)  # keeps jinja_pass_arg, so Jinja still passes the context
    def bounded(*args: Any, **kwargs: Any) -> Any:
        check(*(args[1:] if context_first else args), **kwargs)
        return original(*args, **kwargs)

    return bounded


def _check_join(value: Any, d: Any = "", attribute: Any = None) -> None:
    del attribute
    items = list(value)
    _check_size(sum(len(str(i)) for i in items) + len(str(d)) * max(len(items) - 1, 0), "join")


def _check_padding(value: Any, width: Any = 80, *args: Any, **kwargs: Any) -> None:
    del args, kwargs
    if isinstance(width, int):
        _check_width(width)


def _check_format(value: Any, *args: Any, **kwargs: Any) -> None:
    del args, kwargs
    _check_percent(str(value))


def _check_replace(value: Any, old: Any, new: Any, count: Any = None) -> None:
    del count
    text = str(value)
    occurrences = len(text) + 1 if not str(old) else text.count(str(old))
    _check_size(len(text) + occurrences * len(str(new)), "replace")


@contextlib.contextmanager
def step_budget() -> Iterator[None]:
    """Stop a render that executes more than :data:`MAX_STEPS` lines or runs past
    :data:`MAX_SECONDS`: a trace function on this thread only, removed afterwards."""
    steps = 0
    deadline = time.monotonic() + MAX_SECONDS
    previous = sys.gettrace()

    def local(frame: types.FrameType, event: str, arg: object) -> Any:
        nonlocal steps
        if event == "line":
            steps += 1
            if steps > MAX_STEPS:
                raise BudgetExceeded(f"the template exceeded its budget of {MAX_STEPS} steps")
            if not steps % 4096 and time.monotonic() > deadline:
                raise BudgetExceeded(f"the template exceeded its time budget of {MAX_SECONDS:.0f}s")
        return local

    def calls(frame: types.FrameType, event: str, arg: object) -> Any:
        return local

    sys.settrace(calls)
    try:
        yield
    finally:
        sys.settrace(previous)


class GoNoValue(jinja2.Undefined):
    """A missing map key under Go's default ``missingkey``: prints ``<no value>``, is false, ranges
    over nothing; reading a field of it is an error (Go: "nil pointer evaluating")."""

    __slots__ = ()

    def __str__(self) -> str:
        return "<no value>"


def environment(*, finalize: Callable[[Any], Any], go_missing: bool = False) -> Sandbox:
    """A new sandbox: strict undefined names (or Go's ``<no value>`` with ``go_missing``), no
    loader, no autoescape, the bounded filters."""
    env = Sandbox(
        undefined=GoNoValue if go_missing else jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=finalize,
        extensions=["jinja2.ext.loopcontrols"],
    )
    env.filters.update(
        center=_bounded_filter("center", _check_padding),
        indent=_bounded_filter("indent", _check_padding),
        join=_bounded_filter("join", _check_join),
        format=_bounded_filter("format", _check_format),
        replace=_bounded_filter("replace", _check_replace),
    )
    return env
