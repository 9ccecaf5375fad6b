"""ApplicationSet generators → parameter sets, with Argo CD's parameter names and shapes.

* ``list``: each element (Go templates see it as written; ``{{param}}`` templates need string
  values, ``values: {k: v}`` becoming ``values.k``), then ``elementsYaml``.
* ``git`` directories: every directory of the repository at ``revision`` (hidden ones and
  everything below them skipped) that an include rule matches and no ``exclude: true`` rule does
  (Go's ``path.Match``); parameters ``path`` (``.path.path``), ``path.basename``,
  ``path.basenameNormalized``, ``path[N]`` / ``.path.segments``.
* ``git`` files: every file an include pattern selects (git pathspec) and no exclude pattern
  does, in path order; each JSON/YAML object in it (a file may hold a list of objects) is one set:
  its keys flattened with dots (``cluster.address``) for ``{{param}}`` templates or kept nested
  for Go templates, plus the ``path`` parameters of the file's directory and ``path.filename``,
  ``path.filenameNormalized``.
* ``values`` (git) are rendered with the set's parameters and added as ``values.<key>``;
  ``pathParamPrefix`` puts the path parameters under ``<prefix>.path``.
* ``matrix``: for each set of the first child, the second child with its strings rendered with
  that set, and every combination (the first child's values win a clash in Go mode; differing
  values are an error in ``{{param}}`` mode).
* ``merge``: the first child's sets; a set of a later child with the same ``mergeKeys`` values
  overrides its keys (non-unique keys within one child are an error).

Repositories are read through ``tree(repo_url, revision) -> directory`` (the sync source layer,
or ``--repo DIR``). Called by :mod:`imagebot.sync._appsets`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from imagebot import yamldoc
from imagebot.errors import ConfigError
from imagebot.gotemplate import go_str, normalize
from imagebot.model import argo
from imagebot.sync._globs import BadPattern, go_path_match, pathspec_match
from imagebot.sync._templates import GeneratorError, Renderer

__all__ = ["GeneratorError", "Params", "Tree", "generate"]

Params = dict[str, Any]
Tree = Callable[[str, str], Path]
"""``(repoURL, revision) -> the directory of a checkout`` (an error raises ``ImagebotError``)."""


def generate(generator: argo.Generator, renderer: Renderer, tree: Tree) -> list[Params]:
    """The parameter sets of ``generator`` (raises :class:`GeneratorError`)."""
    if isinstance(generator, argo.ListGenerator):
        return _list(generator, renderer)
    if isinstance(generator, argo.GitGenerator):
        return _git(generator, renderer, tree)
    if isinstance(generator, argo.MatrixGenerator):
        return _matrix(generator, renderer, tree)
    if isinstance(generator, argo.MergeGenerator):
        return _merge(generator, renderer, tree)
    raise GeneratorError(generator.path, f"the {generator.name} generator is not supported by imagebot "
                                         "(it runs list, git, matrix and merge)")


# --- list ------------------------------------------------------------------------------------------


def _list(generator: argo.ListGenerator, renderer: Renderer) -> list[Params]:
    found: list[Params] = []
    for index, element in enumerate(generator.elements):
        if renderer.go_template:
            found.append(dict(element))
            continue
        params: Params = {}
        for key, value in element.items():
            if key == "values" and isinstance(value, Mapping):
                for name, item in value.items():
                    where = f"{generator.path}.elements[{index}].values.{name}"
                    params[f"values.{name}"] = _string(item, where)
            else:
                params[key] = _string(value, f"{generator.path}.elements[{index}].{key}")
        found.append(params)
    if generator.elements_yaml:
        try:
            docs = yamldoc.load_all_plain(generator.elements_yaml)
        except yamldoc.YAMLSyntaxError as exc:
            raise GeneratorError(f"{generator.path}.elementsYaml", str(exc)) from None
        listed = docs[0] if docs else []
        if not isinstance(listed, list) or not all(isinstance(e, dict) for e in listed):
            raise GeneratorError(f"{generator.path}.elementsYaml", "expected a YAML list of mappings")
        found.extend(listed)
    return found


def _string(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise GeneratorError(path, "{{param}} templates take string values only "
                                   "(set goTemplate: true for numbers, lists and maps)")
    return value


# --- git -------------------------------------------------------------------------------------------


def _checkout(generator: argo.GitGenerator, tree: Tree) -> Path:
    try:
        return tree(generator.repo_url, generator.revision)
    except ConfigError:
        raise
    except Exception as exc:  # the source layer's errors (git, I/O) fail this generator only
        raise GeneratorError(generator.path, f"{generator.repo_url} at {generator.revision}: {exc}") from exc


def _walk(root: Path) -> tuple[list[str], list[str]]:
    """Repository-relative directories (none hidden, nor below a hidden one: Argo CD's repo server
    skips them) and files (all but ``.git``'s, as ``git ls-files``)."""
    directories: list[str] = []
    files: list[str] = []
    for current, dirnames, filenames in os.walk(root):
        relative = Path(current).relative_to(root).as_posix()
        prefix = "" if relative == "." else relative + "/"
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        files.extend(prefix + f for f in sorted(filenames))
        hidden = any(part.startswith(".") for part in prefix.split("/") if part)
        directories.extend(prefix + d for d in dirnames if not hidden and not d.startswith("."))
    # the repo server walks in lexical order, depth first; the file generator sorts the paths
    return sorted(directories, key=lambda d: d.split("/")), sorted(files)


def _matches(rules: Sequence[argo.GitPathRule], path: str, match: Callable[[str, str], bool],
             where: str) -> bool:
    included = excluded = False
    for index, rule in enumerate(rules):
        try:
            hit = match(rule.path, path)
        except BadPattern as exc:
            raise GeneratorError(f"{where}[{index}].path", f"bad glob: {exc}") from None
        excluded = excluded or (hit and rule.exclude)
        included = included or (hit and not rule.exclude)
    return included and not excluded


def _path_params(directory: str, renderer: Renderer, prefix: str, file: str | None = None) -> Params:
    basename = posixpath.basename(directory) if directory != "." else "."
    if renderer.go_template:
        nested: Params = {"path": directory, "basename": basename, "basenameNormalized": normalize(basename),
                          "segments": directory.split("/")}
        if file is not None:
            nested.update(filename=file, filenameNormalized=normalize(file))
        return {prefix: {"path": nested}} if prefix else {"path": nested}
    name = f"{prefix}.path" if prefix else "path"
    flat: Params = {name: directory, f"{name}.basename": basename,
                    f"{name}.basenameNormalized": normalize(basename)}
    if file is not None:
        flat.update({f"{name}.filename": file, f"{name}.filenameNormalized": normalize(file)})
    for index, segment in enumerate(directory.split("/")):
        if segment:
            flat[f"{name}[{index}]"] = segment
    return flat


def _with_values(params: Params, generator: argo.GitGenerator, renderer: Renderer) -> Params:
    rendered = {key: renderer.string(value, params, what=f"{generator.path}.values.{key}")
                for key, value in generator.values.items()}
    if rendered and renderer.go_template:
        params["values"] = rendered
    else:
        params.update({f"values.{key}": value for key, value in rendered.items()})
    return params


def _git(generator: argo.GitGenerator, renderer: Renderer, tree: Tree) -> list[Params]:
    root = _checkout(generator, tree)
    directories, files = _walk(root)
    prefix = generator.path_param_prefix
    if generator.directories:
        chosen = [d for d in directories
                  if _matches(generator.directories, d, go_path_match, f"{generator.path}.directories")]
        return [_with_values(_path_params(d, renderer, prefix), generator, renderer) for d in chosen]
    found: list[Params] = []
    for file in files:
        if not _matches(generator.files, file, pathspec_match, f"{generator.path}.files"):
            continue
        for obj in _objects(root / file, file, generator.path):
            params: Params = dict(obj) if renderer.go_template else _flatten(obj)
            directory = posixpath.dirname(file) or "."
            params.update(_path_params(directory, renderer, prefix, posixpath.basename(file)))
            found.append(_with_values(params, generator, renderer))
    return found


def _objects(path: Path, name: str, where: str) -> list[Mapping[str, Any]]:
    try:
        docs = yamldoc.load_all_plain(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yamldoc.YAMLSyntaxError) as exc:
        raise GeneratorError(where, f"{name}: unable to parse file: {exc}") from None
    content = docs[0] if docs else None
    if content is None:
        return [{}]
    if isinstance(content, dict):
        return [content]
    if isinstance(content, list) and all(isinstance(item, dict) for item in content):
        return content
    raise GeneratorError(where, f"{name}: expected a mapping or a list of mappings")


def _flatten(value: Mapping[str, Any], prefix: str = "") -> Params:
    # jeremywohl/flatten DotStyle, then fmt's %v of each leaf (what {{param}} templates see)
    flat: Params = {}
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, Mapping) and item:
            flat.update(_flatten(item, name))
        elif isinstance(item, list) and item:
            flat.update(_flatten({str(i): v for i, v in enumerate(item)}, name))
        else:
            flat[name] = go_str(item)
    return flat


