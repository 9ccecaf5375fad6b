"""A stdlib Kubernetes API emulator on loopback, for fast tests of the sync engine's own logic.

:class:`KubeEmulator` serves discovery, GET/LIST/POST/PATCH/DELETE and the ``status``
subresource over plain HTTP with a bearer token, so the real ``kubernetes`` client (and imagebot's
adapter around it) runs unchanged against it. It keeps just enough of the apiserver's rules for
ordering, ownership, prune and diff tests: namespaces must exist, server-side apply tracks field
ownership per manager (conflicts, ``force``, removal of fields a manager stops applying; lists
keyed by ``name`` merge), ``dryRun=All``, ``generation`` bumps on spec changes, CRDs serve their
kind once applied, namespace deletion removes its objects. Workloads become ready, Jobs and
run-once Pods complete at once unless ``instant_ready=False`` (then tests set ``status``
themselves). ``fail(method, path_part, code)``
injects errors a real server will not produce on demand (5xx for retries).

It is not a real apiserver (no defaulting, no validation, no admission, no controllers beyond
the instant readiness): tests that need those run against ``scripts/kube-up`` (``testing.kube``).
Used by ``tests/sync`` and ``benchmarks/sync.py``.
"""

from __future__ import annotations

import base64
import copy
import datetime
import itertools
import json
import socket
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["KubeEmulator"]

TOKEN = "emulator-token"

# (group, version, kind, plural, namespaced)
_BUILTIN: tuple[tuple[str, str, str, str, bool], ...] = (
    ("", "v1", "Namespace", "namespaces", False),
    ("", "v1", "ConfigMap", "configmaps", True),
    ("", "v1", "Secret", "secrets", True),
    ("", "v1", "Service", "services", True),
    ("", "v1", "ServiceAccount", "serviceaccounts", True),
    ("", "v1", "Pod", "pods", True),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True),
    ("apps", "v1", "Deployment", "deployments", True),
    ("apps", "v1", "StatefulSet", "statefulsets", True),
    ("apps", "v1", "DaemonSet", "daemonsets", True),
    ("apps", "v1", "ReplicaSet", "replicasets", True),
    ("batch", "v1", "Job", "jobs", True),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", True),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False),
)
KUBELET_MODE = "kubelet.testing.imagebot.dev/mode"
"""The test kubelet's per-Pod annotation (``testing/kubelet.py``), honoured here for Jobs and Pods."""
_LIST_KEYS = ("name", "containerPort", "port", "mountPath", "ip")
_SYSTEM_META = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields")

