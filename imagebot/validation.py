"""One loader and one validation for every command: config objects, ranges, regexes, markers.

``load(path)`` is what every command reads ``--config`` through: :func:`imagebot.config.load`
(kinds, keys, fields, references) plus every semver range, ``filterTags`` regex and
``exclusionList`` regex compiled, so ``scan`` rejects the range ``plan`` rejects. ``check``
collects every problem instead of stopping at the first, for ``imagebot validate``. A layer above
the stages because it asks two of them (policy compiles, setters finds markers).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from imagebot import config, names, policy, setters
from imagebot.errors import ConfigError
from imagebot.model.findings import Finding

__all__ = ["check_markers", "check_policies", "load"]


def load(path: Path | str, *, check_references: bool = True) -> config.Config:
    """The configuration at ``path``, or ``ConfigError`` for its first error (see module doc)."""
    loaded = config.load(path, check_references=check_references)
    for finding in check_policies(loaded):
        raise ConfigError(config.located(finding))
    return loaded


def check_policies(loaded: config.Config) -> list[Finding]:
    """Every ImagePolicy's range and ``filterTags`` regex, every ImageRepository's exclusionList."""
    findings: list[Finding] = []
    for spec in loaded.image_policies.values():
        try:
            policy.validate(spec)
        except ConfigError as exc:
            regex = "spec.filterTags" in str(exc)
            key_path = "spec.filterTags.pattern" if regex else "spec.policy.semver.range"
            findings.append(_finding(spec.source, "invalid-regex" if regex else "invalid-range", str(exc),
                                     key_path))
    for repository in loaded.image_repositories.values():
        try:
            policy.exclude((), repository)
        except ConfigError as exc:
            findings.append(_finding(repository.source, "invalid-regex", str(exc), "spec.exclusionList"))
    return findings


def _finding(where: str, code: str, message: str, key_path: str) -> Finding:
    file, line = config.locate(where, key_path)
    _, document = config.origin(where)
    return Finding("error", code, message.removeprefix(f"{where}: "), file=file, line=line,
                   document=document, key_path=key_path)


def check_markers(
    loaded: config.Config, *, root: Path, paths: Sequence[Path], ignore: Iterable[str] = (),
) -> tuple[list[Finding], int]:
    """Markers naming policies that do not exist (errors), policies no marker names (warnings),
    unreadable manifests (errors) and malformed markers (warnings); and how many markers."""
    report = setters.find_markers(root=root, paths=paths, ignore=list(ignore))
    unloaded = [key for kind, key in loaded.unloaded if kind == "ImagePolicy"]
    known = {f"{k.namespace}:{k.name}": k for k in [*loaded.image_policies, *unloaded]}
    findings = [Finding("error", "manifest", p.message, file=p.path, line=p.line) for p in report.errors]
    findings += [Finding("warning", "marker", p.message, file=p.path, line=p.line) for p in report.warnings]
    used = set()
    for marker in report.markers:
        name = f"{marker.policy.namespace}:{marker.policy.name}"
        if marker.policy in loaded.image_policies or ("ImagePolicy", marker.policy) in loaded.unloaded:
            used.add(marker.policy)  # a policy with errors is reported once, not at each marker
            continue
        findings.append(Finding(
            "error", "unknown-policy",
            f"marker {marker.setter!r} names ImagePolicy {marker.policy}, which is not in the "
            f"configuration{names.did_you_mean(name, known)}",
            file=marker.path, line=marker.line,
        ))
    for key, spec in sorted(loaded.image_policies.items()):
        if key not in used:
            findings.append(_unused(spec.source, key))
    return findings, len(report.markers)


def _unused(where: str, key: object) -> Finding:
    file, line = config.locate(where, "metadata.name")
    _, document = config.origin(where)
    message = f"ImagePolicy {key}: no marker under the checked paths names it"
    return Finding("warning", "unused-policy", message, file=file, line=line, document=document,
                   key_path="metadata.name")
