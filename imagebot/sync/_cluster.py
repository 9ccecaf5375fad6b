"""The Kubernetes API, through the official client's dynamic client — its only import site.

:class:`KubernetesCluster` gets, applies (server-side apply, field manager ``imagebot``), dry-runs
and deletes objects of any served kind; discovery is cached and refreshed after a CRD is applied
or when a kind is not found. Every client exception leaves as an :mod:`imagebot.errors` error
naming the object: :class:`ClusterUnavailable` (connection, 5xx, 429), :class:`ApplyConflict`
(409 on apply) and :class:`ClusterError` (other 4xx). Built by :func:`connect` in the commands.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagebot.errors import ApplyConflict, ClusterError, ClusterUnavailable, ConfigError
from imagebot.model.cluster import ObjectRef

if TYPE_CHECKING:  # the client is imported on connect: serve without Applications needs none
    from kubernetes import client as kube_client
    from kubernetes.client.exceptions import ApiException

__all__ = ["FIELD_MANAGER", "KubernetesCluster", "connect"]

logger = logging.getLogger("imagebot.sync")

FIELD_MANAGER = "imagebot"
_TIMEOUT = 30


def connect(kubeconfig: Path, *, context: str | None = None) -> KubernetesCluster:
    """A client for ``context`` (``None``: the current one) of ``kubeconfig``."""
    try:
        from kubernetes import client as kube_client
        from kubernetes import config as kube_config
        from kubernetes.config.config_exception import ConfigException
    except ImportError:
        raise ConfigError("syncing to a cluster needs the Kubernetes client: "
                          "install imagebot with the sync extra (pip install 'imagebot[sync]')") from None
    configuration = kube_client.Configuration()
    try:
        kube_config.load_kube_config(config_file=str(kubeconfig), context=context,
                                     client_configuration=configuration, persist_config=False)
    except (ConfigException, OSError, ValueError) as exc:
        raise ConfigError(f"kubeconfig {kubeconfig}: {exc}") from None
    configuration.retries = 1  # imagebot's own retry policy decides; a dead server fails fast
    return KubernetesCluster(kube_client.ApiClient(configuration), name=context or "current context")


@contextlib.contextmanager
def _translated(what: str, server: str) -> Iterator[None]:
    import urllib3
    from kubernetes.client.exceptions import ApiException

    try:
        yield
    except ApiException as exc:
        message = _message(exc)
        if exc.status in (429,) or (exc.status or 0) >= 500:
            raise ClusterUnavailable(f"{what}: the API server answered {exc.status}: {message}",
                                     delay=5.0) from None
        if exc.status == 409 and "conflict" in message.lower():
            raise ApplyConflict(f"{what}: {message}") from None
        raise ClusterError(f"{what}: {exc.status} {message}") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise ClusterUnavailable(f"{what}: cannot reach the API server {server}: {type(exc).__name__}",
                                 delay=5.0) from None


def _message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        return str(exc.reason)
    return str(body.get("message") or exc.reason) if isinstance(body, dict) else str(exc.reason)


def _decode(response: Any) -> dict[str, Any]:
    # the raw answer, not the client's ResourceInstance wrapper: a third of the CPU per request
    decoded = json.loads(response.data)
    if not isinstance(decoded, dict):
        raise ClusterError(f"the API server answered {type(decoded).__name__}, not an object")
    return decoded


class KubernetesCluster:
    """One API server. ``apply(body)`` is server-side apply as field manager ``imagebot``::

        cluster = connect(Path("~/.kube/config").expanduser())
        live = cluster.apply(deployment)                  # create or update
        cluster.apply(deployment, dry_run=True)           # what the server would make of it
        cluster.delete(ObjectRef("apps/v1", "Deployment", "shop", "web"))
    """

    def __init__(self, api: kube_client.ApiClient, *, name: str) -> None:
        self.name = name
        self._api = api
        self.server = str(api.configuration.host)
        handle, self._cache = tempfile.mkstemp(prefix="imagebot-discovery-", suffix=".json")
        os.close(handle)
        os.unlink(self._cache)
        from kubernetes import dynamic

        with _translated("discovery", self.server):
            self._client = dynamic.DynamicClient(api, cache_file=self._cache)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self._cache)
        self._api.close()

    def refresh(self) -> None:
        """Forget discovery (after a CRD was applied: its kind is served from now on)."""
        with _translated("discovery", self.server):
            self._client.resources.invalidate_cache()

    def _resource(self, api_version: str, kind: str) -> Any | None:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        for attempt in range(2):
            try:
                with _translated(f"discovery of {kind}", self.server):
                    return self._client.resources.get(api_version=api_version, kind=kind)
            except ResourceNotFoundError:
                if attempt == 0:
                    self.refresh()
        return None

    def namespaced(self, api_version: str, kind: str) -> bool | None:
        """Whether the kind is namespaced; ``None`` when the server does not serve it."""
        resource = self._resource(api_version, kind)
        return None if resource is None else bool(resource.namespaced)

    def _served(self, ref: ObjectRef) -> Any:
        resource = self._resource(ref.api_version, ref.kind)
        if resource is None:
            raise ClusterError(f"{ref}: the API server does not serve {ref.api_version} {ref.kind} "
                               "(is its CRD installed?)")
        return resource

    def get(self, ref: ObjectRef) -> dict[str, Any] | None:
        """The live object, or ``None`` when it does not exist."""
        resource = self._served(ref)
        try:
            with _translated(str(ref), self.server):
                found = self._client.get(resource, name=ref.name, namespace=ref.namespace or None,
                                         _request_timeout=_TIMEOUT, serialize=False)
        except ClusterError as exc:
            if " 404 " in f" {exc} ".replace(":", " "):
                return None
            raise
        return _decode(found)

    def apply(self, body: Mapping[str, Any], *, dry_run: bool = False, force: bool = False) -> dict[str, Any]:
        """Server-side apply of ``body``; the object as the server stored it (or would)."""
        metadata = body.get("metadata") or {}
        ref = ObjectRef(str(body.get("apiVersion")), str(body.get("kind")),
                        str(metadata.get("namespace", "")), str(metadata.get("name")))
        resource = self._served(ref)
        extra = {"dry_run": "All"} if dry_run else {}
        with _translated(str(ref), self.server):
            result = self._client.server_side_apply(
                resource, body=dict(body), name=ref.name, namespace=ref.namespace or None,
                field_manager=FIELD_MANAGER, force_conflicts=force, _request_timeout=_TIMEOUT,
                serialize=False, **extra,
            )
        return _decode(result)

    def delete(self, ref: ObjectRef, *, propagation: str = "Foreground") -> bool:
        """Delete the object; ``False`` when it was already gone."""
        resource = self._served(ref)
        try:
            with _translated(str(ref), self.server):
                self._client.delete(resource, name=ref.name, namespace=ref.namespace or None,
                                    propagation_policy=propagation, _request_timeout=_TIMEOUT,
                                    serialize=False)
        except ClusterError as exc:
            if " 404 " in f" {exc} ".replace(":", " "):
                return False
            raise
        return True
