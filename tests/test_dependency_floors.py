"""The offline part of the dependency audit (SECURITY.md): ``pip-audit`` needs PyPI's JSON API or
OSV, which the build machines cannot reach, so this test keeps the advisories that touch what
imagebot does out of reach — by hand, dated, and checked on every run:

* each advisory's package, where imagebot declares it, has a lower bound in ``pyproject.toml`` at
  or above the first fixed release (a fresh install can never pick a vulnerable one);
* the installed environment (``pip install -e '.[dev]'``, transitive packages included) has a
  fixed release of every package in the table.

Run ``scripts/audit`` where the vulnerability services are reachable for the complete check.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (package, first fixed release, advisory, why it matters to imagebot) — reviewed 2026-12-07
ADVISORIES = [
    ("jinja2", "3.1.6", "CVE-2025-27516",
     "sandbox breakout through |attr; imagebot renders policies/ authors' templates in the sandbox"),
    ("jinja2", "3.1.5", "CVE-2024-56201, CVE-2024-56326",
     "sandbox breakout (str.format, template file names); same templates"),
    ("requests", "2.32.4", "CVE-2024-47081", ".netrc credentials sent to the wrong host (PyGithub's HTTP)"),
    ("requests", "2.32.0", "CVE-2024-35195", "verify=False sticking to a session (PyGithub's HTTP)"),
    ("pyjwt", "2.10.1", "CVE-2024-53861", "issuer check by substring in 2.10.0 (GitHub App tokens)"),
    ("urllib3", "2.5.0", "CVE-2025-50181, CVE-2025-50182", "redirects not disabled as asked (requests)"),
    ("h11", "0.16.0", "CVE-2025-43859", "lenient chunked-body parsing: request smuggling (httpx)"),
    ("idna", "3.7", "CVE-2024-3651", "quadratic time on crafted names (httpx, registry hosts)"),
    ("certifi", "2024.7.4", "CVE-2024-39689", "GLOBALTRUST roots still trusted (httpx, requests)"),
]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:4])


def _declared() -> dict[str, str]:
    """Package (normalised) → the declared lower bound, from pyproject's dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *(r for group in project["optional-dependencies"].values()
                                                 for r in group)]
    floors: dict[str, str] = {}
    for requirement in requirements:
        match = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*([^;]*)", requirement)
        assert match is not None, requirement
        name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        floor = re.search(r">=\s*([\w.]+)", match.group(2))
        if floor:
            floors[name] = floor.group(1)
    return floors


@pytest.mark.parametrize(("package", "fixed", "advisory", "why"), ADVISORIES,
                         ids=[f"{p}-{a.split(',')[0]}" for p, _, a, _ in ADVISORIES])
def test_declared_lower_bounds_exclude_known_vulnerable_releases(
    package: str, fixed: str, advisory: str, why: str,
) -> None:
    floor = _declared().get(package)
    if floor is not None:
        assert _version(floor) >= _version(fixed), f"pyproject allows {package} {floor} < {fixed} ({advisory}: {why})"


@pytest.mark.parametrize(("package", "fixed", "advisory", "why"), ADVISORIES,
                         ids=[f"{p}-{a.split(',')[0]}" for p, _, a, _ in ADVISORIES])
def test_installed_releases_are_fixed(package: str, fixed: str, advisory: str, why: str) -> None:
    installed = importlib.metadata.version(package)  # not installed: drop it from the table
    assert _version(installed) >= _version(fixed), f"{package} {installed} < {fixed} ({advisory}: {why})"


def test_every_direct_dependency_has_a_lower_bound() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    unbounded = [r for r in project["dependencies"] if ">=" not in r and "==" not in r]
    assert unbounded == []
