"""``GitHubForge``: the ``Forge`` protocol on PyGithub, for github.com and GitHub Enterprise.

The only module that imports PyGithub (``github``). Every call goes through ``_call``, which
retries rate limits (403/429 with rate-limit headers: ``Retry-After`` or ``X-RateLimit-Reset``)
and 5xx with backoff through an injectable ``sleep``, and turns everything else into
``ForgeError``/``ForgeUnavailable`` naming the repository and the permission that is missing.
Messages are built from status codes and GitHub's ``message`` only, then scrubbed of the
credentials. Built by the CLI/pipeline; used through :func:`imagebot.publish.open_or_update`.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import github
import jwt
import requests
from github import Auth, GithubException, GithubIntegration

from imagebot import backoff, errors
from imagebot.model.pullrequests import GitHubApp, GitHubCredentials, MergeMethod
from imagebot.model.revisions import PullRequestRef

__all__ = ["GITHUB_API", "GitHubForge"]

logger = logging.getLogger("imagebot.publish")
T = TypeVar("T")

GITHUB_API = "https://api.github.com"
"""github.com's API; GitHub Enterprise Server is ``https://HOST/api/v3``."""

_WRITE_PULLS = "'Pull requests: write' (fine-grained token / GitHub App) or the 'repo' scope"
_WRITE_ISSUES = "'Issues: write' or 'Pull requests: write' (GitHub App), or the 'repo' scope"
_READ_REPO = "'Metadata: read' on the repository (GitHub App: installed on it), or the 'repo' scope"
_AUTO_MERGE_REFUSED = (
    "auto merge is not allowed", "auto-merge is not allowed", "clean status", "unstable status",
    "not in the correct state", "protected branch rules not configured",
)


