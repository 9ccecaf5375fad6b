"""The work tree an automation runs in: its GitRepository cloned into the workdir (reused and
locked), or the checkout ``--repo`` names, opened in place. Credentials come from the secret
store. Called by :func:`imagebot.pipeline.run` for each automation."""

from __future__ import annotations

from pathlib import Path

from imagebot import config, git
from imagebot.errors import ConfigError, GitError
from imagebot.model import flux
from imagebot.model.flux import GitRef
from imagebot.pipeline._select import choose_tag

__all__ = ["checkout_branch", "open_workspace"]


def open_workspace(
    automation: flux.ImageUpdateAutomation, cfg: config.Config, secrets: config.SecretStore, *,
    repo: str | None, workdir: Path | None,
) -> git.Workspace:
    """The automation's work tree (``repo``: a checkout used in place, or a URL to clone)."""
    repository = cfg.git_repositories.get(automation.source)
    auth = config.git_auth(secrets, repository) if repository is not None else None
    timeout = repository.timeout.total_seconds() if repository is not None else git.DEFAULT_TIMEOUT
    if repo is not None and _is_checkout(Path(repo)):
        try:
            remote: str | None = git.Workspace.open(Path(repo)).url
        except GitError:
            remote = None  # no 'origin': fine for plan; a run says so when it needs it
        if remote is not None and (
            repository is None or git.redact_url(repository.url).rstrip("/") != remote.rstrip("/")
        ):
            # in place, the checkout's own remote is pushed to — in a GitHub Action an https
            # github.com URL (GITHUB_TOKEN), whatever URL the GitRepository object names
            auth = config.git_auth(secrets, flux.GitRepository(key=automation.source, url=remote))
        return git.Workspace.open(Path(repo), auth=auth, timeout=timeout)
    url = repo or (repository.url if repository is not None else None)
    if url is None:
        raise ConfigError(
            f"{automation.source_file}: ImageUpdateAutomation {automation.key}: GitRepository "
            f"{automation.source} not found in the configuration (or pass --repo)"
        )
    ref = automation.checkout or (repository.ref if repository is not None else None) or GitRef()
    workdir = (workdir or config.home() / "git") / git.default_workdir(url).name
    return git.Workspace.clone(url, ref=ref, auth=auth, workdir=workdir, choose_tag=choose_tag,
                               timeout=timeout)


def checkout_branch(cfg: config.Config, automation: flux.ImageUpdateAutomation) -> str | None:
    """The branch of the automation's checkout ref (its own, else its GitRepository's), if any."""
    repository = cfg.git_repositories.get(automation.source)
    checkout = automation.checkout or (repository.ref if repository is not None else None)
    return checkout.branch if checkout is not None else None


def _is_checkout(path: Path) -> bool:
    """A work tree (or a directory inside one) is worked on in place; a bare repository is cloned."""
    bare = (path / "HEAD").is_file() and (path / "objects").is_dir() and not (path / ".git").exists()
    return path.is_dir() and not bare