Path_ = tuple[str, ...]


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def _leaves(node: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Field paths of ``node``; keyed list items appear as ``k:<json>`` segments."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _leaves(value, (*prefix, f"f:{key}"))
    elif isinstance(node, list) and node and all(isinstance(i, dict) and _item_key(i) for i in node):
        for item in node:
            yield from _leaves(item, (*prefix, f"k:{_item_key(item)}"))
    else:
        yield prefix


def _item_key(item: dict[str, Any]) -> str | None:
    for key in _LIST_KEYS:
        if key in item:
            return json.dumps({key: item[key]}, separators=(",", ":"))
    return None


def _lookup(node: Any, path: Path_) -> tuple[bool, Any]:
    for segment in path:
        if segment.startswith("f:") and isinstance(node, dict) and segment[2:] in node:
            node = node[segment[2:]]
        elif segment.startswith("k:") and isinstance(node, list):
            wanted = json.loads(segment[2:])
            found = [i for i in node if isinstance(i, dict) and all(i.get(k) == v for k, v in wanted.items())]
            if not found:
                return False, None
            node = found[0]
        else:
            return False, None
    return True, node


def _remove(node: Any, path: Path_) -> None:
    if not path:
        return
    *parents, last = path
    ok, parent = _lookup(node, tuple(parents))
    if not ok:
        return
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif last.startswith("k:") and isinstance(parent, list):
        wanted = json.loads(last[2:])
        parent[:] = [i for i in parent if not all(i.get(k) == v for k, v in wanted.items())]
    # prune containers left empty by the removal
    if parents and isinstance(parent, dict | list) and not parent:
        _remove(node, tuple(parents))


def _merge(live: Any, applied: Any) -> Any:
    if isinstance(live, dict) and isinstance(applied, dict):
        merged = dict(live)
        for key, value in applied.items():
            merged[key] = _merge(live[key], value) if key in live else copy.deepcopy(value)
        return merged
    if isinstance(live, list) and isinstance(applied, list) and applied and all(
            isinstance(i, dict) and _item_key(i) for i in applied) and all(
            isinstance(i, dict) and _item_key(i) for i in live):
        by_key = {_item_key(i): i for i in live}
        merged_items = [_merge(by_key[_item_key(i)], i) if _item_key(i) in by_key else copy.deepcopy(i)
                        for i in applied]
        applied_keys = {_item_key(i) for i in applied}
        return merged_items + [i for i in live if _item_key(i) not in applied_keys]
    return copy.deepcopy(applied)


def _fields_v1(paths: set[Path_]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for segment in path:
            node = node.setdefault(segment, {})
    return tree


class _Resource:
    def __init__(self, group: str, version: str, kind: str, plural: str, namespaced: bool) -> None:
        self.group, self.version, self.kind, self.plural, self.namespaced = group, version, kind, plural, namespaced

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


class KubeEmulator:
    """``with KubeEmulator(tmp_path) as api: ... api.kubeconfig ...`` — see the module docstring."""

    def __init__(self, directory: Path, *, instant_ready: bool = True) -> None:
        self.directory = directory
        self.instant_ready = instant_ready
        self._lock = threading.RLock()
        self._resources: dict[tuple[str, str], _Resource] = {}
        for spec in _BUILTIN:
            self._add(_Resource(*spec))
        self._objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}  # (group, plural, ns, name)
        self._owners: dict[tuple[str, str, str, str], dict[tuple[str, str], set[Path_]]] = {}
        self._versions = itertools.count(1)
        self._faults: list[tuple[str, str, int, int]] = []
        self.requests: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> KubeEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # headers and body go out in two writes: without this, Nagle + delayed ACK
                # add 40 ms to every request (Go's net/http, the real apiserver, sets it too)
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self) -> None:
                emulator._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "emulator",
            "clusters": [{"name": "emulator", "cluster": {"server": self.server}}],
            "users": [{"name": "admin", "user": {"token": TOKEN}}],
            "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "admin"}}],
        }))

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def server(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "emulator.kubeconfig"

    def fail(self, method: str, path_part: str, code: int, *, times: int = 1) -> None:
        """The next ``times`` requests whose path contains ``path_part`` answer ``code``."""
        self._faults.append((method.upper(), path_part, code, times))

    # -- direct access for tests (no HTTP) -------------------------------------------------------

    def request(self, method: str, path: str, body: object = None, *,
                content_type: str = "application/json", manager: str = "test") -> dict[str, Any]:
        """What an HTTP request would answer; raises :class:`ApiError` on an error status."""
        url = urllib.parse.urlsplit(path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        query.setdefault("fieldManager", manager)
        with self._lock:
            return self._dispatch(method, url.path, query, body, content_type)

    def get(self, path: str) -> dict[str, Any]:
        return self.request("GET", path)

    # -- HTTP ------------------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(handler.path)
        method = handler.command
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        self.requests.append((method, url.path))
        try:
            if handler.headers.get("Authorization", "").lower() != f"bearer {TOKEN}":
                raise ApiError(401, "Unauthorized", "Unauthorized")
            for index, (m, part, code, times) in enumerate(self._faults):
                if m == method and part in url.path:
                    self._faults[index] = (m, part, code, times - 1)
                    if times - 1 <= 0:
                        del self._faults[index]
                    raise ApiError(code, "InternalError", f"injected failure {code}")
            body = json.loads(raw) if raw else None
            query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
            with self._lock:
                result = self._dispatch(method, url.path.rstrip("/") or "/", query, body,
                                        handler.headers.get("Content-Type", ""))
            status, payload = 200, result
        except ApiError as exc:
            status = exc.code
            payload = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": exc.message, "reason": exc.reason, "code": exc.code}
        except json.JSONDecodeError as exc:
            status = 400
            payload = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 400,
                       "reason": "BadRequest", "message": f"invalid JSON: {exc}"}
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    # -- routing ---------------------------------------------------------------------------------

    def _add(self, resource: _Resource) -> None:
        self._resources[(resource.group, resource.plural)] = resource

    def _discovery(self, path: str) -> dict[str, Any] | None:
        if path == "/version":
            return {"major": "1", "minor": "20", "gitVersion": "v1.20.2-emulator"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"]}
        groups = sorted({(r.group, r.version) for r in self._resources.values() if r.group})
        if path == "/apis":
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                 "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v}} for g, v in groups]}
        parts = path.strip("/").split("/")
        if parts == ["api", "v1"] or (len(parts) == 3 and parts[0] == "apis"):
            group, version = ("", "v1") if parts[0] == "api" else (parts[1], parts[2])
            listed = [r for r in self._resources.values() if (r.group, r.version) == (group, version)]
            if not listed:
                raise ApiError(404, "NotFound", f"the server could not find the requested resource {path}")
            resources = []
            for r in listed:
                verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
                resources.append({"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced,
                                  "kind": r.kind, "verbs": verbs})
                resources.append({"name": f"{r.plural}/status", "singularName": "", "namespaced": r.namespaced,
                                  "kind": r.kind, "verbs": ["get", "patch", "update"]})
            return {"kind": "APIResourceList", "apiVersion": "v1",
                    "groupVersion": f"{group}/{version}" if group else version, "resources": resources}
        if len(parts) == 2 and parts[0] == "apis":
            versions = [v for g, v in groups if g == parts[1]]
            if versions:
                return {"kind": "APIGroup", "name": parts[1],
                        "versions": [{"groupVersion": f"{parts[1]}/{v}", "version": v} for v in versions]}
        return None

    def _dispatch(self, method: str, path: str, query: dict[str, str], body: Any, content_type: str) -> Any:
        if method == "GET":
            found = self._discovery(path)
            if found is not None:
                return found
        parts = path.strip("/").split("/")
        if parts[0] == "api":
            group, rest = "", parts[2:]
        elif parts[0] == "apis" and len(parts) > 3:
            group, rest = parts[1], parts[3:]
        else:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource {path}")
        namespace = ""
        if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) != 2:
            namespace, rest = rest[1], rest[2:]
        plural, name, sub = rest[0], rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else ""
        resource = self._resources.get((group, plural))
        if resource is None:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource {path}")
        key = (group, plural, namespace, name)
        dry_run = query.get("dryRun") == "All"
        if method == "GET":
            if not name:
                return self._list(resource, namespace, query.get("labelSelector", ""))
            return self._read(key, resource)
        if method == "DELETE":
            return self._delete(key, resource)
        if method == "POST":
            return self._create(resource, namespace, body, query, dry_run)
        if method == "PATCH" and "apply-patch" in content_type:
            if sub == "status":
                return self._status(key, resource, body)
            return self._apply(resource, key, body, query.get("fieldManager", ""),
                               force=query.get("force") in ("true", "True"), dry_run=dry_run)
        if method == "PATCH" or (method == "PUT" and sub == "status"):
            if sub == "status":
                return self._status(key, resource, body)
            return self._merge_patch(resource, key, body, query.get("fieldManager", "kubectl-edit"), dry_run)
        raise ApiError(405, "MethodNotAllowed", f"{method} {path} is not supported by the emulator")

    # -- operations ------------------------------------------------------------------------------

    def _read(self, key: tuple[str, str, str, str], resource: _Resource) -> dict[str, Any]:
        obj = self._objects.get(key)
        if obj is None:
            group = f"{resource.plural}.{resource.group}" if resource.group else resource.plural
            raise ApiError(404, "NotFound", f'{group} "{key[3]}" not found')
        return self._with_managed_fields(key, obj)

    def _with_managed_fields(self, key: tuple[str, str, str, str], obj: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(obj)
        out["metadata"]["managedFields"] = [
            {"manager": manager, "operation": operation, "apiVersion": obj["apiVersion"],
             "fieldsType": "FieldsV1", "fieldsV1": _fields_v1(paths)}
            for (manager, operation), paths in sorted(self._owners.get(key, {}).items()) if paths
        ]
        return out

    def _list(self, resource: _Resource, namespace: str, selector: str) -> dict[str, Any]:
        wanted = dict(part.split("=", 1) for part in selector.split(",") if "=" in part)
        items = [self._with_managed_fields(k, o) for k, o in sorted(self._objects.items())
                 if k[:2] == (resource.group, resource.plural) and (not namespace or k[2] == namespace)
                 and all((o["metadata"].get("labels") or {}).get(a) == b for a, b in wanted.items())]
        return {"kind": f"{resource.kind}List", "apiVersion": resource.api_version,
                "metadata": {"resourceVersion": str(next(self._versions))}, "items": items}

    def _check_namespace(self, resource: _Resource, namespace: str) -> None:
        if resource.namespaced and ("", "namespaces", "", namespace) not in self._objects:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found')

    def _create(self, resource: _Resource, namespace: str, body: Any, query: dict[str, str],
                dry_run: bool) -> dict[str, Any]:
        name = body["metadata"]["name"]
        key = (resource.group, resource.plural, namespace, name)
        if key in self._objects:
            raise ApiError(409, "AlreadyExists", f'{resource.plural} "{name}" already exists')
        return self._merge_patch(resource, key, body, query.get("fieldManager", "kubectl-create"), dry_run,
                                 create=True)

    def _store(self, resource: _Resource, key: tuple[str, str, str, str], obj: dict[str, Any],
               owners: dict[tuple[str, str], set[Path_]], dry_run: bool) -> dict[str, Any]:
        before = self._objects.get(key)
        if resource.kind == "Secret" and obj.get("stringData"):  # the apiserver stores stringData as data
            data = obj.setdefault("data", {})
            for name, value in obj.pop("stringData").items():
                data[name] = base64.b64encode(str(value).encode()).decode()
        meta = obj.setdefault("metadata", {})
        meta["name"] = key[3]
        if resource.namespaced:
            meta["namespace"] = key[2]
        obj["apiVersion"], obj["kind"] = resource.api_version, resource.kind
        for field in _SYSTEM_META:
            meta.pop(field, None)
        if before is None:
            meta.update(uid=str(uuid.uuid4()), generation=1,
                        creationTimestamp=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        else:
            keep = {k: before["metadata"][k] for k in ("uid", "generation", "creationTimestamp")}
            meta.update(keep)
            if "status" in before:
                obj["status"] = before["status"]
            changed = {k: v for k, v in obj.items() if k not in ("metadata", "status")} != {
                k: v for k, v in before.items() if k not in ("metadata", "status")}
            if changed:
                meta["generation"] = before["metadata"]["generation"] + 1
        unchanged = before is not None and {k: v for k, v in obj.items() if k != "metadata"} == {
            k: v for k, v in before.items() if k != "metadata"} and {
            k: v for k, v in meta.items() if k != "resourceVersion"} == {
            k: v for k, v in before["metadata"].items() if k != "resourceVersion"} and owners == self._owners.get(key)
        meta["resourceVersion"] = before["metadata"]["resourceVersion"] if unchanged and before else str(
            next(self._versions))
        if not dry_run:
            self._objects[key] = obj
            self._owners[key] = owners
            self._react(resource, key, obj)
        out = copy.deepcopy(obj)
        out["metadata"]["managedFields"] = [
            {"manager": m, "operation": op, "apiVersion": obj["apiVersion"], "fieldsType": "FieldsV1",
             "fieldsV1": _fields_v1(p)} for (m, op), p in sorted(owners.items()) if p]
        return out

    def _apply(self, resource: _Resource, key: tuple[str, str, str, str], body: Any, manager: str, *,
               force: bool, dry_run: bool) -> dict[str, Any]:
        if not manager:
            raise ApiError(422, "Invalid", "fieldManager is required for apply requests")
        self._check_namespace(resource, key[2])
        applied = copy.deepcopy(body)
        for field in _SYSTEM_META:
            applied.get("metadata", {}).pop(field, None)
        applied.pop("status", None)
        live = self._objects.get(key)
        owners = {k: set(v) for k, v in self._owners.get(key, {}).items()}
        new_paths = {p for p in _leaves(applied) if p[:1] != ("f:apiVersion",) and p[:1] != ("f:kind",)}
        conflicts = []
        if live is not None:
            for (other, _operation), paths in owners.items():
                if other == manager:
                    continue
                for path in paths & new_paths:
                    ok, value = _lookup(live, path)
                    if ok and value != _lookup(applied, path)[1]:
                        conflicts.append((other, path))
        if conflicts and not force:
            detail = "; ".join(f'conflict with "{m}": .{".".join(s[2:] for s in p)}' for m, p in conflicts)
            raise ApiError(409, "Conflict", f"Apply failed with {len(conflicts)} conflict(s): {detail}")
        result = copy.deepcopy(live) if live is not None else {}
        previous = owners.get((manager, "Apply"), set())
        others = set().union(*(p for k, p in owners.items() if k != (manager, "Apply"))) if owners else set()
        for path in previous - new_paths - others:
            _remove(result, path)
        result = _merge(result, applied)
        for owner_key in list(owners):
            if owner_key != (manager, "Apply"):
                owners[owner_key] -= new_paths
        owners[(manager, "Apply")] = new_paths
        owners = {k: v for k, v in owners.items() if v}
        return self._store(resource, key, result, owners, dry_run)

    def _merge_patch(self, resource: _Resource, key: tuple[str, str, str, str], body: Any, manager: str,
                     dry_run: bool, *, create: bool = False) -> dict[str, Any]:
        self._check_namespace(resource, key[2])
        live = self._objects.get(key)
        if live is None and not create:
            raise ApiError(404, "NotFound", f'{resource.plural} "{key[3]}" not found')
        patch = copy.deepcopy(body)
        result = _merge(copy.deepcopy(live or {}), patch)
        owners = {k: set(v) for k, v in self._owners.get(key, {}).items()}
        touched = {p for p in _leaves(patch) if p[:1] not in (("f:apiVersion",), ("f:kind",))}
        for owner_key in owners:
            owners[owner_key] -= touched
        owners[(manager, "Update")] = owners.get((manager, "Update"), set()) | touched
        return self._store(resource, key, result, {k: v for k, v in owners.items() if v}, dry_run)

    def _status(self, key: tuple[str, str, str, str], resource: _Resource, body: Any) -> dict[str, Any]:
        obj = self._objects.get(key)
        if obj is None:
            raise ApiError(404, "NotFound", f'{resource.plural} "{key[3]}" not found')
        obj["status"] = copy.deepcopy(body.get("status", {}))
        obj["metadata"]["resourceVersion"] = str(next(self._versions))
        return self._with_managed_fields(key, obj)

    def _delete(self, key: tuple[str, str, str, str], resource: _Resource) -> dict[str, Any]:
        obj = self._read(key, resource)
        del self._objects[key]
        self._owners.pop(key, None)
        if resource.plural == "namespaces":
            for other in [k for k in self._objects if k[2] == key[3]]:
                del self._objects[other]
                self._owners.pop(other, None)
        if resource.plural == "customresourcedefinitions":
            spec = obj.get("spec", {})
            self._resources.pop((spec.get("group", ""), spec.get("names", {}).get("plural", "")), None)
        return {"kind": "Status", "apiVersion": "v1", "status": "Success", "details": {"name": key[3]}}

    def _react(self, resource: _Resource, key: tuple[str, str, str, str], obj: dict[str, Any]) -> None:
        """The few controller effects tests rely on: CRDs establish, workloads become ready."""
        if resource.plural == "customresourcedefinitions":
            spec = obj.get("spec", {})
            names = spec.get("names", {})
            for version in spec.get("versions", [{"name": "v1"}]):
                self._add(_Resource(spec.get("group", ""), version["name"], names.get("kind", ""),
                                    names.get("plural", ""), spec.get("scope") != "Cluster"))
            obj["status"] = {"conditions": [{"type": "Established", "status": "True"},
                                            {"type": "NamesAccepted", "status": "True"}]}
        elif resource.plural == "deployments" and self.instant_ready:
            replicas = obj.get("spec", {}).get("replicas", 1)
            obj["status"] = {
                "observedGeneration": obj["metadata"]["generation"], "replicas": replicas,
                "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                               {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}],
            }
        elif resource.plural == "namespaces":
            obj["status"] = {"phase": "Active"}
        elif resource.plural in ("jobs", "pods") and self.instant_ready and "status" not in obj:
            self._run_to_completion(resource, obj)

    @staticmethod
    def _run_to_completion(resource: _Resource, obj: dict[str, Any]) -> None:
        """Jobs and run-once Pods finish at once, as the test kubelet and the job controller make them:
        ``kubelet.testing.imagebot.dev/mode: fail`` (on the Pod or the Job's template) fails them,
        ``hold`` leaves them running."""
        spec = obj.get("spec", {})
        pod = spec.get("template", {}) if resource.plural == "jobs" else obj
        mode = pod.get("metadata", {}).get("annotations", {}).get(KUBELET_MODE, "run")
        if mode == "hold" or (resource.plural == "pods" and pod.get("spec", {}).get("restartPolicy",
                                                                                       "Always") == "Always"):
            return
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if resource.plural == "pods":
            obj["status"] = {"phase": "Failed" if mode == "fail" else "Succeeded", "startTime": now}
        elif mode == "fail":
            obj["status"] = {"failed": 1, "startTime": now, "conditions": [
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit"}]}
        else:
            obj["status"] = {"succeeded": 1, "startTime": now, "completionTime": now,
                             "conditions": [{"type": "Complete", "status": "True"}]}
