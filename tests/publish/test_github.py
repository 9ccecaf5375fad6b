"""``GitHubForge`` (PyGithub) against the local GitHub server of ``tests/fakes/github.py``.

Aspects: PR mode opens one pull request and a later run with a newer change updates that same one
(no duplicate), with labels, reviewers, draft and auto-merge; a lost create race; token and
GitHub App auth (JWT → installation token); rate limits (403 primary/secondary, 429) and 5xx are
retried through the injected sleep, and give up as ForgeUnavailable; permission errors name the
repository and the missing permission; tokens and keys never appear in errors or logs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from imagebot import errors, publish
from imagebot.backoff import Backoff
from imagebot.model.ids import ObjectKey
from imagebot.model.pullrequests import PullRequestSpec
from tests.fakes.github import (
    FakeGitHub,
    Fault,
    forbidden,
    rate_limited,
    secondary_rate_limit,
    server_error,
    validation_failed,
)
from tests.publish.helpers import changeset, load_scenario

pytestmark = pytest.mark.integration

TOKEN = "ghp_valid"
REPO = "org/gitops"
HEAD = "imagebot/apps"


MakeForge = Callable[..., publish.GitHubForge]


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_forge(github_server: FakeGitHub, sleeps: Sleeps) -> Callable[..., publish.GitHubForge]:
    def make(credentials: publish.GitHubCredentials | None = None, **kwargs: object) -> publish.GitHubForge:
        options: dict[str, object] = {"base_url": github_server.base_url, "sleep": sleeps,
                                      "seconds_between_requests": 0, "seconds_between_writes": 0,
                                      "clock": lambda: 1_000_000.0,
                                      "retry": Backoff(attempts=5, base=2.0, jitter=False)}
        options.update(kwargs)
        return publish.GitHubForge(REPO, credentials or publish.GitHubToken(TOKEN), **options)  # type: ignore[arg-type]
    return make


def _message(new_tag: str) -> tuple[str, str]:
    scenario = load_scenario("single")
    scenario["changes"][0]["new"] = f"ghcr.io/stefanprodan/podinfo:{new_tag}"
    data = publish.template_data(ObjectKey("flux-system", "apps"), changeset(scenario))
    message = publish.render_commit_message(None, data)
    return publish.pull_request_title(message), publish.render_pull_request_body(data)


SPEC = PullRequestSpec(labels=("dependencies", "imagebot"), reviewers=("alice",), team_reviewers=("platform",),
                       draft=True, auto_merge="squash")


def test_pr_mode_opens_one_pull_request_and_updates_it(github_server: FakeGitHub, make_forge: MakeForge) -> None:
    title, body = _message("5.0.3")
    first = publish.open_or_update(make_forge(), HEAD, base="main", title=title, body=body, spec=SPEC)
    assert first.created and first.number == 1
    assert first.url == f"{github_server.base_url.removesuffix('/api/v3')}/org/gitops/pull/1"
    title2, body2 = _message("5.0.4")
    second = publish.open_or_update(make_forge(), HEAD, base="main", title=title2, body=body2, spec=SPEC)
    assert (second.number, second.created) == (1, False)
    assert list(github_server.pulls) == [1]
    pull = github_server.pulls[1]
    assert pull.head == HEAD and pull.base == "main" and pull.draft
    assert "`5.0.4`" in pull.body and pull.title == title2
    assert pull.labels == ["dependencies", "imagebot"]
    assert pull.reviewers == ["alice"] and pull.teams == ["platform"]
    assert pull.auto_merge == "SQUASH"
    lists = github_server.calls("GET", "/repos/org/gitops/pulls")
    assert lists[-1].query == {"state": ["open"], "head": ["org:imagebot/apps"], "base": ["main"]}
    assert [r.authorization for r in github_server.requests] == ["token " + TOKEN] * len(github_server.requests)
    assert len(github_server.calls("POST", "/repos/org/gitops/pulls/1/requested_reviewers")) == 1
    assert len(github_server.calls("POST", "/graphql")) == 1


def test_closed_pull_request_is_not_reused(github_server: FakeGitHub, make_forge: MakeForge) -> None:
    forge = make_forge()
    publish.open_or_update(forge, HEAD, base="main", title="t", body="b", spec=PullRequestSpec())
    github_server.pulls[1].state = "closed"
    again = publish.open_or_update(make_forge(), HEAD, base="main", title="t", body="b", spec=PullRequestSpec())
    assert (again.number, again.created) == (2, True)


def test_lost_create_race_updates_the_winner(github_server: FakeGitHub, make_forge: MakeForge) -> None:
    forge = make_forge()
    assert forge.find_pull_request(HEAD, base="main") is None
    publish.open_or_update(make_forge(), HEAD, base="main", title="other run", body="x", spec=PullRequestSpec())
    ref = forge.create_pull_request(HEAD, base="main", title="mine", body="y", draft=False)
    assert (ref.number, ref.created) == (1, False)
    assert github_server.pulls[1].title == "mine"


def test_auto_merge_not_allowed_is_logged(github_server: FakeGitHub, make_forge: MakeForge,
                                          caplog: pytest.LogCaptureFixture) -> None:
    github_server.allow_auto_merge = False
    ref = publish.open_or_update(make_forge(), HEAD, base="main", title="t", body="b", spec=SPEC)
    assert ref.created and github_server.pulls[1].auto_merge is None
    assert "auto-merge is not allowed" in caplog.text
    assert not github_server.calls("POST", "/graphql")  # the repository said so; no mutation sent


def test_auto_merge_refused_by_graphql_is_logged(github_server: FakeGitHub, make_forge: MakeForge,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    forge = make_forge()
    forge.find_pull_request(HEAD, base="main")  # reads the repository while auto-merge is allowed
    github_server.allow_auto_merge = False
    ref = forge.create_pull_request(HEAD, base="main", title="t", body="b", draft=False)
    assert forge.enable_auto_merge(ref.number, "merge") is False
    assert len(github_server.calls("POST", "/graphql")) == 1


def test_reviewer_refusal_is_a_warning(github_server: FakeGitHub, make_forge: MakeForge,
                                       caplog: pytest.LogCaptureFixture) -> None:
    spec = PullRequestSpec(reviewers=("mallory",))
    ref = publish.open_or_update(make_forge(), HEAD, base="main", title="t", body="b", spec=spec)
    assert ref.created
    assert "Reviews may only be requested from collaborators" in caplog.text


def test_github_app_auth(github_server: FakeGitHub, make_forge: MakeForge, app_key: tuple[str, str],
                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    forge = make_forge(publish.GitHubApp(app_id="7", private_key=app_key[0]))
    ref = publish.open_or_update(forge, HEAD, base="main", title="t", body="b",
                                 spec=PullRequestSpec(labels=("x",)))
    assert ref.created
    installation, token_request, *api = github_server.requests
    assert (installation.method, installation.path) == ("GET", "/repos/org/gitops/installation")
    assert installation.authorization.startswith("Bearer ey")
    assert (token_request.method, token_request.path) == ("POST", "/app/installations/42/access_tokens")
    (issued,) = github_server.issued_tokens
    assert {r.authorization for r in api} == {f"token {issued}"}
    assert github_server.pulls[1].user == "app-7[bot]"
    assert issued not in caplog.text and app_key[0].splitlines()[1] not in caplog.text


def test_github_app_with_known_installation(github_server: FakeGitHub, make_forge: MakeForge, app_key: tuple[str, str]) -> None:
    forge = make_forge(publish.GitHubApp(app_id="7", private_key=app_key[0], installation_id=42))
    assert forge.find_pull_request(HEAD, base="main") is None
    assert [r.path for r in github_server.requests[:1]] == ["/app/installations/42/access_tokens"]


def test_github_app_with_a_bad_key(make_forge: MakeForge) -> None:
    forge = make_forge(publish.GitHubApp(app_id="7", private_key="-----BEGIN RSA PRIVATE KEY-----\nnope\n"))
    with pytest.raises(errors.ForgeError, match="GitHub App 7: the private key cannot sign") as info:
        forge.find_pull_request(HEAD, base="main")
    assert "nope" not in str(info.value)


def test_github_app_not_installed(github_server: FakeGitHub, make_forge: MakeForge, app_key: tuple[str, str]) -> None:
    github_server.repo = "elsewhere"
    forge = publish.GitHubForge(REPO, publish.GitHubApp("7", app_key[0]), base_url=github_server.base_url,
                                seconds_between_requests=0, seconds_between_writes=0)
    with pytest.raises(errors.ForgeError, match=r"find the installation of GitHub App 7 on org/gitops .*404"):
        forge.find_pull_request(HEAD, base="main")


@pytest.mark.parametrize(("fault", "delay"), [
    pytest.param(rate_limited(reset_in=30, now=1_000_000.0), 31.0, id="primary-403-reset"),
    pytest.param(secondary_rate_limit(retry_after=7), 7.0, id="secondary-403-retry-after"),
    pytest.param(secondary_rate_limit(retry_after=5, status=429), 5.0, id="429-retry-after"),
    pytest.param(server_error(502), 2.0, id="502"),
    pytest.param(server_error(503), 2.0, id="503"),
])
def test_retries_with_backoff(github_server: FakeGitHub, make_forge: MakeForge, sleeps: Sleeps, fault: Fault,
                            delay: float) -> None:
    github_server.fail("POST", "/repos/org/gitops/pulls", fault, fault)
    ref = publish.open_or_update(make_forge(), HEAD, base="main", title="t", body="b", spec=PullRequestSpec())
    assert ref.created and list(github_server.pulls) == [1]
    assert sleeps[0] == delay
    assert len(sleeps) == 2
    if fault.status >= 500:
        assert sleeps == [2.0, 4.0]


def test_gives_up_as_temporary_error(github_server: FakeGitHub, make_forge: MakeForge, sleeps: Sleeps) -> None:
    github_server.fail("GET", "/repos/org/gitops", *[server_error(500)] * 10)
    with pytest.raises(errors.ForgeUnavailable, match="GitHub answered 500 while trying to read the repository on "
                                                      "org/gitops") as info:
        make_forge(retry=Backoff(attempts=4, base=2.0, jitter=False)).find_pull_request(HEAD, base="main")
    assert sleeps == [2.0, 4.0, 8.0]
    assert isinstance(info.value, errors.TemporaryError)


def test_long_rate_limit_is_not_slept_through(github_server: FakeGitHub, make_forge: MakeForge, sleeps: Sleeps) -> None:
    github_server.fail("GET", "/repos/org/gitops", rate_limited(reset_in=1800, now=1_000_000.0))
    with pytest.raises(errors.ForgeUnavailable, match="rate limit") as info:
        make_forge().find_pull_request(HEAD, base="main")
    assert info.value.delay == 1801.0
    assert sleeps == []


@pytest.mark.parametrize(("setup", "call", "fragments"), [
    pytest.param(lambda gh: gh.read_only.add(TOKEN), "create",
                 ["GitHub denied the request to create a pull request on org/gitops",
                  "Resource not accessible by personal access token", "'Pull requests: write'"], id="403-write"),
    pytest.param(lambda gh: gh.fail("POST", r"/repos/org/gitops/issues/\d+/labels", forbidden()), "labels",
                 ["GitHub denied the request to add labels on org/gitops", "'Issues: write'"], id="403-labels"),
    pytest.param(lambda gh: setattr(gh, "repo", "other"), "find",
                 ["GitHub could not read the repository on org/gitops (404 Not Found)",
                  "does not exist or the credentials cannot see it", "'Metadata: read'"], id="404-repo"),
    pytest.param(lambda gh: gh.tokens.clear(), "find",
                 ["GitHub rejected the credentials (401 Bad credentials)"], id="401"),
    pytest.param(lambda gh: gh.fail("POST", "/repos/org/gitops/pulls",
                                    validation_failed("No commits between main and imagebot/apps")), "create",
                 ["GitHub refused to create a pull request on org/gitops (422: Validation Failed; "
                  "No commits between main and imagebot/apps)"], id="422"),
])
def test_permission_and_validation_errors(github_server: FakeGitHub, make_forge: MakeForge,
                                          setup: Callable[[FakeGitHub], object], call: str,
                                          fragments: list[str], sleeps: Sleeps) -> None:
    ref = make_forge().create_pull_request("imagebot/first", base="main", title="t", body="b", draft=False)
    forge = make_forge()
    setup(github_server)
    actions: dict[str, Callable[[], object]] = {
        "find": lambda: forge.find_pull_request(HEAD, base="main"),
        "create": lambda: forge.create_pull_request(HEAD, base="main", title="t", body="b", draft=False),
        "labels": lambda: forge.add_labels(ref.number, ["x"]),
    }
    with pytest.raises(errors.ForgeError) as info:
        actions[call]()
    for fragment in fragments:
        assert fragment in str(info.value)
    assert TOKEN not in str(info.value)
    assert sleeps == []


def test_unreachable_github_is_temporary(make_forge: MakeForge, sleeps: Sleeps) -> None:
    forge = make_forge(base_url="http://127.0.0.1:9/api/v3", retry=Backoff(attempts=2, base=2.0, jitter=False), timeout=2)
    with pytest.raises(errors.ForgeUnavailable, match="GitHub unreachable while trying to read the repository"):
        forge.find_pull_request(HEAD, base="main")
    assert sleeps == [2.0]


def test_secrets_never_leak(github_server: FakeGitHub, make_forge: MakeForge, app_key: tuple[str, str],
                            caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    token_forge = make_forge()
    app_forge = make_forge(publish.GitHubApp("7", app_key[0]))
    publish.open_or_update(token_forge, HEAD, base="main", title="t", body="b", spec=SPEC)
    publish.open_or_update(app_forge, HEAD, base="main", title="t", body="b", spec=SPEC)
    github_server.fail("PATCH", r"/repos/org/gitops/pulls/\d+", *[server_error()] * 10)
    github_server.read_only.add(TOKEN)
    for forge in (token_forge, app_forge):
        with pytest.raises(errors.ImagebotError) as info:
            publish.open_or_update(forge, HEAD, base="main", title="t", body="b", spec=SPEC)
        seen += [str(info.value), repr(info.value), repr(forge._credentials)]
    out = capsys.readouterr()
    everything = "\n".join([caplog.text, out.out, out.err, *seen, *(p.body for p in github_server.pulls.values())])
    secrets = [TOKEN, *github_server.issued_tokens, *app_key[0].splitlines()[1:-1]]
    assert github_server.issued_tokens
    for secret in secrets:
        assert secret not in everything
