"""Near-miss detection: the known name a mistyped one was probably meant to be.

Used wherever a user types a name imagebot must know (configuration kinds and keys, ``--policy``
names), so an error can say ``did you mean 'imageRepositoryRef'?`` instead of only "unknown".
A bottom-layer module (no imports from imagebot) because config, setters and the commands use it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]

CUTOFF = 0.8
"""difflib similarity (0..1) above which a name counts as a near miss; 0.8 allows about one
mistake in five characters (``ImagePolicyy``, ``imageRepositoryRf``, ``adservcie``)."""


def closest(word: str, candidates: Iterable[str], *, cutoff: float = CUTOFF) -> str | None:
    """The candidate most similar to ``word`` (case-insensitively), or ``None`` if none is close.

    >>> closest("imageRepositoryRf", ["imageRepositoryRef", "filterTags", "policy"])
    'imageRepositoryRef'
    """
    by_folded: dict[str, str] = {}
    for candidate in candidates:
        if candidate != word:
            by_folded.setdefault(candidate.lower(), candidate)
    if word.lower() in by_folded:
        return by_folded[word.lower()]
    matches = difflib.get_close_matches(word.lower(), list(by_folded), n=1, cutoff=cutoff)
    return by_folded[matches[0]] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest candidate, or ``""``."""
    match = closest(word, candidates)
    return f" (did you mean {match!r}?)" if match is not None else ""
