"""Synthetic container images as bytes: config and layer blobs, manifests, indexes.

Pure functions, no I/O. :mod:`testing.pusher` uploads what these build. The registry (2.8)
never unpacks layers, so a layer is any bytes; what matters to a scanner is the manifest
bytes (their sha256 is the digest) and the config blob (``created``, labels).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "ATTESTATION_PLATFORM",
    "DOCKER_CONFIG",
    "DOCKER_LAYER",
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "MANIFEST_ACCEPT",
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_MANIFEST",
    "Blob",
    "Format",
    "Image",
    "Index",
    "Manifest",
    "Platform",
    "build_image",
    "build_index",
    "digest_of",
]

Format = Literal["oci", "docker"]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

#: The Accept header a scanner should send (registry-protocol.md §9.2).
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))

_MEDIA: Mapping[Format, tuple[str, str, str, str]] = {
    # manifest, index, config, layer
    "oci": (OCI_MANIFEST, OCI_INDEX, OCI_CONFIG, OCI_LAYER),
    "docker": (DOCKER_MANIFEST, DOCKER_LIST, DOCKER_CONFIG, DOCKER_LAYER),
}


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _canonical(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Blob:
    """Bytes plus the media type they are referenced with."""

    data: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return digest_of(self.data)

    def descriptor(self) -> dict[str, object]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}


@dataclass(frozen=True, slots=True)
class Platform:
    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None

    def as_json(self) -> dict[str, str]:
        out = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out


#: The platform BuildKit gives attestation manifests inside an index.
ATTESTATION_PLATFORM = Platform(os="unknown", architecture="unknown")


@dataclass(frozen=True, slots=True)
class Manifest:
    """A manifest or index exactly as it will be PUT: its digest is sha256 of ``data``."""

    data: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return digest_of(self.data)


@dataclass(frozen=True, slots=True)
class Image:
    """One single-platform image: the blobs to upload first, then the manifest."""

    config: Blob
    layers: tuple[Blob, ...]
    manifest: Manifest
    platform: Platform

    @property
    def blobs(self) -> tuple[Blob, ...]:
        return (self.config, *self.layers)

    @property
    def digest(self) -> str:
        return self.manifest.digest


@dataclass(frozen=True, slots=True)
class Index:
    """A multi-platform index (OCI) or manifest list (Docker) with its children."""

    children: tuple[Image, ...]
    manifest: Manifest

    @property
    def digest(self) -> str:
        return self.manifest.digest


@dataclass(frozen=True, slots=True)
class _Annotated:
    image: Image
    annotations: Mapping[str, str] = field(default_factory=dict)


def build_image(
    *,
    fmt: Format = "oci",
    created: str = "2024-01-01T00:00:00Z",
    labels: Mapping[str, str] | None = None,
    platform: Platform = Platform(),
    layer: bytes = b"imagebot testbed layer\n",
    annotations: Mapping[str, str] | None = None,
) -> Image:
    """Build a synthetic image.

    Two calls with different ``labels`` (or ``created``) give different config blobs and so
    different manifest digests; the layer is shared unless ``layer`` differs::

        image = build_image(labels={"org.opencontainers.image.version": "1.2.0"})
        image.digest  # "sha256:..."
    """
    manifest_type, _, config_type, layer_type = _MEDIA[fmt]
    config_doc = {
        **platform.as_json(),
        "created": created,
        "config": {"Labels": dict(labels or {})},
        "rootfs": {"type": "layers", "diff_ids": [digest_of(layer)]},
        "history": [{"created": created, "created_by": "imagebot testbed"}],
    }
    config = Blob(_canonical(config_doc), config_type)
    layer_blob = Blob(layer, layer_type)
    document: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": config.descriptor(),
        "layers": [layer_blob.descriptor()],
    }
    if annotations and fmt == "oci":
        document["annotations"] = dict(annotations)
    return Image(config, (layer_blob,), Manifest(_canonical(document), manifest_type), platform)


def build_index(
    platforms: Sequence[Platform] = (Platform("linux", "amd64"), Platform("linux", "arm64", "v8")),
    *,
    fmt: Format = "oci",
    created: str = "2024-01-01T00:00:00Z",
    labels: Mapping[str, str] | None = None,
    attestation: bool = False,
) -> Index:
    """Build an index of one image per platform.

    ``attestation=True`` (OCI only) adds a BuildKit-style ``unknown/unknown`` entry annotated
    ``vnd.docker.reference.type=attestation-manifest``, as ``docker buildx`` pushes.
    """
    manifest_type, index_type, _, _ = _MEDIA[fmt]
    entries = [
        _Annotated(
            build_image(
                fmt=fmt,
                created=created,
                labels=labels,
                platform=p,
                layer=f"layer for {p.os}/{p.architecture}/{p.variant or ''}\n".encode(),
            )
        )
        for p in platforms
    ]
    if attestation:
        if fmt != "oci":
            raise ValueError("attestation manifests only exist in OCI indexes")
        subject = entries[0].image.digest
        entries.append(
            _Annotated(
                build_image(
                    fmt="oci",
                    created=created,
                    platform=ATTESTATION_PLATFORM,
                    layer=b'{"_type": "https://in-toto.io/Statement/v0.1"}\n',
                ),
                {
                    "vnd.docker.reference.digest": subject,
                    "vnd.docker.reference.type": "attestation-manifest",
                },
            )
        )
    manifests: list[dict[str, object]] = []
    for entry in entries:
        descriptor: dict[str, object] = {
            "mediaType": manifest_type,
            "digest": entry.image.digest,
            "size": len(entry.image.manifest.data),
            "platform": entry.image.platform.as_json(),
        }
        if entry.annotations:
            descriptor["annotations"] = dict(entry.annotations)
        manifests.append(descriptor)
    document = {"schemaVersion": 2, "mediaType": index_type, "manifests": manifests}
    return Index(
        tuple(e.image for e in entries), Manifest(_canonical(document), index_type)
    )
