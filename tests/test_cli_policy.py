"""`imagebot policy test`: the offline policy debugger.

Aspects: stdout carries only the selected tag (or JSON), reasons go to stderr, exit codes 0/1/2,
the ImageRepository's exclusion list when the file holds one, tag lines with first-seen times
and digests, choosing among several policies, and no traceback on bad input.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from imagebot import cli

POLICY = """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: {name}
  namespace: apps
{annotations}spec:
  imageRepositoryRef:
    name: podinfo
{extra}  policy:
{policy}
"""
REPOSITORY = """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: podinfo, namespace: apps}}
spec:
  image: ghcr.io/stefanprodan/podinfo
  interval: 5m
{exclusions}---
"""


def write_policy(
        tmp_path: Path,
        policy: str = '    semver: {range: ">=1.0.0 <2.0.0"}',
        *,
        name: str = "podinfo",
        extra: str = "",
        annotations: str = "",
        repository: str | None = None,
        also: str = "",
) -> Path:
    text = POLICY.format(name=name, policy=policy, extra=extra, annotations=annotations)
    if repository is not None:
        text = REPOSITORY.format(exclusions=repository) + text
    path = tmp_path / "policy.yaml"
    path.write_text(text + also)
    return path


def run(
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        args: list[str],
        stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(["policy", "test", *args])
    out, err = capsys.readouterr()
    return code, out, err


TAGS = "latest\n1.0.0\nv1.5.0\n1.6.0-rc.1\n2.0.0\n"


def test_selected_tag_alone_on_stdout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(monkeypatch, capsys, [str(write_policy(tmp_path))], TAGS)
    assert (code, out, err) == (0, "v1.5.0\n", "")


def test_tags_from_a_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    tags = tmp_path / "tags.txt"
    tags.write_text("# from crane ls\n1.0.0\n\n1.1.0  # a comment\n")
    code, out, _ = run(monkeypatch, capsys, [str(write_policy(tmp_path)), "--tags", str(tags)])
    assert (code, out) == (0, "1.1.0\n")


def test_no_selection_prints_the_reason_on_stderr(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(monkeypatch, capsys, [str(write_policy(tmp_path))], "latest\n2.0.0\n")
    assert (code, out) == (1, "")
    assert "apps/podinfo" in err and "1 is not a version" in err and "1 is out of range" in err


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        pytest.param('    semver: {range: ">>1"}', "spec.policy.semver.range '>>1'", id="bad-range"),
        pytest.param('    semver: {range: "1.2.3 -2.0.0"}', "'1.2.3 -2.0.0'", id="hyphen-needs-spaces"),
    ],
)
def test_invalid_policy_exits_2_without_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        policy: str, message: str,
) -> None:
    code, out, err = run(monkeypatch, capsys, [str(write_policy(tmp_path, policy))], TAGS)
    assert (code, out) == (2, ""), err
    assert "ImagePolicy apps/podinfo" in err and message in err
    assert "Traceback" not in err


def test_invalid_regex_exits_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_policy(tmp_path, extra="  filterTags: {pattern: '(?<=v)1'}\n")
    code, _, err = run(monkeypatch, capsys, [str(path)], TAGS)
    assert code == 2, err
    assert "spec.filterTags.pattern '(?<=v)1'" in err


def test_explain_goes_to_stderr(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(monkeypatch, capsys, [str(write_policy(tmp_path)), "--explain"], TAGS)
    assert (code, out) == (0, "v1.5.0\n")
    assert "semver range '>=1.0.0 <2.0.0'" in err
    assert re.search(r"1 prerelease\s+e\.g\. 1\.6\.0-rc\.1", err)
    assert "v1.5.0  (= 1.5.0)" in err
    assert "selected 'v1.5.0'" in err


def test_json(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(monkeypatch, capsys, [str(write_policy(tmp_path)), "--json"], TAGS)
    document = json.loads(out)
    assert code == 0
    assert document["selected"] == "v1.5.0"
    assert {e["rule"]: e["count"] for e in document["excluded"]} == {
        "not-a-version": 1, "prerelease": 1, "out-of-range": 1,
    }
    assert [c["tag"] for c in document["top"]] == ["v1.5.0", "1.0.0"]


def test_json_without_selection_exits_1(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(monkeypatch, capsys, [str(write_policy(tmp_path)), "--json"], "latest\n")
    assert code == 1
    assert json.loads(out)["selected"] is None


def test_default_exclusion_without_repository(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_policy(tmp_path, "    alphabetical: {order: asc}")
    code, out, _ = run(monkeypatch, capsys, [str(path)], "a\nzz.sig\n")
    assert (code, out) == (0, "a\n")


def test_repository_exclusion_list_replaces_the_default(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_policy(tmp_path, "    alphabetical: {order: asc}", repository="  exclusionList: ['^a']\n")
    code, out, _ = run(monkeypatch, capsys, [str(path)], "a\nb\nzz.sig\n")
    assert (code, out) == (0, "zz.sig\n")  # the .sig tag is back, ^a is gone


def test_cooldown_uses_first_seen_from_the_tag_lines(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_policy(tmp_path, annotations="  annotations: {imagebot.dev/min-age: 72h}\n")
    tags = "1.0.0 2026-01-01T00:00:00Z\n1.1.0 2026-03-01T00:00:00Z\n"
    args = [str(path), "--now", "2026-03-02T00:00:00Z", "--explain"]
    code, out, err = run(monkeypatch, capsys, args, tags)
    assert (code, out) == (0, "1.0.0\n")
    assert "1.1.0  (old enough at 2026-03-04T00:00:00+00:00)" in err
    code, out, _ = run(monkeypatch, capsys, [str(path), "--now", "2026-03-05T00:00:00Z"], tags)
    assert (code, out) == (0, "1.1.0\n")


def test_digest_from_the_tag_lines(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_policy(tmp_path, extra="  digestReflectionPolicy: Always\n")
    digest = "sha256:" + "ab" * 32
    code, out, _ = run(monkeypatch, capsys, [str(path), "--json"], f"1.0.0 {digest}\n")
    assert code == 0 and json.loads(out)["digest"] == digest


def test_downgrade_is_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(monkeypatch, capsys, [str(write_policy(tmp_path)), "--json", "--current", "2.0.0"], TAGS)
    assert code == 0 and json.loads(out)["downgrade"] is True


def test_several_policies_need_a_choice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    second = "---\n" + POLICY.format(name="other", policy="    alphabetical: {order: asc}", extra="",
                                     annotations="")
    path = write_policy(tmp_path, also=second)
    code, _, err = run(monkeypatch, capsys, [str(path)], TAGS)
    assert code == 2 and "--policy" in err
    code, out, _ = run(monkeypatch, capsys, [str(path), "--policy", "apps/other"], TAGS)
    assert (code, out) == (0, "v1.5.0\n")  # alphabetically greatest


def test_bad_tag_line_exits_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(monkeypatch, capsys, [str(write_policy(tmp_path))], "1.0.0 yesterday\n")
    assert code == 2 and "line 1" in err and "'yesterday'" in err


def test_missing_policy_file_exits_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(monkeypatch, capsys, [str(tmp_path / "nope.yaml")], TAGS)
    assert code == 2 and "nope.yaml" in err


def test_policy_without_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["policy"]) == 2
    assert "test" in capsys.readouterr().err


# the spec's examples, through the command line


@pytest.mark.parametrize(
    ("policy", "extra", "tags", "expected"),
    [
        pytest.param("    alphabetical: {order: asc}", "", "latest\nRELEASE.2024-01-01T00-00-00Z\n", "latest",
                     id="latest-beats-RELEASE"),
        pytest.param("    numerical: {order: asc}", "", "1\n2\nlatest\n", None, id="one-non-number"),
        pytest.param('    semver: {range: ">=0.0.0-0"}', "", "1.2\n1.2-rc.1\n", "1.2-rc.1", id="two-dots"),
        pytest.param('    semver: {range: "*"}', "", "1.0.0\nv1.0.0\n", "v1.0.0", id="tie"),
        pytest.param('    semver: {range: ">=1.0.0-0"}', "", "1.0.0-rc9\n1.0.0-rc10\n", "1.0.0-rc9", id="rc10"),
        pytest.param(
            "    numerical: {order: asc}",
            "  filterTags:\n    pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)'\n    extract: '$ts'\n",
            "main-abc-100\nmain-def-200\nv1.0.0\n", "main-def-200", id="timestamps",
        ),
    ],
)
def test_spec_examples(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        policy: str, extra: str, tags: str, expected: str | None,
) -> None:
    code, out, _ = run(monkeypatch, capsys, [str(write_policy(tmp_path, policy, extra=extra))], tags)
    assert (code, out) == ((0, f"{expected}\n") if expected else (1, ""))
