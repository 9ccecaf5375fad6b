"""The git repository publish runs in: clone or reuse, fetch, check out, commit, push.

:class:`Workspace` is built by the pipeline (``Workspace.clone`` for a clone imagebot owns,
``Workspace.open`` for an existing checkout such as a GitHub Action's) and handed to the setters
(``.root``, or ``files_at(sha)``) and to publish (``.commit``, ``.push``;
:func:`imagebot.git.push_with_retry`). Commits are built from blobs, never from the index; in a
checkout opened in place nothing but objects and remote-tracking refs is ever written, so HEAD,
the index, the local branches and the work tree stay exactly as the user left them (issue 8).
Every libgit2 call goes through :func:`~imagebot.git._errors.map_git_errors`, so only imagebot
errors leave this module, with URLs stripped of credentials.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath

import pygit2
from pygit2.enums import FileMode, ResetMode

from imagebot import errors
from imagebot.git import _commit, _history, _refs, _remote
from imagebot.git._errors import map_git_errors, rejection
from imagebot.git._localpush import push_local, unshallow
from imagebot.git._lock import DEFAULT_LOCK_TIMEOUT, WorkdirLock
from imagebot.git._urls import default_workdir, is_local, redact_url, same_remote, url_credentials
from imagebot.model import gitauth
from imagebot.model.flux import GitRef
from imagebot.model.history import LoggedCommit
from imagebot.model.revisions import Revision

__all__ = ["Workspace"]

logger = logging.getLogger("imagebot.git")

_ZERO = pygit2.Oid(hex="0" * 40)


class Workspace:
    """A git work tree with one remote.

    ::

        ws = Workspace.clone("https://github.com/org/fleet.git", ref=GitRef(branch="main"),
                             auth=TokenAuth(token))
        with ws.files_at(ws.head, paths=["apps"]) as root:  # the files of that commit
            planned = setters.plan(values, root=root, paths=[Path("apps")])
        revision = ws.commit("chore(images): …", files={...: edit.after},
                             author_name="bot", author_email="bot@x")
        if revision is not None:
            ws.push(commit=revision.sha)                    # to the checked-out branch
    """

    def __init__(
        self, repo: pygit2.Repository, *, auth: gitauth.GitAuth | None = None, remote: str = "origin",
        timeout: float = _remote.DEFAULT_TIMEOUT, owned: bool = True, prefix: str = "",
        lock: WorkdirLock | None = None,
    ) -> None:
        self._lock = lock
        self._repo = repo
        self._auth = auth
        self._remote_name = remote
        self._secrets = _remote.secrets_of(auth)
        self._timeout = timeout
        self._owned = owned
        self._prefix = prefix

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
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> Workspace:
        """Clone ``url`` into ``workdir`` (default ``.imagebot/git/<repo>``) or reuse the clone
        already there, then fetch and check out ``ref`` (default: the remote's HEAD branch).

        ``depth=1`` fetches shallow over http(s)/ssh; local paths and ``file://`` always fetch the
        full history (libgit2's local transport cannot do shallow). ``depth=0`` means full.
        Each network operation (here and later) must finish within ``timeout`` seconds.

        The clone is locked (``<workdir>.lock``) until :meth:`close` (or the end of a ``with``
        block): another process wanting the same clone waits up to ``lock_timeout`` seconds,
        then gets :class:`~imagebot.errors.WorkspaceBusy`.
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
        lock = WorkdirLock.acquire(path, timeout=lock_timeout)
        try:
            workspace = cls._init(path, url, clean, secrets, auth=auth, timeout=timeout, lock=lock)
            workspace._secrets += url_secret
            workspace.checkout(ref or GitRef(), depth=depth, choose_tag=choose_tag)
        except BaseException:
            lock.release()
            raise
        return workspace

    @classmethod
    def _init(
        cls, path: Path, url: str, clean: str, secrets: tuple[str, ...], *, auth: gitauth.GitAuth | None,
        timeout: float, lock: WorkdirLock,
    ) -> Workspace:
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
        return cls(repo, auth=auth, timeout=timeout, lock=lock)

    @classmethod
    def open(
        cls, path: Path, *, auth: gitauth.GitAuth | None = None, remote: str = "origin",
        timeout: float = _remote.DEFAULT_TIMEOUT,
    ) -> Workspace:
        """Work in place in an existing checkout (GitHub Actions): no clone, no checkout.

        ``path`` may be a directory inside the work tree: it is the :attr:`root` setters' paths
        are relative to. Nothing of the checkout is changed later (see :meth:`commit`).
        """
        found = pygit2.discover_repository(str(path))
        if found is None:
            raise errors.GitError(f"{path} is not inside a git repository")
        with map_git_errors("open", str(path)):
            repo = pygit2.Repository(found)
        if repo.is_bare:
            raise errors.GitError(f"{path} is a bare repository; imagebot needs a work tree")
        inside = path.resolve().relative_to(Path(repo.workdir).resolve()).as_posix()
        return cls(repo, auth=auth, remote=remote, timeout=timeout, owned=False,
                   prefix="" if inside == "." else inside)

    def close(self) -> None:
        """Release the clone's lock (a checkout opened in place holds none)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- state ----------------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The top of the work tree."""
        return Path(self._repo.workdir)

    @property
    def root(self) -> Path:
        """The directory setters' paths are relative to: the top of the work tree, or the
        directory given to :meth:`open`."""
        return self.path / self._prefix if self._prefix else self.path

    @property
    def in_place(self) -> bool:
        """Opened in the user's checkout (:meth:`open`): only objects and remote-tracking refs
        are ever written."""
        return not self._owned

    def git_path(self, relative: str) -> str:
        """A path relative to :attr:`root` as a path in the repository's tree."""
        return _commit.normalise(f"{self._prefix}/{relative}" if self._prefix else relative)

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
        Only in a clone imagebot owns.
        """
        self._only_owned("check out")
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

    def fetch_branch(self, branch: str, *, depth: int = 1) -> str | None:
        """Fetch the remote's ``branch``; its sha, or None when the remote has no such branch."""
        if f"refs/heads/{branch}" not in self.list_remote_refs():
            return None
        tracking = f"refs/remotes/{self._remote_name}/{branch}"
        self._fetch([f"+refs/heads/{branch}:{tracking}"], depth=depth)
        return str(self._repo.references[tracking].target)

    def reset(self, sha: str) -> None:
        """Move HEAD (its branch) to ``sha`` and force the work tree and index to it (only in a
        clone imagebot owns)."""
        self._only_owned("reset")
        with map_git_errors("reset", self.url):
            self._repo.reset(pygit2.Oid(hex=sha), ResetMode.HARD)

    def _only_owned(self, what: str) -> None:
        if not self._owned:
            raise errors.GitError(
                f"refusing to {what} {self.path}: a checkout opened in place is left as found"
            )

    @contextlib.contextmanager
    def files_at(
        self, sha: str, *, paths: Sequence[str] = ("",), also: Sequence[str] = (), containing: bytes = b"",
    ) -> Iterator[Path]:
        """A directory holding commit ``sha``'s files below ``paths`` (relative to :attr:`root`),
        plus the files named in ``also`` (e.g. ``.gitignore``) of every directory above them;
        the equivalent of :attr:`root` for that commit.

        In a clone imagebot owns, that is the work tree, forced to ``sha``. In a checkout opened
        in place it is a temporary directory (removed afterwards): the user's work tree is never
        read or written, so "unchanged" is judged against ``sha``, whatever the checkout holds.
        Only blobs holding ``containing`` (and ``also`` files, at any depth) are written out there.
        """
        if self._owned:
            self.reset(sha)
            yield self.root
            return
        with tempfile.TemporaryDirectory(prefix="imagebot-tree-") as scratch:
            with map_git_errors("read", self.url):
                self._export(sha, Path(scratch), [self.git_path(p) for p in paths], also, containing)
            yield Path(scratch) / self._prefix if self._prefix else Path(scratch)

    def _export(
        self, sha: str, dest: Path, paths: Sequence[str], also: Sequence[str], containing: bytes
    ) -> None:
        try:
            tree = self._repo.revparse_single(sha).peel(pygit2.Commit).tree
        except (KeyError, ValueError):
            raise errors.GitError(f"commit {sha} is not in {self.path}") from None
        dest.mkdir(parents=True, exist_ok=True)
        for path in paths:
            parts = PurePosixPath(path).parts if path else ()
            for depth in range(len(parts) + 1):
                directory = "/".join(parts[:depth])
                for name in also:
                    self._write_blob(tree, f"{directory}/{name}" if directory else name, dest)
            if not path:
                self._write_tree(tree, "", dest, containing, also)
                continue
            try:
                entry = tree[path]
            except KeyError:
                continue  # the setters report the missing path
            if entry.type_str == "tree":
                self._write_tree(self._repo[entry.id], path, dest, containing, also)  # type: ignore[arg-type]
            else:
                self._write_blob(tree, path, dest)

    def _write_tree(
        self, tree: pygit2.Tree, path: str, dest: Path, containing: bytes, also: Sequence[str] = ()
    ) -> None:
        (dest / path).mkdir(parents=True, exist_ok=True)
        for entry in tree:
            child = f"{path}/{entry.name}" if path else entry.name
            if entry.type_str == "tree":
                self._write_tree(self._repo[entry.id], child, dest, containing, also)  # type: ignore[arg-type]
            elif entry.type_str == "blob" and entry.filemode != FileMode.LINK:
                data = self._repo[entry.id].data  # type: ignore[attr-defined]
                if containing in data or entry.name in also:
                    (dest / child).write_bytes(data)  # type: ignore[operator]

    def _write_blob(self, tree: pygit2.Tree, path: str, dest: Path) -> None:
        try:
            entry = tree[path]
        except KeyError:
            return
        if entry.type_str == "blob" and entry.filemode != FileMode.LINK:
            (dest / path).parent.mkdir(parents=True, exist_ok=True)
            (dest / path).write_bytes(self._repo[entry.id].data)  # type: ignore[attr-defined]

    def same_tree(self, a: str, b: str) -> bool:
        """Whether commits ``a`` and ``b`` (both fetched) hold identical trees — e.g. the bot's
        pull-request branch already carries exactly this change."""
        with map_git_errors("compare", self.url):
            try:
                trees = [self._repo.revparse_single(sha).peel(pygit2.Commit).tree_id for sha in (a, b)]
            except (KeyError, ValueError):
                raise errors.GitError(f"commit {a} or {b} is not in the local clone") from None
        return trees[0] == trees[1]

    # -- history (imagebot rollback) ------------------------------------------------------------

    def resolve(self, revision: str) -> str:
        """The full sha of ``revision`` (a sha, an abbreviated sha, or a ref name) in the clone."""
        with map_git_errors("read", self.url):
            try:
                return str(self._repo.revparse_single(revision).peel(pygit2.Commit).id)
            except (KeyError, ValueError):
                raise errors.GitError(f"revision {revision!r} is not in {self.url}") from None

    def deepen(self, branch: str) -> str | None:
        """Fetch the remote's ``branch`` with its whole history (a shallow clone or checkout is
        unshallowed; in place that writes objects, the remote-tracking ref and ``.git/shallow``,
        nothing else); its sha, or None when the remote has no such branch. libgit2's local
        transport cannot unshallow, so for local remotes the git CLI fetches."""
        if not self.is_shallow or not is_local(self._origin.url or ""):
            return self.fetch_branch(branch, depth=0)
        if f"refs/heads/{branch}" not in self.list_remote_refs():
            return None
        tracking = f"refs/remotes/{self._remote_name}/{branch}"
        unshallow(Path(self._repo.path), self._origin.url or "", f"+refs/heads/{branch}:{tracking}",
                  timeout=self._timeout)
        self._repo = pygit2.Repository(self._repo.path)  # re-read .git/shallow
        return str(self._repo.references[tracking].target)

    def log(self, sha: str, *, path: str, stop: str | None = None) -> list[LoggedCommit]:
        """Commits reachable from ``sha`` that changed something below ``path`` (relative to
        :attr:`root`), newest first, down to ``stop`` (excluded), merged branches included. A
        shallow history is deepened by the caller (``fetch_branch(name, depth=0)``)."""
        with map_git_errors("log", self.url):
            try:
                return _history.log(self._repo, sha, path=self.git_path(path), stop=stop)
            except (KeyError, ValueError):
                raise errors.GitError(f"revision {stop or sha} is not in {self.url}") from None

    def revert_files(self, commits: Sequence[str], *, onto: str, path: str) -> dict[str, bytes | None]:
        """What reverting ``commits`` (newest first) on ``onto`` changes below ``path`` (relative
        to :attr:`root`), as repository path → bytes for :meth:`commit`; built from objects only
        (see :mod:`imagebot.git._history`)."""
        with map_git_errors("revert", self.url):
            return _history.revert_files(self._repo, commits, onto=onto, path=self.git_path(path))

    # -- commit and push ------------------------------------------------------------------------

    def commit(
        self,
        message: str,
        *,
        files: Mapping[str, bytes | None],
        author_name: str,
        author_email: str,
        parent: str | None = None,
        signing_key: gitauth.SigningKey | None = None,
    ) -> Revision | None:
        """A commit on ``parent`` (default HEAD) holding exactly ``files`` (repository path →
        new bytes; None removes the file) on top of the parent's tree — built from blobs; the
        index and the work tree are never read, so nothing else can slip in.

        Returns None — and writes no commit — when the tree does not change. In a clone imagebot
        owns, a commit on HEAD moves HEAD (its branch) and the work tree to it; otherwise no ref,
        index entry or file moves: push it with ``push(commit=revision.sha)``.
        """
        with map_git_errors("commit", self.url):
            if parent is not None:
                try:
                    base: pygit2.Commit | None = self._repo.revparse_single(parent).peel(pygit2.Commit)
                except (KeyError, ValueError):
                    raise errors.GitError(f"commit {parent} is not in {self.path}") from None
            else:
                base = None if self._repo.head_is_unborn else self._repo.head.peel(pygit2.Commit)
            author = pygit2.Signature(author_name, author_email)
            oid = _commit.write_commit(self._repo, parent=base, files=files, message=message, author=author,
                                       signing_key=signing_key)
            if oid is None:
                logger.info("nothing to commit")
                return None
            on_head = base is None or (not self._repo.head_is_unborn and base.id == self._repo.head.target)
            if self._owned and on_head:
                self._advance(oid, files)
        logger.info("committed %s", oid)
        return Revision(self.branch or "HEAD", str(oid))

    def _advance(self, oid: pygit2.Oid, files: Mapping[str, bytes | None]) -> None:
        """Owned clones only: HEAD (its branch) to ``oid``, the index to its tree, and the
        committed files into the work tree; other work-tree files are left as they are."""
        if self._repo.head_is_detached or self._repo.head_is_unborn:
            self._repo.set_head(oid)
        else:
            branch = self._repo.references["HEAD"].target
            assert isinstance(branch, str)
            self._repo.references.create(branch, oid, force=True)
        commit = self._repo[oid]
        assert isinstance(commit, pygit2.Commit)
        index = self._repo.index
        index.read_tree(commit.tree)
        index.write()
        for path, data in files.items():
            target = self.path / _commit.normalise(path)
            if data is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)

    def push(
        self,
        branch: str | None = None,
        *,
        commit: str | None = None,
        refspec: str | None = None,
        options: Mapping[str, str] | None = None,
        force_with_lease: str | None = None,
    ) -> Revision:
        """Push ``commit`` (default HEAD) to the remote's ``branch`` (default: the checked-out
        branch), and ``refspec`` if given. No local branch is created, moved or switched to; the
        remote-tracking ref follows the push.

        Like Flux, a ``refspec`` is pushed in addition to the branch. ``options`` become git push
        options (``key=value``; an empty value sends just ``key``). Never forces, except with
        ``force_with_lease=<sha the remote branch must still be at>`` (``""``: must not exist) —
        for the bot's own pull-request branch. Raises :class:`~imagebot.errors.PushRejected` when
        the remote branch moved (fetch, re-apply, retry: :func:`imagebot.git.push_with_retry`).
        """
        target = branch or self.branch
        if target is None:
            raise errors.ConfigError("HEAD is detached (tag/semver/commit checkout): name a push branch")
        sha = commit or self.head
        remote_ref = f"refs/heads/{target}"
        extra: tuple[str, str] | None = None
        if refspec:
            src, _, dst = refspec.lstrip("+").partition(":")
            if (dst or src) != remote_ref:
                # the branch being pushed is our commit, whatever the local branch says
                extra = (sha if src in ("HEAD", target, remote_ref) else src, dst or src)
        push_options = [f"{k}={v}" if v else k for k, v in (options or {}).items()] or None
        with map_git_errors("push", self.url, self._secrets), self._session() as callbacks:
            cb = callbacks()
            if is_local(self._origin.url or ""):
                # libgit2's local transport runs no hooks and overwrites refs: use receive-pack
                pairs = [(sha, remote_ref)] + ([extra] if extra else [])
                refused, cb.said = push_local(Path(self._repo.path), self._origin.url or "", pairs,
                                              lease=force_with_lease, options=push_options or (),
                                              timeout=self._timeout)
                cb.rejected.update(refused)
            else:
                # libgit2 pushes refs, not shas: a private ref, removed afterwards
                scratch = f"refs/imagebot/push/{uuid.uuid4().hex}"
                self._repo.references.create(scratch, pygit2.Oid(hex=sha))
                try:
                    force = "+" if force_with_lease is not None else ""
                    if force_with_lease is not None:
                        cb.negotiate = _lease(remote_ref, force_with_lease)
                    specs = [f"{force}{scratch}:{remote_ref}"]
                    if extra is not None:
                        specs.append(f"{scratch if extra[0] == sha else extra[0]}:{extra[1]}")
                    self._origin.push(specs, callbacks=cb, push_options=push_options)
                finally:
                    self._repo.references.delete(scratch)
        for refname, reason in cb.rejected.items():
            raise rejection(self.url, refname, reason, said=cb.said)
        with map_git_errors("push", self.url):
            tracking = f"refs/remotes/{self._remote_name}/{target}"
            self._repo.references.create(tracking, pygit2.Oid(hex=sha), force=True)
        logger.info("pushed %s to %s", sha, target)
        return Revision(target, sha)

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
