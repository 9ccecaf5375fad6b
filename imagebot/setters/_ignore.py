"""The ``.gitignore`` pattern language, for ``.gitignore``/``.imagebotignore`` files and ``ignore=``.

Implements what gitignore(5) specifies for one pattern file: comments, ``\\``-escapes, trailing
spaces, ``!`` negation, ``/``-anchoring, directory-only patterns, ``*``, ``?``, ``[...]`` and the
three ``**`` forms; the last matching pattern wins. Hierarchy (deeper files override, an excluded
directory is never re-entered) is the walker's job, :mod:`imagebot.setters._files`. Written here
rather than depending on ``pathspec`` because imagebot needs only this one subset and the tests
check it against ``git check-ignore``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

__all__ = ["Rule", "compile_rules", "match"]


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    pattern: str
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def compile_rules(lines: Iterable[str]) -> tuple[Rule, ...]:
    """The rules of one pattern file, in order; blank lines and comments dropped."""
    rules: list[Rule] = []
    for raw in lines:
        rule = _compile(raw.rstrip("\r\n"))
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def match(rules: tuple[Rule, ...], path: str, *, is_dir: bool) -> bool | None:
    """``True`` ignored, ``False`` re-included, ``None`` no rule matched ``path``.

    ``path`` is POSIX and relative to the directory holding the pattern file.
    """
    for rule in reversed(rules):
        if rule.dir_only and not is_dir:
            continue
        if rule.regex.fullmatch(path):
            return not rule.negate
    return None


def _compile(line: str) -> Rule | None:
    pattern = _strip_trailing_spaces(line)
    if not pattern or pattern.startswith("#"):
        return None
    negate = pattern.startswith("!")
    if negate:
        pattern = pattern[1:]
    dir_only = pattern.endswith("/") and not pattern.endswith("\\/")
    body = pattern.rstrip("/") if dir_only else pattern
    if not body:
        return None
    anchored = "/" in body
    body = body.removeprefix("/")
    regex = _translate(body)
    if not anchored:
        regex = "(?:.*/)?" + regex
    return Rule(pattern=line, regex=re.compile(regex, re.DOTALL), negate=negate, dir_only=dir_only)


def _strip_trailing_spaces(line: str) -> str:
    end = len(line)
    while end > 0 and line[end - 1] == " " and not _escaped(line, end - 1):
        end -= 1
    return line[:end]


def _escaped(line: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and line[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _translate(body: str) -> str:
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        if body.startswith("**", i) and (i == 0 or body[i - 1] == "/"):
            if i + 2 == n:  # `dir/**`: everything inside
                out.append(".*")
                i += 2
                continue
            if body[i + 2] == "/":  # `**/x` or `a/**/x`: zero or more directories
                out.append("(?:.*/)?")
                i += 3
                continue
        char = body[i]
        if char == "\\" and i + 1 < n:
            out.append(re.escape(body[i + 1]))
            i += 2
        elif char == "*":
            while i < n and body[i] == "*":  # other runs of '*' are a plain '*'
                i += 1
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            i = _bracket(body, i, out)
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def _bracket(body: str, i: int, out: list[str]) -> int:
    j = i + 1
    if j < len(body) and body[j] in "!^":
        j += 1
    if j < len(body) and body[j] == "]":
        j += 1
    while j < len(body) and body[j] != "]":
        j += 2 if body[j] == "\\" else 1
    if j >= len(body):  # no closing bracket: a literal '['
        out.append(re.escape("["))
        return i + 1
    inner = body[i + 1 : j]
    negate = inner[:1] in ("!", "^")
    if negate:
        inner = inner[1:]
    out.append(("[^/" if negate else "[") + _class_body(inner) + "]")
    return j + 1


def _class_body(inner: str) -> str:
    # escape what Python's character sets treat specially ("[", "]", "&&", "~~", "||", "--")
    chars: list[str] = []
    k = 0
    while k < len(inner):
        char = inner[k]
        if char == "\\" and k + 1 < len(inner):
            chars.append(re.escape(inner[k + 1]))
            k += 2
            continue
        if char in "[]&~|\\" or (char == "-" and chars and chars[-1] == "-"):
            char = "\\" + char
        chars.append(char)
        k += 1
    return "".join(chars)