# --- matrix and merge ------------------------------------------------------------------------------


def _interpolated(generator: argo.Generator, params: Params, renderer: Renderer) -> argo.Generator:
    """The second child of a matrix with every string rendered with a set of the first: a
    ``values`` entry naming a key the first does not have stays as written (for the child's own)."""
    def walk(value: Any, path: str) -> Any:
        if isinstance(value, str):
            return renderer.string(value, params, what=path)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {}
            for field in dataclasses.fields(value):
                current = getattr(value, field.name)
                if field.name == "path" and not isinstance(value, argo.GitPathRule):
                    continue  # a generator's key path, not a template
                if field.name == "values" and isinstance(value, argo.GitGenerator):
                    changes["values"] = {k: _keep_missing(renderer, v, params) for k, v in current.items()}
                else:
                    changes[field.name] = walk(current, path)
            return dataclasses.replace(value, **changes)
        if isinstance(value, tuple):
            return tuple(walk(v, path) for v in value)
        if isinstance(value, Mapping):
            return {walk(str(k), path): walk(v, path) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, path) for v in value]
        return value

    result: argo.Generator = walk(generator, generator.path)
    return result


def _keep_missing(renderer: Renderer, value: str, params: Params) -> str:
    try:
        return renderer.string(value, params, missing="error")
    except ConfigError as exc:
        if "no entry for key" in str(exc) or "no attribute" in str(exc) or "undefined" in str(exc):
            return value
        raise


