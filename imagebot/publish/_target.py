"""Where a change is published: the branch, and the commit the setters run on.

In a clone imagebot owns the checkout ref is checked out: its HEAD, published to the push branch
(default: that branch). In a checkout opened in place it is the remote's branch (fetched) — the
push branch if it exists, else the checkout ref's branch, else the branch the user is on — so that
neither their edits, local commits nor current branch play a part. Called by the pipeline before
the setters run (they run on the files of ``Target.sha``).
"""

from __future__ import annotations

from imagebot import git
from imagebot.errors import GitError
from imagebot.model.revisions import Target

__all__ = ["target"]


def target(workspace: git.Workspace, *, push_branch: str | None, checkout_branch: str | None) -> Target:
    """The branch to publish and the commit imagebot's change goes on top of (see the module)."""
    if not workspace.in_place:
        return Target(push_branch or workspace.branch, workspace.head)
    candidates = [push_branch, checkout_branch, workspace.branch]
    for branch in dict.fromkeys(b for b in candidates if b):
        sha = workspace.fetch_branch(branch)
        if sha is not None:
            return Target(push_branch or branch, sha)
    named = ", ".join(dict.fromkeys(b for b in candidates if b)) or "none named"
    raise GitError(f"the remote {workspace.url} has none of the branches to publish ({named})")
