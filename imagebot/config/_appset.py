"""Argo CD ``ApplicationSet`` from raw YAML to :class:`imagebot.model.argo.ApplicationSet`.

Generators (``list``, ``git`` directories/files, ``matrix``, ``merge``) are parsed into typed
values and checked now, so ``imagebot validate`` reports a bad shape with its key path; the
template stays raw (every string of it may be templated) and is rendered by
:mod:`imagebot.sync` for each parameter set. Go template syntax is checked here too (when
``goTemplate: true``). Called by :mod:`imagebot.config._loader`.
"""

from __future__ import annotations

from collections.abc import Mapping

from imagebot import gotemplate
from imagebot.config._argo import application_spec
from imagebot.config._fields import Fields
from imagebot.config._flux import parse_metadata
from imagebot.errors import ConfigError
from imagebot.model import argo, ids

__all__ = ["GENERATORS", "UNSUPPORTED_GENERATORS", "parse_application_set"]

_ARGOCD = gotemplate.DataModel(functions=gotemplate.ARGOCD_FUNCTIONS)

GENERATORS = ("list", "git", "matrix", "merge")
"""The generators imagebot runs."""
UNSUPPORTED_GENERATORS = ("clusters", "clusterDecisionResource", "pullRequest", "scmProvider", "plugin")
"""Argo CD generators imagebot accepts in files but cannot run (they need Argo CD's cluster
secrets or a forge API): expanding one is an error of its ApplicationSet only."""


def _template(fields: Fields | None) -> argo.Template | None:
    if fields is None:
        return None
    meta = fields.raw("metadata")
    if meta is not None and not isinstance(meta, Mapping):
        raise fields.error("metadata", "expected a mapping")
    spec = fields.raw("spec")
    if spec is not None and not isinstance(spec, Mapping):
        raise fields.error("spec", "expected a mapping")
    return dict(fields.mapping())


def _rules(generator: Fields, key: str) -> tuple[argo.GitPathRule, ...]:
    raw = generator.raw(key)
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise generator.error(key, "expected a list of {path: GLOB, exclude: BOOL}")
    rules = []
    for index, item in enumerate(raw):
        rule = Fields(item, generator.where, f"{generator.path}.{key}[{index}]")
        rules.append(argo.GitPathRule(path=rule.string("path"), exclude=rule.flag("exclude")))
    return tuple(rules)


def _git(generator: Fields) -> argo.GitGenerator:
    directories, files = _rules(generator, "directories"), _rules(generator, "files")
    if not directories and not files:
        raise generator.error("directories", "a git generator needs directories or files")
    if directories and files:
        raise generator.error("files", "a git generator takes directories or files, not both")
    return argo.GitGenerator(
        repo_url=generator.string("repoURL"),
        revision=generator.string("revision", "HEAD"),
        directories=directories,
        files=files,
        values=generator.str_map("values"),
        path_param_prefix=generator.string("pathParamPrefix", ""),
        template=_template(generator.sub("template")),
        path=generator.path,
    )


def _list(generator: Fields) -> argo.ListGenerator:
    raw = generator.raw("elements")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise generator.error("elements", "expected a list")
    elements = []
    for index, item in enumerate(raw):
        element = Fields(item, generator.where, f"{generator.path}.elements[{index}]")
        elements.append(dict(element.mapping()))
    return argo.ListGenerator(
        elements=tuple(elements),
        elements_yaml=generator.string("elementsYaml", ""),
        template=_template(generator.sub("template")),
        path=generator.path,
    )


def _children(generator: Fields, depth: int) -> tuple[argo.Generator, ...]:
    raw = generator.raw("generators")
    if not isinstance(raw, list):
        raise generator.error("generators", "expected a list")
    return tuple(_generator(Fields(item, generator.where, f"{generator.path}.generators[{index}]"), depth + 1)
                 for index, item in enumerate(raw))


