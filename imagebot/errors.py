"""imagebot's exception hierarchy, classified by what the caller does next.

* ImagebotError                  base; never raised directly
  x ConfigError                  bad policies/ file or flag (file, document, key path); exit 2
    + PolicyError                invalid semver range / regex in an ImagePolicy (names the policy)
  x TemporaryError(delay=…)      retry later; the scheduler honours .delay
    + RegistryUnavailable        connection failure, 5xx, timeouts, 429 (Retry-After → delay)
      + RateLimited              the registry throttled us for this run (Docker Hub pull limit)
    + PushRejected               non-fast-forward: refetch, re-apply, retry
    + ForgeUnavailable           the forge (GitHub) rate-limited us or kept answering 5xx
    + GitUnavailable             the git remote could not be reached (connection, timeout, 5xx)
    + WorkspaceBusy              another imagebot run held the clone for longer than the lock timeout
    + ClusterUnavailable         the Kubernetes API server could not be reached, or answered 5xx/429
  x PermanentError               needs a human; reported, not retried
    + RegistryError              the registry answered something we cannot use
      + RegistryAuthError        credentials refused (401 after a fresh token, token server 401/403)
      + RegistryAccessDenied     authenticated but not allowed (403, insufficient_scope)
      + RepositoryNotFound       404 NAME_UNKNOWN (or "no access" on registries that hide it)
      + RegistryProtocolError    HTML where JSON belongs, malformed JSON, body over the size cap
    + MarkerError                malformed marker or unparsable YAML (path, line)
    + ForgeError                 the forge (GitHub) refused: permissions, validation
    + GitError                   a git operation failed: missing ref, refused push (hook), bad repo
      + GitAuthError             git credentials refused, or the SSH host key is unknown/wrong
    + RenderError                manifests of a sync unit cannot be rendered (names the unit and file)
    + ClusterError               the Kubernetes API server refused a request (names the object)
      + ApplyConflict            server-side apply conflict with another field manager (use --force)

Every message is one line a user can act on, and never contains a secret: adapters build
messages from hosts, repository paths and status codes only.
"""

from __future__ import annotations

__all__ = [
    "ApplyConflict",
    "ClusterError",
    "ClusterUnavailable",
    "ConfigError",
    "ForgeError",
    "ForgeUnavailable",
    "GitAuthError",
    "GitError",
    "GitUnavailable",
    "ImagebotError",
    "MarkerError",
    "PermanentError",
    "PolicyError",
    "PushRejected",
    "RateLimited",
    "RegistryAccessDenied",
    "RegistryAuthError",
    "RegistryError",
    "RegistryProtocolError",
    "RegistryUnavailable",
    "RenderError",
    "RepositoryNotFound",
    "TemporaryError",
    "WorkspaceBusy",
]


class ImagebotError(Exception):
    """Base of every error imagebot raises on purpose."""


class ConfigError(ImagebotError):
    """The configuration cannot be used as written; a human must edit it.

    ``key_path`` is the key inside the object (``spec.policy.semver.range``) when known, so a
    finding can be put on its line (``imagebot validate``).
    """

    def __init__(self, message: str, *, key_path: str | None = None) -> None:
        super().__init__(message)
        self.key_path = key_path


class PolicyError(ConfigError):
    """An ImagePolicy is invalid (bad semver range, bad regex, no policy kind)."""


class TemporaryError(ImagebotError):
    """Retrying later may succeed; ``delay`` is the suggested wait in seconds."""

    def __init__(self, message: str, *, delay: float = 60.0) -> None:
        super().__init__(message)
        self.delay = delay


class RegistryUnavailable(TemporaryError):
    """The registry could not be reached or answered 5xx/429 after the retry budget."""


class RateLimited(RegistryUnavailable):
    """The registry throttled this client; no more requests go to it in this run."""


class PushRejected(TemporaryError):
    """The remote refused a push (non-fast-forward); fetch, re-apply and try again."""


class GitUnavailable(TemporaryError):
    """The git remote could not be reached or answered 5xx; the message names the redacted URL."""


class WorkspaceBusy(TemporaryError):
    """Another imagebot process kept the clone locked past the wait; names the clone and the pid."""


class ForgeUnavailable(TemporaryError):
    """The forge rate-limited us (``delay`` = until the limit resets) or kept failing with 5xx."""


class PermanentError(ImagebotError):
    """Retrying will not help; report it and let a human act."""


class RegistryError(PermanentError):
    """The registry answered, but not with something we can use."""


class RegistryAuthError(RegistryError):
    """Credentials were refused by the registry or its token server."""


class RegistryAccessDenied(RegistryError):
    """Authenticated, but not allowed to read this repository."""


class RepositoryNotFound(RegistryError):
    """The repository does not exist (or the registry hides it from us)."""


class RegistryProtocolError(RegistryError):
    """The registry's answer broke the protocol (HTML, bad JSON, too large)."""


class MarkerError(PermanentError):
    """A file or marker could not be processed; the message names the path and line."""


class ForgeError(PermanentError):
    """The forge refused a request (permissions, validation)."""


class GitError(PermanentError):
    """A git operation failed for a reason retrying will not fix (missing ref, hook refused)."""


class GitAuthError(GitError):
    """The git remote refused the credentials, or its SSH host key is not trusted."""


class ClusterUnavailable(TemporaryError):
    """The Kubernetes API server could not be reached, or answered 5xx/429."""


class RenderError(PermanentError):
    """A sync unit's manifests cannot be rendered; the message names the unit and the file."""


class ClusterError(PermanentError):
    """The API server refused a request (4xx); the message names the object."""


class ApplyConflict(ClusterError):
    """Server-side apply found fields owned by another manager; ``--force`` takes them over."""
