"""A local GitHub REST (and a sliver of GraphQL) server for PyGithub, on a free loopback port.

``FakeGitHub`` implements what :class:`imagebot.publish.GitHubForge` calls, with responses shaped
like GitHub's documented ones (git-forge-tooling.md §4–5): absolute URLs built from the request's
own ``Host``, ``url``/``html_url``/``issue_url`` on pulls, rate-limit headers on every answer,
``Authorization: token …`` or ``Bearer <JWT>`` (verified with the app's public key), installation
tokens from ``POST /app/installations/{id}/access_tokens``. Tests queue faults per route with
``fail(...)`` (403 rate limit, 429, 5xx, 422, 403 permission) and read ``requests`` afterwards.

Endpoints (under ``/api/v3``): ``GET /repos/{o}/{r}``, ``GET|POST /repos/{o}/{r}/pulls``,
``GET|PATCH /repos/{o}/{r}/pulls/{n}``, ``POST /repos/{o}/{r}/issues/{n}/labels``,
``POST /repos/{o}/{r}/pulls/{n}/requested_reviewers``, ``GET /repos/{o}/{r}/installation``,
``POST /app/installations/{id}/access_tokens``, ``GET /rate_limit``; and ``POST /api/graphql``
(``enablePullRequestAutoMerge``).
"""

from __future__ import annotations

import dataclasses
import datetime
import http.server
import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

API = "/api/v3"


@dataclasses.dataclass(frozen=True)
class Fault:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


def rate_limited(*, reset_in: int = 30, now: float | None = None) -> Fault:
    """Primary rate limit: 403, ``X-RateLimit-Remaining: 0`` and the reset time."""
    reset = int((now if now is not None else time.time()) + reset_in)
    return Fault(403, {"message": "API rate limit exceeded for installation ID 42.",
                       "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"},
                 {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})


def secondary_rate_limit(*, retry_after: int = 3, status: int = 403) -> Fault:
    return Fault(status, {"message": "You have exceeded a secondary rate limit. Please wait a few minutes "
                                     "before you try again."}, {"Retry-After": str(retry_after)})


def server_error(status: int = 502) -> Fault:
    return Fault(status, {"message": "Server Error"})


def forbidden(message: str = "Resource not accessible by integration") -> Fault:
    return Fault(403, {"message": message, "documentation_url": "https://docs.github.com/rest"})


def validation_failed(message: str, *, field: str = "base", code: str = "custom") -> Fault:
    return Fault(422, {"message": "Validation Failed",
                       "errors": [{"resource": "PullRequest", "field": field, "code": code, "message": message}],
                       "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"})


@dataclasses.dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    json: Any
    authorization: str


@dataclasses.dataclass
class Pull:
    number: int
    head: str
    base: str
    title: str
    body: str
    draft: bool
    user: str
    state: str = "open"
    labels: list[str] = dataclasses.field(default_factory=list)
    reviewers: list[str] = dataclasses.field(default_factory=list)
    teams: list[str] = dataclasses.field(default_factory=list)
    auto_merge: str | None = None