class GitHubForge:
    """Pull requests on one GitHub repository.

    >>> forge = GitHubForge("org/gitops", GitHubToken(token))  # doctest: +SKIP
    >>> publish.open_or_update(forge, "imagebot/apps", base="main", title=t, body=b, spec=s)  # doctest: +SKIP

    ``base_url`` selects GitHub Enterprise (``https://ghe.example.com/api/v3``). ``sleep`` and
    ``clock`` are the seams for retries; ``seconds_between_requests``/``_writes`` are PyGithub's
    throttling (GitHub asks integrations to pace writes).
    """

    def __init__(
            self,
            repository: str,
            credentials: GitHubCredentials,
            *,
            base_url: str = GITHUB_API,
            retry: backoff.Backoff = backoff.DEFAULT,
            timeout: int = 30,
            seconds_between_requests: float = 0.25,
            seconds_between_writes: float = 1.0,
            sleep: Callable[[float], None] = time.sleep,
            clock: Callable[[], float] = time.time,
    ) -> None:
        owner, _, name = repository.partition("/")
        if not owner or not name or "/" in name:
            raise errors.ConfigError(f"GitHub repository {repository!r}: expected 'owner/name'")
        self._repository = repository
        self._owner = owner
        self._credentials = credentials
        self._secrets = _secrets(credentials)
        self._retry = retry
        self._sleep = sleep
        self._clock = clock
        self._options: dict[str, Any] = {
            "base_url": base_url.rstrip("/"), "timeout": timeout, "retry": None,
            "user_agent": "imagebot", "seconds_between_requests": seconds_between_requests,
            "seconds_between_writes": seconds_between_writes,
        }
        self._client: github.Github | None = None
        self._repo: Any = None
        self._pulls: dict[int, Any] = {}
        # PyGithub logs response bodies at DEBUG, and the installation-token response carries the token
        logging.getLogger("github.Requester").setLevel(logging.INFO)

    @property
    def repository(self) -> str:
        return self._repository

    def find_pull_request(self, head: str, *, base: str) -> PullRequestRef | None:
        repo = self._get_repo()
        # iterate, don't slice: PyGithub's slice of an empty page raises IndexError
        pulls = self._call("list pull requests", _READ_REPO, lambda: list(itertools.islice(
            repo.get_pulls(state="open", head=f"{self._owner}:{head}", base=base), 1)))
        if not pulls:
            return None
        self._pulls[pulls[0].number] = pulls[0]
        return _ref(pulls[0], created=False)

    def create_pull_request(
            self, head: str, *, base: str, title: str, body: str, draft: bool,
    ) -> PullRequestRef:
        repo = self._get_repo()
        try:
            pull = self._call("create a pull request", _WRITE_PULLS, lambda: repo.create_pull(
                base=base, head=head, title=title, body=body, draft=draft))
        except _AlreadyExists:
            existing = self.find_pull_request(head, base=base)
            if existing is None:
                raise errors.ForgeError(
                    f"GitHub says a pull request for {head} already exists on {self._repository}, "
                    "but it is not open against " + base) from None
            return self.update_pull_request(existing.number, title=title, body=body)
        self._pulls[pull.number] = pull
        return _ref(pull, created=True)

    def update_pull_request(self, number: int, *, title: str, body: str) -> PullRequestRef:
        pull = self._pull(number)
        self._call("update a pull request", _WRITE_PULLS, lambda: pull.edit(title=title, body=body))
        return _ref(pull, created=False)

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        pull = self._pull(number)
        self._call("add labels", _WRITE_ISSUES, lambda: pull.add_to_labels(*labels))

    def request_reviewers(self, number: int, *, users: Sequence[str], teams: Sequence[str]) -> None:
        pull = self._pull(number)
        self._call("request reviewers", _WRITE_PULLS, lambda: pull.create_review_request(
            reviewers=list(users), team_reviewers=list(teams)))

    def enable_auto_merge(self, number: int, method: MergeMethod) -> bool:
        repo = self._get_repo()
        if repo.raw_data.get("allow_auto_merge") is False:
            return False
        pull = self._pull(number)
        try:
            self._call("enable auto-merge", _WRITE_PULLS, lambda: pull.enable_automerge(
                merge_method=method.upper()))
        except errors.ForgeError as exc:
            if any(reason in str(exc).lower() for reason in _AUTO_MERGE_REFUSED):
                return False
            raise
        return True

    # -- plumbing ----------------------------------------------------------------------------

    def _get_repo(self) -> Any:
        if self._repo is None:
            client = self._github()
            self._repo = self._call("read the repository", _READ_REPO, lambda: client.get_repo(
                self._repository))
        return self._repo

    def _pull(self, number: int) -> Any:
        if number not in self._pulls:
            repo = self._get_repo()
            self._pulls[number] = self._call("read a pull request", _READ_REPO, lambda: repo.get_pull(number))
        return self._pulls[number]

    def _github(self) -> github.Github:
        if self._client is None:
            self._client = github.Github(auth=self._auth(), **self._options)
        return self._client

    def _auth(self) -> Auth.Auth:
        credentials = self._credentials
        if not isinstance(credentials, GitHubApp):
            return Auth.Token(credentials.token)
        try:
            app = Auth.AppAuth(credentials.app_id, credentials.private_key)
            app.create_jwt()  # fail here, offline, on a key that cannot sign
        except (ValueError, TypeError, AssertionError, jwt.PyJWTError) as exc:
            raise errors.ForgeError(
                f"GitHub App {credentials.app_id}: the private key cannot sign a JWT "
                f"({type(exc).__name__}); expected an RSA key in PEM format") from None
        installation = credentials.installation_id
        if installation is None:
            owner, _, name = self._repository.partition("/")
            integration = GithubIntegration(auth=app, **self._options)
            installation = self._call(
                f"find the installation of GitHub App {credentials.app_id}",
                "the GitHub App to be installed on the repository",
                lambda: integration.get_repo_installation(owner, name).id)
        return Auth.AppInstallationAuth(app, installation)

    def _call(self, action: str, permission: str, request: Callable[[], T]) -> T:
        attempt = 0
        while True:
            try:
                return request()
            except GithubException as exc:
                delay, error = self._classify(exc, action, permission, attempt)
            except requests.RequestException as exc:
                delay = self._retry.delay(attempt)
                error = errors.ForgeUnavailable(self._scrub(
                    f"GitHub unreachable while trying to {action} on {self._repository}: "
                    f"{type(exc).__name__}"), delay=max(delay, 60.0))
            if delay is None:
                raise error from None
            attempt += 1
            if attempt >= self._retry.attempts or not self._retry.honours(delay):
                raise error from None
            logger.warning("%s; retrying in %.1fs (retry %d of %d)", error, delay, attempt,
                           self._retry.attempts - 1)
            self._sleep(delay)

    def _classify(
            self, exc: GithubException, action: str, permission: str, attempt: int,
    ) -> tuple[float | None, errors.ImagebotError]:
        status = exc.status
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        data = exc.data if isinstance(exc.data, dict) else {}
        message = str(data.get("message") or exc.message or "").strip()
        graphql = [str(e.get("message", "")) for e in data.get("errors", []) if isinstance(e, dict)]
        detail = "; ".join(filter(None, [message, *graphql]))
        where = f"{self._repository}"
        if status == 429 or (status == 403 and (
                headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers
                or isinstance(exc, github.RateLimitExceededException))):
            delay = self._rate_limit_delay(headers)
            return delay, errors.ForgeUnavailable(self._scrub(
                f"GitHub rate limit while trying to {action} on {where} ({status}: {message})"), delay=delay)
        if status >= 500:
            delay = self._retry.delay(attempt)
            return delay, errors.ForgeUnavailable(self._scrub(
                f"GitHub answered {status} while trying to {action} on {where}"), delay=60.0)
        if status == 422 and "already exists" in detail.lower() and "pull request" in detail.lower():
            return None, _AlreadyExists(detail)
        if status == 401:
            text = (f"GitHub rejected the credentials (401 {message or 'Bad credentials'}) while trying to "
                    f"{action} on {where}: check the token, or the GitHub App id, key and installation")
        elif status == 403:
            text = (f"GitHub denied the request to {action} on {where} (403: {detail}); the credentials "
                    f"need {permission}")
        elif status == 404:
            text = (f"GitHub could not {action} on {where} (404 {message or 'Not Found'}): the repository "
                    f"does not exist or the credentials cannot see it; they need {permission}")
        elif status == 422:
            text = f"GitHub refused to {action} on {where} (422: {_validation(data) or detail})"
        else:
            text = f"GitHub answered {status} while trying to {action} on {where}: {detail}"
        return None, errors.ForgeError(self._scrub(text))

    def _rate_limit_delay(self, headers: dict[str, str]) -> float:
        retry_after = headers.get("retry-after", "")
        if retry_after.strip().isdigit():
            return float(retry_after)
        if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset", "").isdigit():
            return max(float(headers["x-ratelimit-reset"]) - self._clock(), 0.0) + 1.0
        return 60.0  # secondary rate limit without Retry-After: GitHub asks for at least a minute

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


class _AlreadyExists(errors.ForgeError):
    pass


def _validation(data: dict[str, Any]) -> str:
    parts = []
    for error in data.get("errors", []) or []:
        if isinstance(error, dict):
            parts.append(str(error.get("message") or f"{error.get('field')} {error.get('code')}"))
        else:
            parts.append(str(error))
    message = str(data.get("message") or "")
    return "; ".join([message, *parts] if parts else [message])


def _ref(pull: Any, *, created: bool) -> PullRequestRef:
    return PullRequestRef(number=int(pull.number), url=str(pull.html_url), created=created)


def _secrets(credentials: GitHubCredentials) -> tuple[str, ...]:
    if isinstance(credentials, GitHubApp):
        lines = [line for line in credentials.private_key.splitlines() if len(line) >= 16]
        return (credentials.private_key, *lines)
    return (credentials.token,) if credentials.token else ()
