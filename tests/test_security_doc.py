"""SECURITY.md backs every guarantee with a named test: each ``tests/…py`` or ``tests/…py::name``
it cites must exist, so a renamed or deleted test cannot leave a guarantee unbacked."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITED = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")


def test_every_cited_test_exists() -> None:
    text = (ROOT / "SECURITY.md").read_text()
    cited = CITED.findall(text)
    assert len(cited) > 20
    missing = []
    for path, name in cited:
        source = ROOT / path
        if not source.is_file() or (name and not re.search(rf"^(async )?def {name}\(", source.read_text(), re.M)):
            missing.append(f"{path}::{name}" if name else path)
    assert missing == []