@dataclasses.dataclass
class FakeGitHub:
    owner: str = "org"
    repo: str = "gitops"
    tokens: dict[str, str] = dataclasses.field(default_factory=lambda: {"ghp_valid": "imagebot-user"})
    """Valid tokens → the login they act as."""
    read_only: set[str] = dataclasses.field(default_factory=set)
    """Tokens that may read but not write (writes answer 403)."""
    app_id: str = "7"
    app_public_key: str | None = None
    installation_id: int = 42
    token_ttl: int = 3600
    allow_auto_merge: bool = True
    collaborators: set[str] = dataclasses.field(default_factory=lambda: {"alice", "bob"})
    teams: set[str] = dataclasses.field(default_factory=lambda: {"platform"})
    pulls: dict[int, Pull] = dataclasses.field(default_factory=dict)
    requests: list[Recorded] = dataclasses.field(default_factory=list)
    issued_tokens: list[str] = dataclasses.field(default_factory=list)
    faults: list[tuple[str, re.Pattern[str], deque[Fault]]] = dataclasses.field(default_factory=list)
    _numbers: Iterator[int] = dataclasses.field(default_factory=lambda: itertools.count(1))
    _server: http.server.ThreadingHTTPServer | None = None
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        fake = self

        class Handler(_Handler):
            github = fake

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{API}"

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    def fail(self, method: str, path: str, *faults: Fault) -> None:
        """Answer the next ``method`` requests whose API path matches ``path`` (a regex) with ``faults``."""
        self.faults.append((method, re.compile(path), deque(faults)))

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        return [r for r in self.requests
                if (method is None or r.method == method) and (path is None or re.fullmatch(path, r.path))]

    # -- request handling (called from server threads) -------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any, authorization: str,
               host: str) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self.requests.append(Recorded(method, path, query, body, authorization))
            for fault_method, pattern, queue in self.faults:
                if fault_method == method and queue and pattern.fullmatch(path):
                    fault = queue.popleft()
                    return fault.status, fault.body, fault.headers
            return self._route(method, path, query, body, authorization, f"http://{host}")

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any, authorization: str,
               root: str) -> tuple[int, Any, dict[str, str]]:
        scheme, _, credential = authorization.partition(" ")
        if path.startswith("/app/") or path.endswith("/installation"):
            return self._app_route(method, path, scheme, credential, root)
        login = self.tokens.get(credential) if scheme.lower() == "token" else None
        if login is None:
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, {}
        if path == "/rate_limit":
            return 200, {"resources": {"core": {"limit": 5000, "remaining": 4999, "reset": int(time.time()) + 3600,
                                                "used": 1}}}, {}
        if path == "/graphql":
            return self._graphql(body, credential)
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        if not match or f"{match[1]}/{match[2]}" != self.full_name:
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest/repos/repos#get-a-repository"}, {}
        rest = match[3] or ""
        if method != "GET" and credential in self.read_only:
            return 403, {"message": "Resource not accessible by personal access token",
                         "documentation_url": "https://docs.github.com/rest"}, {}
        if rest == "" and method == "GET":
            return 200, self._repo_json(root), {}
        if rest == "/pulls" and method == "GET":
            return 200, [self._pull_json(p, root) for p in self._matching(query)], {}
        if rest == "/pulls" and method == "POST":
            return self._create(body, login, root)
        number_match = re.fullmatch(r"/(pulls|issues)/(\d+)(/.*)?", rest)
        if not number_match or int(number_match[2]) not in self.pulls:
            return 404, {"message": "Not Found"}, {}
        pull = self.pulls[int(number_match[2])]
        sub = (number_match[1], number_match[3] or "", method)
        if sub == ("pulls", "", "GET"):
            return 200, self._pull_json(pull, root), {}
        if sub == ("pulls", "", "PATCH"):
            for key in ("title", "body", "state"):
                if key in body:
                    setattr(pull, key, body[key])
            return 200, self._pull_json(pull, root), {}
        if sub == ("issues", "/labels", "POST"):
            labels = body["labels"] if isinstance(body, dict) else body
            pull.labels += [label for label in labels if label not in pull.labels]
            return 200, [self._label(name, root) for name in pull.labels], {}
        if sub == ("pulls", "/requested_reviewers", "POST"):
            return self._review_request(pull, body, root)
        return 404, {"message": "Not Found"}, {}

    def _app_route(self, method: str, path: str, scheme: str, credential: str, root: str,
                   ) -> tuple[int, Any, dict[str, str]]:
        if scheme.lower() != "bearer" or not self._valid_jwt(credential):
            return 401, {"message": "A JSON web token could not be decoded"}, {}
        if path == f"/repos/{self.full_name}/installation" and method == "GET":
            return 200, {"id": self.installation_id, "app_id": int(self.app_id), "target_type": "Organization",
                         "account": {"login": self.owner}, "access_tokens_url":
                         f"{root}{API}/app/installations/{self.installation_id}/access_tokens"}, {}
        if path.endswith("/installation"):
            return 404, {"message": "Not Found"}, {}
        if path == f"/app/installations/{self.installation_id}/access_tokens" and method == "POST":
            token = f"ghs_{len(self.issued_tokens) + 1:04d}installationtoken"
            self.issued_tokens.append(token)
            self.tokens[token] = f"app-{self.app_id}[bot]"
            expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=self.token_ttl)
            return 201, {"token": token, "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "permissions": {"pull_requests": "write", "metadata": "read"},
                         "repository_selection": "selected"}, {}
        return 404, {"message": "Not Found"}, {}

    def _valid_jwt(self, token: str) -> bool:
        if self.app_public_key is None:
            return False
        try:
            claims = jwt.decode(token, self.app_public_key, algorithms=["RS256"])
        except jwt.PyJWTError:
            return False
        return str(claims.get("iss")) == self.app_id

    def _matching(self, query: dict[str, list[str]]) -> list[Pull]:
        state = query.get("state", ["open"])[0]
        head = query.get("head", [None])[0]
        base = query.get("base", [None])[0]
        return [p for p in self.pulls.values()
                if (state == "all" or p.state == state)
                and (head is None or f"{self.owner}:{p.head}" == head)
                and (base is None or p.base == base)]

    def _create(self, body: dict[str, Any], login: str, root: str) -> tuple[int, Any, dict[str, str]]:
        head, base = body.get("head", ""), body.get("base", "")
        if ":" in head:
            head = head.split(":", 1)[1]
        if head == base:
            return 422, {"message": "Validation Failed", "errors": [
                {"resource": "PullRequest", "code": "custom", "message": f"No commits between {base} and {head}"}]}, {}
        if any(p.head == head and p.base == base and p.state == "open" for p in self.pulls.values()):
            return 422, {"message": "Validation Failed", "errors": [
                {"resource": "PullRequest", "code": "custom",
                 "message": f"A pull request already exists for {self.owner}:{head}."}],
                "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"}, {}
        pull = Pull(next(self._numbers), head, base, body.get("title", ""), body.get("body") or "",
                    bool(body.get("draft")), login)
        self.pulls[pull.number] = pull
        return 201, self._pull_json(pull, root), {}

    def _review_request(self, pull: Pull, body: dict[str, Any], root: str) -> tuple[int, Any, dict[str, str]]:
        users, teams = body.get("reviewers", []), body.get("team_reviewers", [])
        if pull.user in users:
            return 422, {"message": "Review cannot be requested from pull request author."}, {}
        if any(u not in self.collaborators for u in users) or any(t not in self.teams for t in teams):
            return 422, {"message": "Reviews may only be requested from collaborators. One or more of the users "
                                    f"or teams you specified is not a collaborator of the {self.full_name} "
                                    "repository."}, {}
        pull.reviewers += [u for u in users if u not in pull.reviewers]
        pull.teams += [t for t in teams if t not in pull.teams]
        return 201, self._pull_json(pull, root), {}

    def _graphql(self, body: dict[str, Any], credential: str) -> tuple[int, Any, dict[str, str]]:
        query = body.get("query", "")
        if "enablePullRequestAutoMerge" not in query:
            return 200, {"errors": [{"message": "unsupported query"}]}, {}
        variables = body.get("variables", {}).get("input", {})
        node = variables.get("pullRequestId", "")
        pull = next((p for p in self.pulls.values() if f"PR_node{p.number}" == node), None)
        if pull is None:
            return 200, {"data": {"enablePullRequestAutoMerge": None}, "errors": [
                {"type": "NOT_FOUND", "path": ["enablePullRequestAutoMerge"],
                 "message": f"Could not resolve to a node with the global id of '{node}'"}]}, {}
        if credential in self.read_only:
            return 200, {"data": {"enablePullRequestAutoMerge": None}, "errors": [
                {"type": "FORBIDDEN", "message": "Resource not accessible by personal access token"}]}, {}
        if not self.allow_auto_merge:
            return 200, {"data": {"enablePullRequestAutoMerge": None}, "errors": [
                {"type": "UNPROCESSABLE", "path": ["enablePullRequestAutoMerge"],
                 "message": "Pull request Auto merge is not allowed for this repository"}]}, {}
        pull.auto_merge = variables.get("mergeMethod", "MERGE")
        return 200, {"data": {"enablePullRequestAutoMerge": {
            "actor": {"login": "imagebot", "avatarUrl": "", "resourcePath": "/imagebot", "url": ""},
            "clientMutationId": None}}}, {}

    # -- GitHub-shaped JSON ----------------------------------------------------------------

    def _repo_json(self, root: str) -> dict[str, Any]:
        return {
            "id": 1296269, "node_id": "R_repo", "name": self.repo, "full_name": self.full_name,
            "owner": {"login": self.owner, "id": 1, "type": "Organization", "url": f"{root}{API}/users/{self.owner}"},
            "private": True, "html_url": f"{root}/{self.full_name}", "url": f"{root}{API}/repos/{self.full_name}",
            "default_branch": "main", "allow_auto_merge": self.allow_auto_merge,
            "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
        }

    def _label(self, name: str, root: str) -> dict[str, Any]:
        return {"id": abs(hash(name)) % 10_000, "node_id": f"LA_{name}", "name": name, "color": "ededed",
                "default": False, "url": f"{root}{API}/repos/{self.full_name}/labels/{name}"}

    def _pull_json(self, pull: Pull, root: str) -> dict[str, Any]:
        api = f"{root}{API}/repos/{self.full_name}"
        repo = self._repo_json(root)
        return {
            "url": f"{api}/pulls/{pull.number}", "id": 1000 + pull.number, "node_id": f"PR_node{pull.number}",
            "html_url": f"{root}/{self.full_name}/pull/{pull.number}",
            "issue_url": f"{api}/issues/{pull.number}",
            "comments_url": f"{api}/issues/{pull.number}/comments",
            "number": pull.number, "state": pull.state, "locked": False, "title": pull.title, "body": pull.body,
            "user": {"login": pull.user}, "draft": pull.draft, "merged": False, "mergeable": None,
            "labels": [self._label(name, root) for name in pull.labels],
            "requested_reviewers": [{"login": u} for u in pull.reviewers],
            "requested_teams": [{"slug": t, "name": t} for t in pull.teams],
            "auto_merge": None if pull.auto_merge is None else {"merge_method": pull.auto_merge.lower()},
            "head": {"label": f"{self.owner}:{pull.head}", "ref": pull.head, "sha": "0" * 40, "repo": repo},
            "base": {"label": f"{self.owner}:{pull.base}", "ref": pull.base, "sha": "1" * 40, "repo": repo},
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
        }


class _Handler(http.server.BaseHTTPRequestHandler):
    github: FakeGitHub
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid 40 ms delayed ACKs
    _remaining = itertools.count(4999, -1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        if path == "/api/graphql":
            path = "/graphql"
        elif path.startswith(API):
            path = path[len(API):]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        status, payload, extra = self.github.handle(
            self.command, path, parse_qs(url.query), body, self.headers.get("Authorization", ""),
            self.headers.get("Host", "127.0.0.1"))
        data = b"" if status == 204 else json.dumps(payload).encode()
        self.send_response(status)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": str(max(next(self._remaining), 1)),
            "X-RateLimit-Reset": str(int(time.time()) + 3600), "X-RateLimit-Used": "1",
            "X-RateLimit-Resource": "core", "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Request-Id": "FAKE:0001",
        }
        headers.update(extra)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


Factory = Callable[..., FakeGitHub]
