"""``policy.evaluate``: Flux's choice on the spec's examples, and what imagebot adds.

Aspects: the surprises of spec §9 end to end, deterministic ties, extract collapsing, digest
reflection, cooldowns, downgrade and re-push flags, the trace's accounting, and errors that name
the policy and the offending text.
"""

from __future__ import annotations

import datetime

import pytest

from imagebot import policy
from imagebot.errors import PolicyError
from imagebot.model import flux
from imagebot.model.ids import Digest, Tag
from imagebot.model.selections import Evaluation, Repush
from tests.policy.builders import NOW, POLICY_KEY, digest, image_policy, tag_list

DAY = datetime.timedelta(days=1)


def chosen(tags: list[str], spec: flux.ImagePolicy, **kwargs: object) -> str | None:
    selection = policy.evaluate(tag_list(tags), spec, **kwargs).selection  # type: ignore[arg-type]
    return None if selection is None else selection.tag


@pytest.mark.parametrize(
    ("tags", "spec", "expected"),
    [
        # §9.2 alphabetical is raw byte order
        pytest.param(
            ["latest", "RELEASE.2023-01-01T00-00-00Z", "RELEASE.2024-01-01T00-00-00Z"],
            image_policy(flux.AlphabeticalChoice("asc")), "latest", id="latest-beats-RELEASE",
        ),
        pytest.param(
            ["RELEASE.2023-01-01T00-00-00Z", "RELEASE.2024-01-01T00-00-00Z"],
            image_policy(flux.AlphabeticalChoice("asc")), "RELEASE.2024-01-01T00-00-00Z",
            id="alphabetical-asc-picks-greatest",
        ),
        pytest.param(
            ["9", "10", "100"], image_policy(flux.AlphabeticalChoice("asc")), "9",
            id="nine-beats-ten-alphabetically",
        ),
        pytest.param(
            ["9", "10", "100"], image_policy(flux.AlphabeticalChoice("desc")), "10",
            id="alphabetical-desc-picks-smallest",
        ),
        pytest.param(
            ["a", "ab", "b"], image_policy(flux.AlphabeticalChoice("desc")), "a",
            id="alphabetical-desc-prefix-is-smaller",
        ),
        # §9.3 numerical
        pytest.param(["1", "2", "latest"], image_policy(flux.NumericalChoice()), None,
                     id="one-non-number-fails-numerical"),
        pytest.param(["1", "2", "latest"], image_policy(flux.NumericalChoice(), pattern="^[0-9]+$"), "2",
                     id="filter-isolates-numbers"),
        pytest.param(["9", "10", "100"], image_policy(flux.NumericalChoice("asc")), "100",
                     id="numerical-asc-max"),
        pytest.param(["9", "10", "100"], image_policy(flux.NumericalChoice("desc")), "9",
                     id="numerical-desc-min"),
        pytest.param(["1", "1.0", "01"], image_policy(flux.NumericalChoice()), "01",
                     id="numerical-tie-last-in-stored-order"),
        pytest.param(["1", "1.0", "01", "1.", "0.5"], image_policy(flux.NumericalChoice()), "01",
                     id="numerical-tie-plain-decimals"),
        pytest.param(["3", "1", "3.0", "2.9"], image_policy(flux.NumericalChoice("desc")), "1",
                     id="numerical-desc-plain-decimals"),
        pytest.param(["2", "2.", "1"], image_policy(flux.NumericalChoice("desc")), "1",
                     id="numerical-desc-no-tie-at-the-bottom"),
        pytest.param(["1", "2", "+3"], image_policy(flux.NumericalChoice()), "+3", id="numerical-sign"),
        pytest.param(["1", "2", "1e3"], image_policy(flux.NumericalChoice()), "1e3", id="numerical-exponent"),
        pytest.param(["1", "2", "0x10"], image_policy(flux.NumericalChoice()), None,
                     id="numerical-hex-without-exponent-fails"),
        pytest.param(["1", "2", "inf"], image_policy(flux.NumericalChoice()), "inf", id="numerical-inf"),
        pytest.param(["1", "2", "-inf", "inf"], image_policy(flux.NumericalChoice()), "inf",
                     id="numerical-both-infinities"),
        pytest.param(["1", "9" * 400], image_policy(flux.NumericalChoice()), None,
                     id="numerical-overflow-fails"),
        pytest.param(["nan", "2", "1"], image_policy(flux.NumericalChoice()), "2",
                     id="numerical-nan-is-replaced-like-go"),
        pytest.param(["1e3", "999", "0x1p10"], image_policy(flux.NumericalChoice()), "0x1p10",
                     id="numerical-go-float-syntax"),
        # §9.4 and §9.5 tag parsing
        pytest.param(["1.2", "1.1.0"], image_policy(semver="*"), "1.1.0", id="one-dot-is-not-a-version"),
        pytest.param(["1.2-rc.1", "1.1.0"], image_policy(semver=">=0.0.0-0"), "1.2-rc.1",
                     id="1.2-rc.1-is-1.2.0-rc.1"),
        pytest.param(["2022.04.1", "2022.10.0", "V2023.1.1"], image_policy(semver=">=2022.0.0"),
                     "2022.10.0", id="calver-leading-zeros-ok-uppercase-V-ignored"),
        pytest.param(["01.02.03", "1.2.2"], image_policy(semver="~1.2"), "01.02.03",
                     id="original-text-is-selected"),
        # §9.6 prereleases
        pytest.param(["1.5.0", "2.0.0-rc.1"], image_policy(semver=">=1.0.0-0 <2.0.0"), "2.0.0-rc.1",
                     id="prerelease-bound-opens-the-group"),
        pytest.param(["1.5.0", "2.0.0-rc.1"], image_policy(semver=">=1.0.0 <2.0.0"), "1.5.0",
                     id="no-prerelease-without-asking"),
        pytest.param(["1.5.0", "3.1.0-rc.1"], image_policy(semver=">=1.0.0-0 <2.0.0 || >=3.0.0"), "1.5.0",
                     id="prerelease-only-in-its-alternative"),
        # §9.7 wildcard operators
        pytest.param(["1.2.9", "1.3.0", "1.4.0"], image_policy(semver="<=1.2"), "1.2.9", id="lte-partial"),
        pytest.param(["1.2.9", "1.3.0"], image_policy(semver=">1.2"), "1.3.0", id="gt-partial"),
        pytest.param(["1.2.9"], image_policy(semver=">1.2"), None, id="gt-partial-excludes-its-range"),
        pytest.param(["0.0.0", "0.0.1", "1.0.0"], image_policy(semver="^*"), "0.0.0", id="caret-star"),
        # §9.8 rc ordering
        pytest.param(["1.0.0-rc9", "1.0.0-rc10"], image_policy(semver=">=1.0.0-0"), "1.0.0-rc9",
                     id="rc10-below-rc9"),
        pytest.param(["1.0.0-rc.9", "1.0.0-rc.10"], image_policy(semver=">=1.0.0-0"), "1.0.0-rc.10",
                     id="rc.10-above-rc.9"),
        # §9.9 filter is a search; extract uses Go rules; the original tag is written
        pytest.param(["1.0.0-rc.1", "1.0.0"], image_policy(semver=">=0.0.0-0", pattern="rc"), "1.0.0-rc.1",
                     id="pattern-is-a-search"),
        pytest.param(["app-1.5", "app-2.3"], image_policy(semver="*", pattern=r"^app-(\d+)\.(\d+)$",
                     extract="${1}.${2}.0"), "app-2.3", id="extract-selects-original-tag"),
        pytest.param(["app-1.5", "app-2.3"], image_policy(semver="*", pattern=r"^app-(\d+)\.(\d+)$",
                     extract="$1x.$2.0"), None, id="dollar-1x-is-an-empty-group"),
        pytest.param(
            ["main-abc1234-1700000100", "main-def5678-1700000200", "v1.0.0"],
            image_policy(flux.NumericalChoice(), pattern=r"^main-[a-f0-9]+-(?P<ts>[0-9]+)$", extract="$ts"),
            "main-def5678-1700000200", id="timestamped-builds",
        ),
        # ties are deterministic: equal precedence → byte-greatest text
        pytest.param(["1.0.0", "v1.0.0"], image_policy(semver="*"), "v1.0.0", id="tie-v-prefix"),
        pytest.param(["1.0.0+b1", "1.0.0+b2"], image_policy(semver="*"), "1.0.0+b2", id="tie-build"),
        pytest.param(["app-1.0.0", "v1.0.0"], image_policy(semver="*", pattern=r"^(?:app-)?(v?[0-9.]+)$",
                     extract="$1"), "v1.0.0", id="tie-with-extract"),
        # several tags extracting to one value: Flux keeps the byte-smallest
        pytest.param(["build-5", "ci-5", "build-3"], image_policy(flux.NumericalChoice(),
                     pattern=r"^(?:build|ci)-(?P<n>[0-9]+)$", extract="$n"), "build-5", id="collapse"),
    ],
)
def test_flux_choice(tags: list[str], spec: flux.ImagePolicy, expected: str | None) -> None:
    assert chosen(tags, spec) == expected


