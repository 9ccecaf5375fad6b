"""Turn a Flux ``GitRef`` into what to fetch and what to check out.

Precedence follows Flux: commit > name > semver > tag > branch; an empty ref means the remote's
default branch. Semver refs need the remote's tag list and a chooser (the policy stage's semver
rules — :mod:`imagebot.git` may not import the policy stage, so the pipeline passes it in).
Called by :meth:`imagebot.git.Workspace.checkout`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from imagebot import errors
from imagebot.model.flux import GitRef

__all__ = ["CHECKOUT_REF", "FetchPlan", "TagChooser", "plan"]

TagChooser = Callable[[Sequence[str], str], str | None]
"""``choose(tags, semver_range)`` → the highest tag in range, or None."""

CHECKOUT_REF = "refs/imagebot/checkout"
"""Where a ``name`` ref that is neither a branch nor a tag (``refs/pull/1/head``) is fetched to."""


@dataclasses.dataclass(frozen=True, slots=True)
class FetchPlan:
    refspecs: tuple[str, ...]
    local: str | None
    """The local ref holding the target after the fetch (None: look ``commit`` up)."""
    branch: str | None
    """The branch to check out (and, by default, push to); None for a detached checkout."""
    commit: str | None = None
    full_history: bool = False
    """A commit must be searched in history: fetch without depth."""


def _branch(name: str, remote: str) -> FetchPlan:
    tracking = f"refs/remotes/{remote}/{name}"
    return FetchPlan((f"+refs/heads/{name}:{tracking}",), tracking, name)


def _tag(name: str) -> FetchPlan:
    return FetchPlan((f"+refs/tags/{name}:refs/tags/{name}",), f"refs/tags/{name}", None)


def plan(
    ref: GitRef,
    *,
    remote: str,
    list_refs: Callable[[], dict[str, str]],
    default_branch: Callable[[], str],
    choose_tag: TagChooser | None,
) -> FetchPlan:
    """What to fetch for ``ref``; ``list_refs`` (refname → sha) is called only for semver refs."""
    if ref.commit:
        if ref.branch:
            spec = f"+refs/heads/{ref.branch}:refs/remotes/{remote}/{ref.branch}"
        else:
            spec = f"+refs/heads/*:refs/remotes/{remote}/*"
        return FetchPlan((spec,), None, None, commit=ref.commit, full_history=True)
    if ref.name:
        if ref.name.startswith("refs/heads/"):
            return _branch(ref.name.removeprefix("refs/heads/"), remote)
        if ref.name.startswith("refs/tags/"):
            return _tag(ref.name.removeprefix("refs/tags/"))
        if not ref.name.startswith("refs/"):
            raise errors.ConfigError(f"checkout ref name {ref.name!r} must be a full ref (refs/...)")
        return FetchPlan((f"+{ref.name}:{CHECKOUT_REF}",), CHECKOUT_REF, None)
    if ref.semver:
        if choose_tag is None:
            raise errors.ConfigError(
                f"checkout ref semver {ref.semver!r} needs a tag chooser (pass choose_tag=...)"
            )
        tags = sorted(
            name.removeprefix("refs/tags/")
            for name in list_refs()
            if name.startswith("refs/tags/") and not name.endswith("^{}")
        )
        chosen = choose_tag(tags, ref.semver)
        if chosen is None:
            raise errors.GitError(f"no tag of the remote satisfies semver range {ref.semver!r}")
        return _tag(chosen)
    if ref.tag:
        return _tag(ref.tag)
    return _branch(ref.branch or default_branch(), remote)
