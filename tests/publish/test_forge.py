"""``open_or_update`` against an in-memory ``Forge``: idempotency and the spec's extras.

Aspects: create once, then update the same pull request; labels every run, reviewers and
auto-merge only on creation; a refused extra is a warning, not a failure; temporary errors
propagate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from imagebot import errors, publish
from imagebot.model.pullrequests import MergeMethod, PullRequestSpec
from imagebot.model.revisions import PullRequestRef


@dataclasses.dataclass
class MemoryForge:
    repository: str = "org/gitops"
    pulls: dict[int, dict[str, object]] = dataclasses.field(default_factory=dict)
    calls: list[str] = dataclasses.field(default_factory=list)
    auto_merge_allowed: bool = True
    fail_on: dict[str, errors.ImagebotError] = dataclasses.field(default_factory=dict)

    def _maybe_fail(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail_on:
            raise self.fail_on[name]

    def find_pull_request(self, head: str, *, base: str) -> PullRequestRef | None:
        self._maybe_fail("find")
        for number, pull in self.pulls.items():
            if pull["head"] == head and pull["base"] == base:
                return PullRequestRef(number, f"https://example/pull/{number}", False)
        return None

    def create_pull_request(self, head: str, *, base: str, title: str, body: str, draft: bool) -> PullRequestRef:
        self._maybe_fail("create")
        number = len(self.pulls) + 1
        self.pulls[number] = {"head": head, "base": base, "title": title, "body": body, "draft": draft,
                              "labels": [], "reviewers": [], "auto_merge": None}
        return PullRequestRef(number, f"https://example/pull/{number}", True)

    def update_pull_request(self, number: int, *, title: str, body: str) -> PullRequestRef:
        self._maybe_fail("update")
        self.pulls[number].update(title=title, body=body)
        return PullRequestRef(number, f"https://example/pull/{number}", False)

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        self._maybe_fail("labels")
        self.pulls[number]["labels"] = sorted({*self.pulls[number]["labels"], *labels})  # type: ignore[misc]

    def request_reviewers(self, number: int, *, users: Sequence[str], teams: Sequence[str]) -> None:
        self._maybe_fail("reviewers")
        self.pulls[number]["reviewers"] = [*users, *teams]

    def enable_auto_merge(self, number: int, method: MergeMethod) -> bool:
        self._maybe_fail("auto-merge")
        if self.auto_merge_allowed:
            self.pulls[number]["auto_merge"] = method
        return self.auto_merge_allowed


SPEC = PullRequestSpec(labels=("dependencies",), reviewers=("alice",), team_reviewers=("platform",), draft=True,
                       auto_merge="squash")


def test_creates_once_then_updates_the_same_pull_request() -> None:
    forge = MemoryForge()
    first = publish.open_or_update(forge, "imagebot/apps", base="main", title="t1", body="b1", spec=SPEC)
    second = publish.open_or_update(forge, "imagebot/apps", base="main", title="t2", body="b2", spec=SPEC)
    assert (first.number, first.created, second.number, second.created) == (1, True, 1, False)
    assert len(forge.pulls) == 1
    assert forge.pulls[1] | {} == {"head": "imagebot/apps", "base": "main", "title": "t2", "body": "b2",
                                   "draft": True, "labels": ["dependencies"], "reviewers": ["alice", "platform"],
                                   "auto_merge": "squash"}
    assert forge.calls == ["find", "create", "labels", "reviewers", "auto-merge", "find", "update", "labels"]


def test_auto_merge_not_allowed_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    forge = MemoryForge(auto_merge_allowed=False)
    ref = publish.open_or_update(forge, "imagebot/apps", base="main", title="t", body="b", spec=SPEC)
    assert ref.created
    assert "auto-merge is not allowed for pull request #1 on org/gitops" in caplog.text


@pytest.mark.parametrize("extra", [pytest.param(e, id=e) for e in ("labels", "reviewers", "auto-merge")])
def test_refused_extras_are_warnings(extra: str, caplog: pytest.LogCaptureFixture) -> None:
    forge = MemoryForge(fail_on={extra: errors.ForgeError("GitHub refused (422: not a collaborator)")})
    ref = publish.open_or_update(forge, "imagebot/apps", base="main", title="t", body="b", spec=SPEC)
    assert ref.number == 1
    assert "not a collaborator" in caplog.text


def test_temporary_errors_propagate() -> None:
    forge = MemoryForge(fail_on={"labels": errors.ForgeUnavailable("rate limited", delay=30)})
    with pytest.raises(errors.ForgeUnavailable):
        publish.open_or_update(forge, "imagebot/apps", base="main", title="t", body="b", spec=SPEC)


def test_plain_spec_sends_no_extras() -> None:
    forge = MemoryForge()
    publish.open_or_update(forge, "imagebot/apps", base="main", title="t", body="b", spec=PullRequestSpec())
    assert forge.calls == ["find", "create"]


def test_memory_forge_satisfies_the_protocol() -> None:
    forge: publish.Forge = MemoryForge()
    assert forge.repository == "org/gitops"


def test_exports_are_complete() -> None:
    exported = {name for name in dir(publish) if not name.startswith("_")}
    modules = {name for name in exported if name.startswith("_") or type(getattr(publish, name)).__name__ == "module"}
    assert sorted(exported - modules) == sorted(publish.__all__)