def test_numerical_failure_names_the_tag() -> None:
    evaluation = policy.evaluate(tag_list(["1", "2", "latest", "main"]), image_policy(flux.NumericalChoice()))
    assert evaluation.selection is None
    assert "'main'" in evaluation.reason and "1 more" in evaluation.reason
    assert evaluation.trace.count("not-a-number") == 2


def test_unsorted_input_gives_the_same_choice() -> None:
    spec = image_policy(semver="*")
    shuffled = policy.evaluate(tag_list(["1.0.0", "v1.0.0", "0.9.0", "v1.0.0"], presorted=False), spec)
    assert shuffled.selection is not None and shuffled.selection.tag == "v1.0.0"
    assert shuffled.trace.total == 3


def test_a_tag_list_is_kept_in_stored_order() -> None:
    made = tag_list(["1", "3", "2", "3"], presorted=False)
    assert made.tags == ("3", "2", "1")


def test_trace_top_is_worked_out_when_read_and_equals_its_tuple() -> None:
    numbers = [str(n) for n in range(100)] + ["50.0", "99."]
    evaluation = policy.evaluate(tag_list(numbers), image_policy(flux.NumericalChoice()))
    assert evaluation.selection is not None and evaluation.selection.tag == "99"
    top = evaluation.trace.top
    assert [c.tag for c in top] == ["99", "99.", "98", "97", "96"]
    assert top == tuple(top) and tuple(top) == top and len(top) == 5 and top[1].value == "99."
    again = policy.evaluate(tag_list(numbers), image_policy(flux.NumericalChoice()))
    assert again.trace == evaluation.trace


