"""Fixtures for config tests: a temporary ``policies/`` directory and a one-document loader."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot import config
from tests.config.documents import WriteFile


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    directory = tmp_path / "policies"
    directory.mkdir()
    return directory


@pytest.fixture
def write(policies: Path) -> WriteFile:
    """``write("apps/repo.yaml", yaml_text)``: a dedented file under ``policies/``."""

    def write_file(name: str, text: str) -> Path:
        path = policies / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write_file


@pytest.fixture
def load_yaml(write: WriteFile, policies: Path) -> Callable[[str], config.Config]:
    """Load ``text`` as the only file ``policies/objects.yaml``."""

    def load(text: str) -> config.Config:
        write("objects.yaml", text)
        return config.load(policies)

    return load
