"""``imagebot plan`` rows say what a cooldown holds back, and until when (issue 14).

The evaluation is the policy stage's own (offline: a tag list with first-seen times), printed by
the table and JSON printers ``run`` and ``plan`` share.
"""

from __future__ import annotations

import datetime

import pytest

from imagebot import pipeline, policy
from imagebot.commands import run
from imagebot.model import flux
from imagebot.model.changes import ChangeSet
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.images import TagList, parse_image_repo

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)
PROD = ObjectKey("flux-system", "podinfo-prod")


def _report(first_seen: dict[str, datetime.datetime]) -> pipeline.AutomationReport:
    repo = parse_image_repo("ghcr.io/stefanprodan/podinfo")
    tags = TagList(repo, tuple(Tag(t) for t in sorted(first_seen, reverse=True)), NOW,
                   first_seen={Tag(t): when for t, when in first_seen.items()})
    spec = flux.ImagePolicy(key=PROD, repository=ObjectKey("flux-system", "podinfo"),
                            choice=flux.SemverChoice("^6.x"), min_age=datetime.timedelta(hours=72))
    evaluation = policy.evaluate(tags, spec, now=NOW, current=Tag("6.5.0"), current_digest=None)
    return pipeline.AutomationReport(automation=ObjectKey("flux-system", "prod"), evaluations=(evaluation,),
                                     changes=ChangeSet(), current={PROD: Tag("6.5.0")})


def test_the_row_says_what_is_held_back_and_until_when(capsys: pytest.CaptureFixture[str]) -> None:
    report = _report({
        "6.5.0": NOW - datetime.timedelta(days=30),
        "6.7.0": NOW - datetime.timedelta(hours=10),
        "6.7.1": NOW - datetime.timedelta(hours=1),
    })
    run.print_table(report)
    row = capsys.readouterr().out.splitlines()[2]
    assert row.split()[:3] == ["flux-system/podinfo-prod", "6.5.0", "6.5.0"]
    assert row.endswith(
        "(unchanged); cooldown holds back 6.7.1 until 2026-12-04T11:00:00+00:00, 6.7.0 until "
        "2026-12-04T02:00:00+00:00"
    )
    entry = run.as_json(report)["policies"]
    assert isinstance(entry, list)
    assert entry[0]["held_back"] == [
        {"tag": "6.7.1", "until": "2026-12-04T11:00:00+00:00"},
        {"tag": "6.7.0", "until": "2026-12-04T02:00:00+00:00"},
    ]


def test_nothing_held_back_adds_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    report = _report({"6.5.0": NOW - datetime.timedelta(days=30), "6.7.1": NOW - datetime.timedelta(days=9)})
    run.print_table(report)
    assert "cooldown" not in capsys.readouterr().out
    entry = run.as_json(report)["policies"]
    assert isinstance(entry, list)
    assert entry[0]["held_back"] == []