def test_empty_tag_list() -> None:
    evaluation = policy.evaluate(tag_list([]), image_policy())
    assert evaluation.selection is None
    assert "no tags" in evaluation.reason


# digest reflection


@pytest.mark.parametrize(
    ("reflect", "current", "current_digest", "expected"),
    [
        pytest.param("Never", None, None, None, id="never"),
        pytest.param("Always", None, None, digest(2), id="always-takes-the-scan"),
        pytest.param("Always", "1.1.0", digest(9), digest(2), id="always-follows-a-mutable-tag"),
        pytest.param("IfNotPresent", "1.1.0", digest(9), digest(9), id="if-not-present-keeps-known"),
        pytest.param("IfNotPresent", "1.0.0", digest(9), digest(2), id="if-not-present-new-tag"),
    ],
)
def test_digest_reflection(
        reflect: flux.DigestReflection, current: str | None, current_digest: str | None, expected: str | None,
) -> None:
    tags = tag_list(["1.0.0", "1.1.0"], digests={"1.0.0": digest(1), "1.1.0": digest(2)})
    selection = policy.select(
        tags, image_policy(reflect=reflect),
        current=Tag(current) if current else None,
        current_digest=Digest(current_digest) if current_digest else None,
    )
    assert selection is not None and selection.tag == "1.1.0"
    assert selection.digest == expected