def _deep_merge(base: Params, override: Mapping[str, Any]) -> Params:
    # maps merge recursively, any other value replaces: Generators-Matrix.md's override example
    # has `debugEnabled: false` win over `true` (mergo itself would skip the empty value)
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = _deep_merge(dict(current), value)
        else:
            merged[key] = value
    return merged


def _matrix(generator: argo.MatrixGenerator, renderer: Renderer, tree: Tree) -> list[Params]:
    first, second = generator.generators
    found: list[Params] = []
    for a in _child(first, renderer, tree):
        child = _interpolated(second, a, renderer) if a else second
        for b in _child(child, renderer, tree):
            if renderer.go_template:
                found.append(_deep_merge(_deep_merge({}, b), a))
                continue
            combined = dict(a)
            for key, value in b.items():
                if key in combined and combined[key] != value:
                    raise GeneratorError(generator.path, f"found duplicate key {key} with different value, "
                                                         f"a: {combined[key]} ,b: {value}")
                combined[key] = value
            found.append(combined)
    return found


def _child(generator: argo.Generator, renderer: Renderer, tree: Tree) -> list[Params]:
    params = generate(generator, renderer, tree)
    if not params:
        raise GeneratorError(generator.path, "child generator generated no parameters")
    return params


def _by_keys(params: list[Params], keys: Sequence[str], path: str) -> dict[str, Params]:
    found: dict[str, Params] = {}
    for one in params:
        key = json.dumps({k: one.get(k) for k in sorted(set(keys))}, sort_keys=True, default=str)
        if key in found:
            raise GeneratorError(path, "the parameters from a generator were not unique by the given "
                                       "mergeKeys, Merge requires all param sets to be unique. "
                                       f"Duplicate key was {key}")
        found[key] = one
    return found


def _merge(generator: argo.MergeGenerator, renderer: Renderer, tree: Tree) -> list[Params]:
    children = [_child(child, renderer, tree) for child in generator.generators]
    base = _by_keys(children[0], generator.merge_keys, generator.generators[0].path)
    for child, params in zip(generator.generators[1:], children[1:], strict=True):
        overrides = _by_keys(params, generator.merge_keys, child.path)
        for key, current in base.items():
            if key in overrides:
                base[key] = _deep_merge(current, overrides[key]) if renderer.go_template \
                    else {**current, **overrides[key]}
    return list(base.values())
