"""Regenerate ``../flux_templates/*.expected`` with the Go reference renderer (``main.go``).

Needs ``go`` and Sprig (Debian: ``golang-go golang-github-masterminds-sprig-dev``) in a GOPATH where
``github.com/Masterminds/{sprig,semver}/v3`` resolve. Not part of the test suite; run from the
repository root: ``GOPATH=... python tests/publish/data/flux_reference/regenerate.py``.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import tempfile

from ruamel.yaml import YAML

HERE = pathlib.Path(__file__).parent
TEMPLATES = HERE.parent / "flux_templates"


def _find(node: object, key: str) -> object:
    if isinstance(node, dict):
        if key in node:
            return node[key]
        for value in node.values():
            found = _find(value, key)
            if found is not None:
                return found
    return None


def main() -> None:
    env = dict(os.environ, GO111MODULE="off")
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        binary = work / "fluxref"
        subprocess.run(["go", "build", "-o", str(binary), "main.go"], check=True, env=env, cwd=HERE)
        for fixture in sorted(TEMPLATES.glob("*.yaml")):
            document = YAML(typ="safe").load(fixture.read_text())
            (work / "t.tmpl").write_text(str(_find(document, "messageTemplate")))
            for path in sorted(TEMPLATES.glob("scenario-*.json")):
                scenario = json.loads(path.read_text())
                values = _find(document, "messageTemplateValues")
                if isinstance(values, dict):
                    scenario["values"] = dict(values)
                (work / "s.json").write_text(json.dumps(scenario))
                out = subprocess.run([str(binary), str(work / "s.json"), str(work / "t.tmpl")],
                                     capture_output=True, text=True, check=True)
                name = f"{fixture.stem}.{path.stem.removeprefix('scenario-')}.expected"
                (TEMPLATES / name).write_text(out.stdout)


if __name__ == "__main__":
    main()