def test_digest_pinning_of_latest() -> None:
    tags = tag_list(["latest", "1.0.0"], digests={"latest": digest(7)})
    spec = image_policy(flux.AlphabeticalChoice(), pattern="^latest$", reflect="Always")
    selection = policy.select(tags, spec)
    assert selection is not None and (selection.tag, selection.digest) == ("latest", digest(7))


def test_missing_digest_is_noted_not_invented() -> None:
    evaluation = policy.evaluate(tag_list(["1.0.0"]), image_policy(reflect="Always"))
    assert evaluation.selection is not None and evaluation.selection.digest is None
    assert any("no digest" in note for note in evaluation.trace.notes)


# cooldown


def _aged() -> dict[str, datetime.datetime]:
    return {"1.0.0": NOW - 10 * DAY, "1.1.0": NOW - DAY}  # 1.2.0 has never been seen


def test_cooldown_holds_back_young_tags() -> None:
    spec = image_policy(semver="*", min_age=datetime.timedelta(hours=72))
    evaluation = policy.evaluate(tag_list(["1.0.0", "1.1.0", "1.2.0"], first_seen=_aged()), spec)
    assert evaluation.selection is not None and evaluation.selection.tag == "1.0.0"
    assert evaluation.trace.count("too-young") == 2
    held = {c.tag: c.eligible_at for c in evaluation.trace.held_back}
    assert held == {"1.2.0": NOW + 3 * DAY, "1.1.0": NOW + 2 * DAY}
    assert [c.tag for c in evaluation.trace.held_back] == ["1.2.0", "1.1.0"]  # best first


def test_cooldown_with_nothing_old_enough_explains_when() -> None:
    spec = image_policy(semver="*", min_age=datetime.timedelta(hours=72))
    evaluation = policy.evaluate(tag_list(["1.1.0", "1.2.0"], first_seen=_aged()), spec)
    assert evaluation.selection is None
    assert "too young" in evaluation.reason
    assert (NOW + 2 * DAY).isoformat() in evaluation.reason


def test_cooldown_never_rolls_back_the_current_tag() -> None:
    spec = image_policy(semver="*", min_age=datetime.timedelta(hours=72))
    tags = tag_list(["1.0.0", "1.1.0", "1.2.0"], first_seen=_aged())
    selection = policy.select(tags, spec, current=Tag("1.1.0"))
    assert selection is not None and selection.tag == "1.1.0" and not selection.downgrade


def test_cooldown_now_is_injectable() -> None:
    spec = image_policy(semver="*", min_age=datetime.timedelta(hours=72))
    tags = tag_list(["1.0.0", "1.1.0"], first_seen=_aged())
    assert policy.select(tags, spec, now=NOW + 5 * DAY).tag == "1.1.0"  # type: ignore[union-attr]


def test_cooldown_applies_before_extract_collapses() -> None:
    spec = image_policy(flux.NumericalChoice(), pattern=r"^(?:a|b)-(\d+)$", extract="$1",
                        min_age=datetime.timedelta(hours=1))
    tags = tag_list(["a-5", "b-5", "a-4"], first_seen={"b-5": NOW - DAY, "a-4": NOW - DAY})
    selection = policy.select(tags, spec)
    assert selection is not None and selection.tag == "b-5"  # a-5 (byte-smaller) is too young


# downgrade, re-push


