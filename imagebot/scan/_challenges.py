"""``WWW-Authenticate`` parsing (RFC 7235), several challenges per header line included.

Used by :mod:`imagebot.scan._auth`. Scheme and parameter names are case-insensitive; quoted values
keep commas, ``=`` and escaped quotes; a token not followed by ``=`` starts a new challenge
(``Bearer realm="a",service="b",Basic realm="c"`` is two challenges).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping

__all__ = ["Challenge", "parse_challenges", "pick_challenge"]

_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*[ \t]*(?=,|$)")


@dataclasses.dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str
    """Lower-cased scheme name (``bearer``, ``basic``)."""
    params: Mapping[str, str]
    """Lower-cased parameter names → values exactly as sent (unquoted)."""


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self, chars: str) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def token(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _TOKEN_CHARS:
            self.pos += 1
        return self.text[start:self.pos]

    def quoted(self) -> str:
        self.pos += 1  # opening quote
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == "\\" and self.pos < len(self.text):
                out.append(self.text[self.pos])
                self.pos += 1
            elif char == '"':
                break
            else:
                out.append(char)
        return "".join(out)

    def bare_value(self) -> str:
        # unquoted values (realm URLs) hold ':' and '/', which strict token rules reject
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] != ",":
            self.pos += 1
        return self.text[start:self.pos].strip()


def _parse_one_header(text: str) -> list[Challenge]:
    reader = _Reader(text)
    challenges: list[Challenge] = []
    scheme: str | None = None
    params: dict[str, str] = {}
    while True:
        reader.skip(" \t,")
        if not reader.peek():
            break
        name = reader.token()
        if not name:
            reader.pos += 1  # stray character: skip it rather than loop forever
            continue
        reader.skip(" \t")
        if reader.peek() == "=" and scheme is not None:
            reader.pos += 1
            reader.skip(" \t")
            if reader.peek() in ("", ","):
                continue  # token68 padding or an empty value: nothing usable
            value = reader.quoted() if reader.peek() == '"' else reader.bare_value()
            params.setdefault(name.lower(), value)
            continue
        # a token not followed by '=' starts a new challenge
        if scheme is not None:
            challenges.append(Challenge(scheme, params))
        scheme, params = name.lower(), {}
        token68 = _TOKEN68.match(reader.text, reader.pos)
        if token68:  # "Negotiate abc==": no parameters to read
            reader.pos = token68.end()
    if scheme is not None:
        challenges.append(Challenge(scheme, params))
    return challenges


def parse_challenges(headers: Iterable[str]) -> list[Challenge]:
    """Every challenge in every ``WWW-Authenticate`` header line, in order."""
    return [challenge for header in headers for challenge in _parse_one_header(header)]


def pick_challenge(challenges: Iterable[Challenge]) -> Challenge | None:
    """Bearer if offered, else Basic; other schemes (Negotiate, NTLM) are ignored."""
    found = {c.scheme: c for c in reversed(list(challenges))}
    return found.get("bearer") or found.get("basic")
