"""Shared YAML documents and types for the config tests (importable, unlike conftest)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

WriteFile = Callable[[str, str], Path]
"""The ``write`` fixture: ``write("apps/repo.yaml", yaml_text) -> path``."""

REPOSITORY = """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: app
spec:
  image: ghcr.io/org/app
  interval: 5m
"""
"""A minimal valid ImageRepository ``default/app`` that policies can reference."""