@pytest.mark.parametrize(
    ("current", "range_text", "downgrade"),
    [
        pytest.param("2.0.0", "<2", True, id="narrowed-range-rolls-back"),
        pytest.param("0.9.0", "<2", False, id="upgrade"),
        pytest.param("v1.0.0", "<2", False, id="equal-precedence-is-not-a-downgrade"),
        pytest.param("latest", "<2", False, id="current-not-comparable"),
    ],
)
def test_downgrade(current: str, range_text: str, downgrade: bool) -> None:
    evaluation = policy.evaluate(tag_list(["1.0.0", "2.0.0"]), image_policy(semver=range_text),
                                 current=Tag(current))
    assert evaluation.selection is not None and evaluation.selection.tag == "1.0.0"
    assert evaluation.selection.downgrade is downgrade
    assert ("downgrade" in evaluation.reason) is downgrade


def test_current_outside_the_filter_is_noted() -> None:
    spec = image_policy(semver="*", pattern="^v")
    evaluation = policy.evaluate(tag_list(["v1.0.0"]), spec, current=Tag("2.0.0"))
    assert evaluation.selection is not None and not evaluation.selection.downgrade
    assert evaluation.trace.notes and "does not match the filter" in evaluation.trace.notes[0]


def test_unchanged_selection() -> None:
    evaluation = policy.evaluate(tag_list(["1.0.0"]), image_policy(), current=Tag("1.0.0"))
    assert evaluation.selection is not None and not evaluation.selection.changed
    assert "unchanged" in evaluation.reason


def test_repushed_tag_is_reported() -> None:
    tags = tag_list(["1.0.0", "1.1.0"], digests={"1.1.0": digest(2)}, first_digests={"1.1.0": digest(1)})
    evaluation = policy.evaluate(tags, image_policy())
    assert evaluation.selection is not None
    assert evaluation.selection.repush == Repush(Tag("1.1.0"), Digest(digest(1)), Digest(digest(2)))
    assert "re-pushed" in evaluation.reason


def test_same_digest_is_not_a_repush() -> None:
    tags = tag_list(["1.1.0"], digests={"1.1.0": digest(1)}, first_digests={"1.1.0": digest(1)})
    assert policy.select(tags, image_policy()).repush is None  # type: ignore[union-attr]


# the trace


def _accounted(evaluation: Evaluation) -> int:
    return sum(e.count for e in evaluation.trace.excluded) + evaluation.trace.eligible


def test_trace_counts_every_tag_once() -> None:
    tags = ["latest", "1.2", "1.0.0", "x-1.0.0", "1.1.0", "2.0.0", "1.5.0-rc.1", "main-1"]
    spec = image_policy(semver=">=1.0.0 <2", pattern=r"^(?:[xy]-)?(.*)$", extract="$1",
                        min_age=datetime.timedelta(hours=1))
    evaluation = policy.evaluate(tag_list(tags, first_seen={t: NOW - DAY for t in tags if t != "1.1.0"}), spec)
    counts = {e.rule: e.count for e in evaluation.trace.excluded}
    assert counts == {
        "duplicate": 1, "not-a-version": 3, "prerelease": 1, "out-of-range": 1, "too-young": 1,
    }
    assert _accounted(evaluation) == evaluation.trace.total == len(tags)
    assert evaluation.selection is not None and evaluation.selection.tag == "1.0.0"


def test_trace_top_candidates_best_first_with_normalised_versions() -> None:
    tags = [f"1.{i}.0" for i in range(8)] + ["v2.0.0", "02.1.0"]
    evaluation = policy.evaluate(tag_list(tags), image_policy(semver="*"))
    top = evaluation.trace.top
    assert [c.tag for c in top] == ["02.1.0", "v2.0.0", "1.7.0", "1.6.0", "1.5.0"]
    assert [c.version for c in top] == ["2.1.0", "2.0.0", None, None, None]


