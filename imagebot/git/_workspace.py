"""The git work tree publish runs in: clone or reuse, fetch, check out, commit, push.

:class:`Workspace` is built by the pipeline (``Workspace.clone`` for a remote, ``Workspace.open``
for an existing checkout such as a GitHub Action's) and handed to the setters (``.path``) and to
publish (``.commit``, ``.push``; :func:`imagebot.git.push_with_retry`). Every libgit2 call goes
through :func:`~imagebot.git._errors.map_git_errors`, so only imagebot errors leave this module,
with URLs stripped of credentials.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pygit2
from pygit2.enums import ResetMode

from imagebot import errors
from imagebot.git import _commit, _refs, _remote
from imagebot.git._errors import map_git_errors, rejection
from imagebot.git._localpush import push_local
from imagebot.git._urls import default_workdir, is_local, redact_url, same_remote, url_credentials
from imagebot.model import gitauth
from imagebot.model.flux import GitRef
from imagebot.model.revisions import Revision

__all__ = ["Workspace"]

logger = logging.getLogger("imagebot.git")

_ZERO = pygit2.Oid(hex="0" * 40)


class Workspace:
    """A git work tree with one remote.

    ::

        ws = Workspace.clone("https://github.com/org/fleet.git", ref=GitRef(branch="main"),
                             auth=TokenAuth(token))
        setters.apply(selections, root=ws.path, ...)       # edits files under ws.path
        revision = ws.commit("chore(images): …", author_name="bot", author_email="bot@x")
        if revision is not None:
            ws.push()                                       # to the checked-out branch
    """

    def __init__(
        self, repo: pygit2.Repository, *, auth: gitauth.GitAuth | None = None, remote: str = "origin",
        timeout: float = _remote.DEFAULT_TIMEOUT,
    ) -> None:
        self._repo = repo
        self._auth = auth
        self._remote_name = remote
        self._secrets = _remote.secrets_of(auth)
        self._timeout = timeout

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def clone(
        cls,
        url: str,
        *,
        ref: GitRef | None = None,
        auth: gitauth.GitAuth | None = None,
        workdir: Path | None = None,
        depth: int = 1,
        choose_tag: _refs.TagChooser | None = None,
        timeout: float = _remote.DEFAULT_TIMEOUT,
    ) -> Workspace:
        """Clone ``url`` into ``workdir`` (default ``.imagebot/git/<repo>``) or reuse the clone
        already there, then fetch and check out ``ref`` (default: the remote's HEAD branch).

        ``depth=1`` fetches shallow over http(s)/ssh; local paths and ``file://`` always fetch the
        full history (libgit2's local transport cannot do shallow). ``depth=0`` means full.
        Each network operation (here and later) must finish within ``timeout`` seconds.
        """
        path = workdir if workdir is not None else default_workdir(url)
        # credentials in the URL are used through the credentials callback, never stored in
        # .git/config (issue 8): the remote's URL is kept without userinfo
        in_url = url_credentials(url)
        if auth is None and in_url is not None:
            auth = gitauth.BasicAuth(*in_url)
        clean = redact_url(url)
        url_secret = () if in_url is None else (in_url[1] or in_url[0],)
        secrets = _remote.secrets_of(auth) + url_secret
        with map_git_errors("clone", clean, secrets):
            if (path / ".git").exists():
                repo = pygit2.Repository(str(path))
                known = repo.remotes["origin"].url if "origin" in repo.remotes.names() else None
                if known is None or not same_remote(known, url):
                    raise errors.ConfigError(
                        f"{path} holds a clone of {redact_url(known or '?')}, not {clean}"
                    )
                if known != clean:
                    repo.remotes.set_url("origin", clean)  # an older clone that stored credentials
                logger.debug("reusing the clone in %s", path)
            else:
                path.mkdir(parents=True, exist_ok=True)
                repo = pygit2.init_repository(str(path), bare=False)
                repo.remotes.create("origin", clean)
        workspace = cls(repo, auth=auth, timeout=timeout)
        workspace._secrets += url_secret
        workspace.checkout(ref or GitRef(), depth=depth, choose_tag=choose_tag)
        return workspace

    @classmethod
    def open(
        cls, path: Path, *, auth: gitauth.GitAuth | None = None, remote: str = "origin",
        timeout: float = _remote.DEFAULT_TIMEOUT,
    ) -> Workspace:
        """Work in place in an existing checkout (GitHub Actions): no clone, no checkout."""
        found = pygit2.discover_repository(str(path))
        if found is None:
            raise errors.GitError(f"{path} is not inside a git repository")
        with map_git_errors("open", str(path)):
            repo = pygit2.Repository(found)
        if repo.is_bare:
            raise errors.GitError(f"{path} is a bare repository; imagebot needs a work tree")
        return cls(repo, auth=auth, remote=remote, timeout=timeout)

    # -- state ----------------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The work tree root (setters edit files below it)."""
        return Path(self._repo.workdir)

    @property
    def url(self) -> str:
        """The remote's URL, without credentials."""
        return redact_url(self._origin.url or "")

    @property
    def branch(self) -> str | None:
        """The checked-out local branch; None when HEAD is detached (tag/semver/commit refs)."""
        if self._repo.head_is_detached:
            return None
        target = self._repo.references["HEAD"].target
        return str(target).removeprefix("refs/heads/")

    @property
    def head(self) -> str:
        """The sha of HEAD."""
        return str(self._repo.head.target)

    @property
    def is_shallow(self) -> bool:
        return bool(self._repo.is_shallow)

    @property
    def _origin(self) -> pygit2.Remote:
        try:
            return self._repo.remotes[self._remote_name]
        except KeyError:
            raise errors.GitError(f"the repository has no remote {self._remote_name!r}") from None

    def _depth(self, depth: int) -> int:
        return 0 if is_local(self._origin.url or "") else depth

    # -- fetch and checkout ---------------------------------------------------------------------

    def list_remote_refs(self) -> dict[str, str]:
        """refname → sha, as the remote advertises them (``refs/heads/main``, ``refs/tags/v1``)."""
        with map_git_errors("ls-remote", self.url, self._secrets), self._session() as callbacks:
            heads = self._origin.list_heads(callbacks=callbacks())
        return {h.name: str(h.oid) for h in heads if h.name}

    def _default_branch(self) -> str:
        with map_git_errors("ls-remote", self.url, self._secrets), self._session() as callbacks:
            heads = self._origin.list_heads(callbacks=callbacks())
        for head in heads:
            if head.name == "HEAD" and head.symref_target:
                return head.symref_target.removeprefix("refs/heads/")
        return "master"  # Flux's default when a GitRepository names no ref

    def _fetch(self, refspecs: Sequence[str], *, depth: int) -> None:
        with map_git_errors("fetch", self.url, self._secrets), self._session() as callbacks:
            self._origin.fetch(list(refspecs), callbacks=callbacks(), depth=self._depth(depth))

    def checkout(
        self, ref: GitRef, *, depth: int = 1, choose_tag: _refs.TagChooser | None = None
    ) -> Revision:
        """Fetch ``ref`` and force the work tree to it (local edits are discarded).

        A branch ref leaves HEAD on that local branch; tag, semver, commit and other ``name``
        refs leave a detached HEAD (``branch`` is None: pushing then needs an explicit branch).
        """
        todo = _refs.plan(
            ref,
            remote=self._remote_name,
            list_refs=self.list_remote_refs,
            default_branch=self._default_branch,
            choose_tag=choose_tag,
        )
        self._fetch(todo.refspecs, depth=0 if todo.full_history else depth)
        with map_git_errors("checkout", self.url, self._secrets):
            if todo.local is not None:
                try:
                    target = self._repo.references[todo.local].peel(pygit2.Commit)
                except KeyError:
                    raise errors.GitError(f"{self.url} has no ref {todo.local}") from None
            else:
                assert todo.commit is not None
                try:
                    target = self._repo.revparse_single(todo.commit).peel(pygit2.Commit)
                except (KeyError, ValueError):
                    raise errors.GitError(f"commit {todo.commit} not found in {self.url}") from None
            if todo.branch is not None:
                self._point_branch(todo.branch, target.id)
            else:
                self._repo.set_head(target.id)
            self._repo.reset(target.id, ResetMode.HARD)
        logger.info("checked out %s at %s", todo.branch or todo.local or todo.commit, target.id)
        return Revision(todo.branch or "HEAD", str(target.id))

    def _point_branch(self, branch: str, oid: pygit2.Oid) -> None:
        name = f"refs/heads/{branch}"
        if self._repo.head_is_unborn or self._repo.references["HEAD"].target != name:
            self._repo.references.create(name, oid, force=True)
            self._repo.set_head(name)

    def switch_branch(self, branch: str) -> None:
        """Put HEAD on local ``branch``, created (or moved) at the current commit; keeps edits."""
        with map_git_errors("switch", self.url):
            if self.branch != branch:
                self._repo.references.create(f"refs/heads/{branch}", self._repo.head.target, force=True)
                self._repo.set_head(f"refs/heads/{branch}")

    def fetch_branch(self, branch: str, *, depth: int = 1) -> str | None:
        """Fetch the remote's ``branch``; its sha, or None when the remote has no such branch."""
        if f"refs/heads/{branch}" not in self.list_remote_refs():
            return None
        tracking = f"refs/remotes/{self._remote_name}/{branch}"
        self._fetch([f"+refs/heads/{branch}:{tracking}"], depth=depth)
        return str(self._repo.references[tracking].target)

    def reset(self, sha: str) -> None:
        """Move HEAD (its branch) to ``sha`` and force the work tree and index to it."""
        with map_git_errors("reset", self.url):
            self._repo.reset(pygit2.Oid(hex=sha), ResetMode.HARD)

    def same_tree(self, a: str, b: str) -> bool:
        """Whether commits ``a`` and ``b`` (both fetched) hold identical trees — e.g. the bot's
        pull-request branch already carries exactly this change."""
        with map_git_errors("compare", self.url):
            try:
                trees = [self._repo.revparse_single(sha).peel(pygit2.Commit).tree_id for sha in (a, b)]
            except (KeyError, ValueError):
                raise errors.GitError(f"commit {a} or {b} is not in the local clone") from None
        return trees[0] == trees[1]

    # -- commit and push ------------------------------------------------------------------------

    def changed_paths(self, under: str = ".") -> list[str]:
        """Paths (relative, POSIX) below ``under`` that differ from HEAD or are untracked."""
        return _commit.changed_under(self._repo, _commit.normalise(under))

    def commit(
        self,
        message: str,
        *,
        author_name: str,
        author_email: str,
        paths: Sequence[str] | None = None,
        under: str = ".",
        signing_key: gitauth.SigningKey | None = None,
    ) -> Revision | None:
        """Stage ``paths`` (or every change below ``under``) and commit on HEAD.

        Returns None — and writes no commit — when the staged tree equals HEAD's.
        """
        with map_git_errors("commit", self.url):
            _commit.stage(self._repo, paths=paths, under=under)
            author = pygit2.Signature(author_name, author_email)
            oid = _commit.write_commit(self._repo, message=message, author=author, signing_key=signing_key)
        if oid is None:
            logger.info("nothing to commit")
            return None
        logger.info("committed %s", oid)
        return Revision(self.branch or "HEAD", str(oid))

    def push(
        self,
        branch: str | None = None,
        *,
        refspec: str | None = None,
        options: Mapping[str, str] | None = None,
        force_with_lease: str | None = None,
    ) -> Revision:
        """Push HEAD to ``branch`` (default: the checked-out branch), and ``refspec`` if given.

        Like Flux, a ``refspec`` is pushed in addition to the branch. ``options`` become git push
        options (``key=value``; an empty value sends just ``key``). Never forces, except with
        ``force_with_lease=<sha the remote branch must still be at>`` (``""``: must not exist) —
        for the bot's own pull-request branch. Raises :class:`~imagebot.errors.PushRejected` when
        the remote branch moved (fetch, re-apply, retry: :func:`imagebot.git.push_with_retry`).
        """
        target = branch or self.branch
        if target is None:
            raise errors.ConfigError("HEAD is detached (tag/semver/commit checkout): name a push branch")
        self.switch_branch(target)
        local = f"refs/heads/{target}"
        pairs = [(local, local)]
        if refspec:
            src, _, dst = refspec.lstrip("+").partition(":")
            if (dst or src) != local:
                pairs.append((src, dst or src))
        push_options = [f"{k}={v}" if v else k for k, v in (options or {}).items()] or None
        with map_git_errors("push", self.url, self._secrets), self._session() as callbacks:
            cb = callbacks()
            if is_local(self._origin.url or ""):
                # libgit2's local transport runs no hooks and overwrites refs: use receive-pack
                cb.rejected.update(push_local(Path(self._repo.path), self._origin.url or "", pairs,
                                              lease=force_with_lease, options=push_options or (),
                                              timeout=self._timeout))
            else:
                force = "+" if force_with_lease is not None else ""
                if force_with_lease is not None:
                    cb.negotiate = _lease(local, force_with_lease)
                specs = [f"{force}{local}:{local}"] + ([refspec] if len(pairs) > 1 and refspec else [])
                self._origin.push(specs, callbacks=cb, push_options=push_options)
        for refname, reason in cb.rejected.items():
            raise rejection(self.url, refname, reason)
        logger.info("pushed %s to %s", self.head, target)
        return Revision(target, self.head)

    def _session(self) -> _remote.SessionContext:
        return _remote.session(self._auth, url=self.url, timeout=self._timeout)


def _lease(refname: str, expected: str) -> _remote.Negotiator:
    want = pygit2.Oid(hex=expected) if expected else _ZERO

    def check(updates: list[pygit2.remotes.PushUpdate]) -> None:
        for update in updates:
            if update.dst_refname == refname and update.src != want:
                raise errors.PushRejected(
                    f"{refname} is at {update.src}, expected {expected or 'no branch'}; not forcing"
                )

    return check
