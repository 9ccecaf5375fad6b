"""Builders shared by the publish tests: scenario JSON → ChangeSet, selections, template data."""

from __future__ import annotations

import json
import pathlib
from typing import Any

from imagebot.model.changes import ChangeSet, FieldChange, FileChange, ObjectId
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.images import parse_image_repo
from imagebot.model.selections import Selection, Trace

DATA = pathlib.Path(__file__).parent / "data"
TEMPLATES = DATA / "flux_templates"


def load_scenario(name: str) -> dict[str, Any]:
    scenario: dict[str, Any] = json.loads((TEMPLATES / f"scenario-{name}.json").read_text())
    return scenario


def changeset(scenario: dict[str, Any]) -> ChangeSet:
    files: dict[str, list[FieldChange]] = {}
    for line, change in enumerate(scenario["changes"], start=1):
        namespace, name, *_ = change["setter"].split(":")
        files.setdefault(change["file"], []).append(FieldChange(
            line=line, setter=change["setter"], policy=ObjectKey(namespace, name),
            old_value=change["old"], new_value=change["new"],
            object=ObjectId(change["apiVersion"], change["kind"], change["namespace"], change["name"])))
    return ChangeSet(files=tuple(FileChange(path, tuple(found)) for path, found in sorted(files.items())))


def automation(scenario: dict[str, Any]) -> ObjectKey:
    return ObjectKey(scenario["automation"]["namespace"], scenario["automation"]["name"])


def selection(policy: str, image: str, tag: str, *, previous: str | None = None, downgrade: bool = False,
              rule: str = "semver range '>=1.0.0'", eligible: int = 3, total: int = 10) -> Selection:
    namespace, name = policy.split("/")
    return Selection(policy=ObjectKey(namespace, name), repo=parse_image_repo(image), tag=Tag(tag),
                     previous=Tag(previous) if previous else None, downgrade=downgrade, candidates=eligible,
                     trace=Trace(rule=rule, total=total, eligible=eligible))