def _generator(fields: Fields, depth: int = 0) -> argo.Generator:
    named = [key for key in list(fields.keys()) if key != "selector" and fields.raw(key) is not None]
    if len(named) != 1:
        found = ", ".join(named) or "none"
        raise ConfigError(f"{fields.where}: {fields.path}: expected exactly one generator "
                          f"({', '.join(GENERATORS)}), found {found}", key_path=fields.path)
    name = named[0]
    if fields.has("selector"):
        raise fields.error("selector", "generator selectors are not supported by imagebot")
    sub = fields.sub(name)
    assert sub is not None
    if name in UNSUPPORTED_GENERATORS:
        return argo.UnsupportedGenerator(name=name, path=sub.path, template=_template(sub.sub("template")))
    if name == "list":
        return _list(sub)
    if name == "git":
        return _git(sub)
    if name not in ("matrix", "merge"):
        raise fields.error(name, f"unknown generator (imagebot runs {', '.join(GENERATORS)})")
    if depth >= 2:
        raise fields.error(name, "matrix and merge generators nest at most one level (as Argo CD)")
    children = _children(sub, depth)
    if name == "matrix":
        if len(children) != 2:
            raise sub.error("generators", f"a matrix combines exactly two generators, found {len(children)}")
        return argo.MatrixGenerator(generators=children, template=_template(sub.sub("template")),
                                    path=sub.path)
    if len(children) < 2:
        raise sub.error("generators", f"a merge needs at least two generators, found {len(children)}")
    keys = sub.str_list("mergeKeys")
    if not keys:
        raise sub.error("mergeKeys", "a merge needs at least one merge key")
    return argo.MergeGenerator(generators=children, merge_keys=keys, template=_template(sub.sub("template")),
                               path=sub.path)


def _check_go(value: object, where: str, path: str) -> None:
    """Every string (and key) of the template must be a valid Go template."""
    if isinstance(value, str):
        try:
            gotemplate.convert(value, _ARGOCD)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {path}: {exc}", key_path=path) from None
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_go(str(key), where, path)
            _check_go(item, where, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_go(item, where, f"{path}[{index}]")


def _has_generator_template(generators: tuple[argo.Generator, ...]) -> bool:
    for generator in generators:
        if generator.template is not None:
            return True
        if isinstance(generator, argo.MatrixGenerator | argo.MergeGenerator) \
                and _has_generator_template(generator.generators):
            return True
    return False


def _missing_key_error(spec: Fields) -> bool:
    options = spec.str_list("goTemplateOptions") or ()
    for option in options:
        if option not in ("missingkey=error", "missingkey=default", "missingkey=zero", "missingkey=invalid"):
            raise spec.error("goTemplateOptions", f"unknown option {option!r} (Go's text/template takes "
                                                  "missingkey=default|invalid|zero|error)")
    return bool(options) and options[-1] == "missingkey=error"


def parse_application_set(doc: Fields) -> argo.ApplicationSet:
    key, _, _ = parse_metadata(doc)
    spec = doc.sub("spec", required=True)
    assert spec is not None
    raw = spec.raw("generators")
    if not isinstance(raw, list):
        raise spec.error("generators", "expected a list")
    generators = tuple(_generator(Fields(item, doc.where, f"spec.generators[{index}]"))
                       for index, item in enumerate(raw))
    template = spec.sub("template", required=True)
    assert template is not None
    go_template = spec.flag("goTemplate")
    patch = spec.opt_string("templatePatch")
    if go_template:
        _check_go(template.mapping(), doc.where, "spec.template")
        if patch is not None:
            _check_go(patch, doc.where, "spec.templatePatch")
    if patch is None and not _has_generator_template(generators):
        # the template must read as an Application once rendered: check its shape now, with the
        # placeholders as they are (a missing source or name is reported by `imagebot validate`)
        meta = template.sub_or_empty("metadata")
        name = meta.string("name")
        template_spec = template.sub("spec", required=True)
        assert template_spec is not None
        application_spec(ids.ObjectKey(key.namespace, name), template_spec, doc.where)
    policy = spec.sub_or_empty("syncPolicy")
    return argo.ApplicationSet(
        key=key,
        generators=generators,
        template=dict(template.mapping()),
        source_file=doc.where,
        go_template=go_template,
        missing_key_error=_missing_key_error(spec),
        template_patch=patch,
        preserve_resources_on_deletion=policy.flag("preserveResourcesOnDeletion"),
        applications_sync=policy.choice("applicationsSync", argo.APPLICATIONS_SYNC, "sync"),
    )