def test_trace_examples_are_the_first_in_stored_order() -> None:
    evaluation = policy.evaluate(tag_list(["a", "b", "c", "d", "1.0.0"]), image_policy(semver="*"))
    assert evaluation.trace.excluded[0].examples == ("d", "c", "b")


def test_trace_describes_the_policy() -> None:
    spec = image_policy(flux.NumericalChoice("desc"), pattern="^b-(.*)$", extract="$1",
                        min_age=datetime.timedelta(hours=72))
    rule = policy.evaluate(tag_list(["b-1"]), spec).trace.rule
    assert rule == "numerical order desc on '$1' extracted from tags matching '^b-(.*)$', cooldown 72h"


# errors


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(image_policy(semver=">>1", source="p.yaml (document 2)"),
                     r"^p\.yaml \(document 2\): ImagePolicy apps/podinfo: spec\.policy\.semver\.range '>>1'",
                     id="bad-range"),
        pytest.param(image_policy(semver="", source="p.yaml"), r"ImagePolicy apps/podinfo: .*range ''",
                     id="empty-range"),
        pytest.param(image_policy(pattern="(?=x)"),
                     r"^ImagePolicy apps/podinfo: spec\.filterTags\.pattern '\(\?=x\)' .*invalid perl operator",
                     id="bad-regex"),
    ],
)
def test_invalid_policy_names_policy_and_text(spec: flux.ImagePolicy, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        policy.validate(spec)
    with pytest.raises(PolicyError, match=message):
        policy.evaluate(tag_list(["1.0.0"]), spec)


def test_evaluation_names_the_policy() -> None:
    assert policy.evaluate(tag_list(["1.0.0"]), image_policy()).policy == POLICY_KEY


# digests looked up after the choice (the pipeline asks only for the selected tags' digests)


@pytest.mark.parametrize("reflect", ["Never", "Always", "IfNotPresent"])
@pytest.mark.parametrize(
    ("before", "after", "first", "current"),
    [
        pytest.param({}, {"1.1.0": digest(2)}, {}, "1.0.0", id="digest-found"),
        pytest.param({}, {}, {}, "1.0.0", id="still-none"),
        pytest.param({"1.1.0": digest(1)}, {"1.1.0": digest(2)}, {"1.1.0": digest(1)}, "1.1.0",
                     id="re-pushed-since-first-seen"),
        pytest.param({"1.1.0": digest(2)}, {"1.1.0": digest(2)}, {}, None, id="unchanged"),
    ],
)
def test_reflect_is_evaluate_on_the_tags_with_their_digests(
        reflect: flux.DigestReflection, before: dict[str, str], after: dict[str, str], first: dict[str, str],
        current: str | None,
) -> None:
    """``reflect`` finishes an evaluation with digests looked up after it chose, without ranking
    again: the same evaluation ``evaluate`` makes on the tags that carry them."""
    spec = image_policy(semver=">=1.0.0", reflect=reflect)
    tags = ["1.0.0", "1.1.0", "2.0.0-rc.1"]
    chosen_on = tag_list(tags, digests=before, first_digests=first)
    looked_up = tag_list(tags, digests=after, first_digests=first)
    now_in_files = Tag(current) if current else None

    chosen = policy.evaluate(chosen_on, spec, now=NOW, current=now_in_files)
    reflected = policy.reflect(chosen, spec, looked_up)

    assert reflected == policy.evaluate(looked_up, spec, now=NOW, current=now_in_files)
    assert chosen.selection is not None and reflected.selection is not None
    assert reflected.selection.digest == (after.get("1.1.0") if reflect != "Never" else None)


def test_reflect_leaves_an_evaluation_without_selection_alone() -> None:
    spec = image_policy(semver=">=3.0.0", reflect="Always")
    chosen = policy.evaluate(tag_list(["1.0.0"]), spec, now=NOW)
    assert chosen.selection is None
    assert policy.reflect(chosen, spec, tag_list(["1.0.0"], digests={"1.0.0": digest(1)})) is chosen
