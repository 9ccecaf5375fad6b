"""A test "kubelet": marks every Pod Running and Ready so real controllers finish rollouts.

    python3 testing/kubelet.py KUBECONFIG      (scripts/kube-up starts it; stdlib only)

Registers a Ready Node ``imagebot-test-node`` (DaemonSets need one), then polls all Pods every
0.2 s and patches ``pods/<name>/status`` of each new one. A Pod annotation steers it per test:
``kubelet.testing.imagebot.dev/mode: hold`` leaves the Pod Pending, ``crash`` reports a
container in CrashLoopBackOff. Nothing runs: images are never pulled.
"""

from __future__ import annotations

import base64
import json
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

MODE = "kubelet.testing.imagebot.dev/mode"
NODE = "imagebot-test-node"


def main(kubeconfig: str) -> None:
    config = json.loads(Path(kubeconfig).read_text())  # kube-up writes it as JSON
    cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
    with tempfile.NamedTemporaryFile("wb", suffix=".crt", delete=False) as ca:
        ca.write(base64.b64decode(cluster["certificate-authority-data"]))
    context = ssl.create_default_context(cafile=ca.name)

    def call(method: str, path: str, body: object = None, kind: str = "merge-patch") -> dict:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {user['token']}",
                   "Content-Type": f"application/{kind}+json" if kind != "json" else "application/json"}
        request = urllib.request.Request(cluster["server"] + path, data, headers, method=method)
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return json.load(response)

    ready = [{"type": "Ready", "status": "True"}]
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}}
    try:
        call("POST", "/api/v1/nodes", node, kind="json")
    except urllib.error.HTTPError as exc:
        if exc.code != 409:
            raise
    call("PATCH", f"/api/v1/nodes/{NODE}/status", {"status": {"conditions": ready}})
    while True:
        try:
            pods = call("GET", "/api/v1/pods")["items"]
        except OSError:  # the apiserver is busy or going down; kube-down stops us
            pods = []
        for pod in pods:
            meta, mode = pod["metadata"], pod["metadata"].get("annotations", {}).get(MODE, "run")
            want = {"run": "Running", "crash": "Running", "hold": "Pending"}.get(mode, "Running")
            if meta.get("deletionTimestamp") or pod.get("status", {}).get("phase") == want:
                continue
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            ok = "True" if mode == "run" else "False"
            crash = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting"}}
            containers = [{
                "name": c["name"], "image": c["image"], "imageID": "", "ready": ok == "True",
                "restartCount": 3 if mode == "crash" else 0, "started": ok == "True",
                "state": crash if mode == "crash" else {"running": {"startedAt": now}},
                **({"lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}} if mode == "crash" else {}),
            } for c in pod["spec"]["containers"]]
            status = {"phase": want, "conditions": [
                {"type": t, "status": ok if t in ("Ready", "ContainersReady") else "True",
                 "lastTransitionTime": now} for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ], "startTime": now, "containerStatuses": containers}
            if mode == "hold":
                status = {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}]}
            path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status"
            try:
                call("PATCH", path, {"status": status})
            except urllib.error.HTTPError as exc:
                if exc.code not in (404, 409, 422):  # deleted or changed meanwhile: next round
                    raise
            except OSError:
                pass
        time.sleep(0.2)


if __name__ == "__main__":
    main(sys.argv[1])
