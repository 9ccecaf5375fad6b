"""Tag parsing and precedence as Flux reads tags (spec §3.4).

Aspects: the two-dots gate, the lenient grammar (leading zeros, lowercase ``v``, prerelease and
build text), uint64 limits, and the tuple order against the ``semver`` library as an oracle.
"""

from __future__ import annotations

import pytest
import semver
from hypothesis import given
from hypothesis import strategies as st

from imagebot.policy import _semver


@pytest.mark.parametrize(
    ("tag", "normalised"),
    [
        pytest.param("1.2.3", "1.2.3", id="plain"),
        pytest.param("v1.2.3", "1.2.3", id="lowercase-v"),
        pytest.param("2022.04.1", "2022.4.1", id="calver-leading-zero"),
        pytest.param("01.02.03", "1.2.3", id="leading-zeros-everywhere"),
        pytest.param("1.2-rc.1", "1.2.0-rc.1", id="two-part-with-dotted-prerelease"),
        pytest.param("1-rc.1.2", "1.0.0-rc.1.2", id="dots-only-in-prerelease"),
        pytest.param("1.2.3-0abc", "1.2.3-0abc", id="alnum-id-may-start-with-zero"),
        pytest.param("1.2.3+build.1", "1.2.3", id="build-metadata-ignored"),
        pytest.param("2.0.330-63-gc1cfb68", "2.0.330-63-gc1cfb68", id="git-describe"),
        pytest.param("18446744073709551615.0.0", "18446744073709551615.0.0", id="uint64-max"),
    ],
)
def test_versions_flux_accepts(tag: str, normalised: str) -> None:
    version = _semver.parse_tag(tag)
    assert version is not None
    assert _semver.normalise(version) == normalised


@pytest.mark.parametrize(
    "tag",
    [
        pytest.param("1.2", id="one-dot"),
        pytest.param("2", id="no-dot"),
        pytest.param("v1", id="v-no-dot"),
        pytest.param("V1.2.3", id="uppercase-V"),
        pytest.param("1.2.3.4", id="four-parts"),
        pytest.param("1.2.3-rc.01", id="numeric-prerelease-leading-zero"),
        pytest.param("1.2.3-", id="empty-prerelease"),
        pytest.param("1.2.3-rc..1", id="empty-prerelease-identifier"),
        pytest.param("1.2.3+", id="empty-build"),
        pytest.param("1.0.0p", id="trailing-junk"),
        pytest.param("latest", id="latest"),
        pytest.param("sha-abc.def.1", id="dotted-junk"),
        pytest.param("18446744073709551616.0.0", id="uint64-overflow"),
        pytest.param("1.2.3\n", id="trailing-newline"),
        pytest.param("１.２.３", id="non-ascii-digits"),
    ],
)
def test_tags_flux_skips(tag: str) -> None:
    assert _semver.parse_tag(tag) is None


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        pytest.param("1.0.0", "1.0.1", id="patch"),
        pytest.param("1.9.9", "1.10.0", id="numeric-not-text"),
        pytest.param("1.0.0-rc.1", "1.0.0", id="release-beats-its-prerelease"),
        pytest.param("1.0.0-rc.9", "1.0.0-rc.10", id="dotted-rc-numeric"),
        pytest.param("1.0.0-rc10", "1.0.0-rc9", id="undotted-rc-is-text"),
        pytest.param("1.0.0-alpha", "1.0.0-alpha.1", id="shorter-is-lower"),
        pytest.param("1.0.0-1", "1.0.0-alpha", id="numeric-below-alphanumeric"),
        pytest.param("1.0.0-Z", "1.0.0-a", id="ascii-order"),
        pytest.param(
            "1.0.0-100000000000000000000", "1.0.0-99999999999999999999",
            id="beyond-uint64-compares-as-text",  # Masterminds: ParseUint fails → string compare
        ),
    ],
)
def test_precedence(lower: str, higher: str) -> None:
    low, high = _semver.parse_tag(lower), _semver.parse_tag(higher)
    assert low is not None and high is not None
    assert low < high


def test_build_metadata_is_ignored_for_precedence() -> None:
    assert _semver.parse_tag("1.0.0+b1") == _semver.parse_tag("1.0.0+b2") == _semver.parse_tag("v1.0.0")


_number = st.integers(min_value=0, max_value=10**6)
_identifier = st.one_of(
    st.integers(min_value=0, max_value=10**6).map(str),
    st.text("abcxyzABC-", min_size=1, max_size=4).filter(lambda s: not s.isdigit()),
)
_strict = st.builds(
    lambda ma, mi, pa, pre: f"{ma}.{mi}.{pa}" + (f"-{'.'.join(pre)}" if pre else ""),
    _number, _number, _number, st.lists(_identifier, max_size=3),
)


@given(_strict, _strict)
def test_tuple_order_matches_the_semver_library(a: str, b: str) -> None:
    va, vb = _semver.parse_tag(a), _semver.parse_tag(b)
    assert va is not None and vb is not None
    expected = semver.Version.parse(a).compare(b)
    assert (va > vb) - (va < vb) == expected
