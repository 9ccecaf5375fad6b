"""Flux notification-controller objects (``Receiver``, ``Provider``, ``Alert``) from raw YAML.

Called by :mod:`imagebot.config._loader`; only the fields imagebot acts on are read, the rest of
a Flux object is accepted and ignored, so the objects a cluster runs work here unchanged.
"""

from __future__ import annotations

from imagebot.config._fields import Fields
from imagebot.config._flux import parse_metadata
from imagebot.model import notification

__all__ = ["parse_alert", "parse_provider", "parse_receiver"]

_RECEIVER_TYPES: tuple[notification.ReceiverType, ...] = (
    "generic", "generic-hmac", "github", "dockerhub", "harbor", "quay")


def _sources(
    spec: Fields, key: str, namespace: str, kinds: tuple[str, ...],
) -> tuple[notification.EventSource, ...]:
    raw = spec.raw(key)
    if not isinstance(raw, list) or not raw:
        raise spec.error(key, "must be a non-empty list of {kind, name} references")
    found = []
    for index, item in enumerate(raw):
        ref = Fields(item, spec.where, f"{spec.path}.{key}[{index}]" if spec.path else f"{key}[{index}]")
        kind = ref.string("kind")
        if kind not in kinds:
            raise ref.error("kind", f"must be one of {', '.join(kinds)}, got {kind!r}")
        found.append(notification.EventSource(kind, ref.string("name"), ref.string("namespace", namespace),
                                              ref.str_map("matchLabels")))
    return tuple(found)


def parse_receiver(doc: Fields) -> notification.Receiver:
    key, _, _ = parse_metadata(doc)
    spec = doc.sub("spec", required=True)
    assert spec is not None
    kind = spec.string("type")
    if kind not in _RECEIVER_TYPES:
        raise spec.error("type", f"imagebot handles {', '.join(_RECEIVER_TYPES)}, got {kind!r}")
    secret = spec.sub("secretRef", required=True)
    assert secret is not None
    return notification.Receiver(
        key=key, type=next(t for t in _RECEIVER_TYPES if t == kind), secret_ref=secret.string("name"),
        resources=_sources(spec, "resources", key.namespace,
                           ("ImageRepository", "GitRepository", "Application", "Kustomization")),
        events=spec.str_list("events") or (), suspend=spec.flag("suspend"), source=doc.where,
    )


def parse_provider(doc: Fields) -> notification.Provider:
    key, _, _ = parse_metadata(doc)
    spec = doc.sub("spec", required=True)
    assert spec is not None
    kind = spec.choice("type", ("generic", "generic-hmac", "slack"), "generic")
    secret = spec.sub("secretRef")
    address = spec.opt_string("address")
    if address is None and secret is None:
        raise spec.error("address", "is required (or a secretRef with an 'address' key)")
    return notification.Provider(
        key=key, type="slack" if kind == "slack" else "generic-hmac" if kind == "generic-hmac" else "generic",
        address=address, secret_ref=secret.string("name") if secret else None,
        channel=spec.opt_string("channel"), username=spec.opt_string("username"),
        suspend=spec.flag("suspend"), source=doc.where,
    )


def parse_alert(doc: Fields) -> notification.Alert:
    key, _, _ = parse_metadata(doc)
    spec = doc.sub("spec", required=True)
    assert spec is not None
    provider = spec.sub("providerRef", required=True)
    assert provider is not None
    severity = spec.choice("eventSeverity", ("info", "error"), "info")
    return notification.Alert(
        key=key, provider=key.__class__(key.namespace, provider.string("name")),
        event_sources=_sources(spec, "eventSources", key.namespace,
                               ("ImageRepository", "ImagePolicy", "ImageUpdateAutomation", "Application",
                                "ApplicationSet", "Kustomization")),
        severity="error" if severity == "error" else "info",
        exclusion_list=spec.str_list("exclusionList") or (), summary=spec.string("summary", ""),
        suspend=spec.flag("suspend"), source=doc.where,
    )
