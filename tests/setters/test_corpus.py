"""The byte-diff property on real GitOps files (``../shared/corpus``, 300 files, 17 repositories).

Each file is copied, every image-like field (``image``, ``tag``/``newTag``, ``repository``/
``newName``, ``digest``) that has no comment gets a synthetic marker naming its own policy, and
the stage runs with values for those policies. Every marked field must change, nothing else may,
and a second run must change nothing. Files that do not parse must be reported and left alone.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from imagebot import setters, yamldoc
from imagebot.model.ids import Digest, ObjectKey, Tag
from imagebot.model.images import ImageRef
from tests.setters.helpers import assert_only_marked_values_differ

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yaml", ".yml")) if CORPUS.is_dir() else []

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")

_SUFFIX = {"image": "", "tag": ":tag", "newTag": ":tag", "repository": ":name", "newName": ":name",
           "digest": ":digest"}
_TAGS = ("9.9.9", "3.20", "1606364286", "v2.0.0-rc.1", "true", "2021-01-08")


def _mark(text: str) -> tuple[str, dict[ObjectKey, ImageRef]]:
    """``text`` with a marker after every markable image field, and the values they ask for."""
    values: dict[ObjectKey, ImageRef] = {}
    inserts: list[tuple[int, str]] = []
    for scalar in yamldoc.locate_scalars(text):
        key = scalar.path[-1] if scalar.path else None
        if key not in _SUFFIX or scalar.style not in ("plain", "single", "double"):
            continue
        eol = min(i for i in (text.find("\n", scalar.end), text.find("\r", scalar.end), len(text))
                  if i >= 0)
        if text[scalar.end : eol].strip() or "\n" in text[scalar.start : scalar.end]:
            continue  # already commented, or a multi-line scalar
        n = len(values)
        policy = ObjectKey("flux-system", f"corpus-{n}")
        digest = Digest(f"sha256:{n:064x}") if n % 3 == 0 or key == "digest" else None
        values[policy] = ImageRef(f"registry.example.com/corpus/app{n}", Tag(_TAGS[n % 6]), digest)
        marker = f' # {{"$imagepolicy": "flux-system:corpus-{n}{_SUFFIX[str(key)]}"}}'
        inserts.append((scalar.end, marker))
    for offset, marker in reversed(inserts):
        text = text[:offset] + marker + text[offset:]
    return text, values


@functools.cache
def _prepared(source: Path) -> tuple[bytes, dict[ObjectKey, ImageRef]] | None:
    """The marked copy of ``source`` and its values; ``None`` when ``source`` does not parse."""
    try:
        text, values = _mark(source.read_text(encoding="utf-8"))
    except yamldoc.YAMLSyntaxError:
        return None
    return text.encode("utf-8"), values


def test_corpus_is_the_expected_one() -> None:
    assert len(FILES) == 300


@pytest.mark.parametrize(
    "source", [pytest.param(p, id=p.relative_to(CORPUS).as_posix()) for p in FILES]
)
def test_only_marked_values_change(source: Path, tmp_path: Path) -> None:
    target = tmp_path / source.name
    prepared = _prepared(source)
    if prepared is None:
        marked = source.read_bytes() + b'\n# {"$imagepolicy": "flux-system:corpus-0"}\n'
        target.write_bytes(marked)
        changes = setters.apply({}, root=tmp_path)
        assert [e.path for e in changes.errors] == [source.name]
        assert changes.errors[0].line > 0
        assert target.read_bytes() == marked
        return
    marked, values = prepared
    target.write_bytes(marked)
    changes = setters.apply(values, root=tmp_path)
    assert changes.errors == ()
    after = target.read_bytes()
    if not values:
        assert changes.files == ()
        assert after == marked
        return
    (file,) = changes.files
    assert len(file.changes) == len(values)  # every synthetic marker was found and applied
    assert_only_marked_values_differ(marked, after, file.changes)
    assert setters.apply(values, root=tmp_path).files == ()
    assert target.read_bytes() == after


def test_corpus_marks_enough_fields() -> None:
    prepared = [_prepared(p) for p in FILES]
    assert sum(len(p[1]) for p in prepared if p is not None) > 500
    # index.json calls 5 files unparseable; 4 of them only repeat a key, which the setters (that
    # never construct mappings) handle, unlike Flux (image-automation-controller#140)
    unparsable = [p.name for p, prep in zip(FILES, prepared, strict=True) if prep is None]
    assert unparsable == ["test__e2e__expectedfailures__analysis-run-failfast.yaml"]
