"""A test "kubelet": marks every Pod Running and Ready so real controllers finish rollouts.

    python3 testing/kubelet.py KUBECONFIG      (scripts/kube-up starts it; stdlib only)

Registers a Ready Node ``imagebot-test-node`` (DaemonSets need one), then polls all Pods every
0.2 s and patches ``pods/<name>/status`` of each new one. A Pod annotation steers it per test:
``kubelet.testing.imagebot.dev/mode: hold`` leaves the Pod Pending, ``crash`` reports a
container in CrashLoopBackOff. Nothing runs: images are never pulled.

Run-once Pods (``restartPolicy`` Never or OnFailure: a Job's, a hook's) run to completion:
``Succeeded`` with exit code 0, or ``Failed`` with exit code 1 under ``mode: fail``; with
``kubelet.testing.imagebot.dev/run-seconds: N`` they are Running for N seconds first. The real
job controller then marks their Job Complete or Failed. Every status written is appended to
``events.jsonl`` beside KUBECONFIG (``{"seq", "namespace", "pod", "phase"}``), so a test can
see in which order Pods ran.
"""

from __future__ import annotations

import base64
import calendar
import json
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

MODE = "kubelet.testing.imagebot.dev/mode"
RUN_SECONDS = "kubelet.testing.imagebot.dev/run-seconds"
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
    events = Path(kubeconfig).parent / "events.jsonl"
    seq = 0
    while True:
        try:
            pods = call("GET", "/api/v1/pods")["items"]
        except OSError:  # the apiserver is busy or going down; kube-down stops us
            pods = []
        for pod in pods:
            meta = pod["metadata"]
            status = _next_status(pod)
            if status is None:
                continue
            path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status"
            try:
                call("PATCH", path, {"status": status})
            except urllib.error.HTTPError as exc:
                if exc.code not in (404, 409, 422):  # deleted or changed meanwhile: next round
                    raise
                continue
            except OSError:
                continue
            seq += 1
            with events.open("a") as log:
                log.write(json.dumps({"seq": seq, "namespace": meta["namespace"], "pod": meta["name"],
                                      "phase": status["phase"]}) + "\n")
        time.sleep(0.2)


def _next_status(pod: dict[str, Any]) -> dict[str, Any] | None:
    meta, mode = pod["metadata"], pod["metadata"].get("annotations", {}).get(MODE, "run")
    want = {"run": "Running", "crash": "Running", "hold": "Pending"}.get(mode, "Running")
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if meta.get("deletionTimestamp"):
        return None
    if pod["spec"].get("restartPolicy", "Always") != "Always" and mode != "hold":
        return _run_once(pod, mode, now)
    if pod.get("status", {}).get("phase") == want:
        return None
    return _serve(pod, mode, want, now)


def _serve(pod: dict[str, Any], mode: str, want: str, now: str) -> dict[str, Any]:
    """The status of a long-running Pod: Running and Ready, crash-looping, or held Pending."""
    if mode == "hold":
        return {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}]}
    ok = "True" if mode == "run" else "False"
    crash = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting"}}
    containers = [{
        "name": c["name"], "image": c["image"], "imageID": "", "ready": ok == "True",
        "restartCount": 3 if mode == "crash" else 0, "started": ok == "True",
        "state": crash if mode == "crash" else {"running": {"startedAt": now}},
        **({"lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}} if mode == "crash" else {}),
    } for c in pod["spec"]["containers"]]
    return {"phase": want, "conditions": _conditions(ok, now), "startTime": now, "containerStatuses": containers}


def _run_once(pod: dict[str, Any], mode: str, now: str) -> dict[str, Any] | None:
    """The next status of a run-once Pod (Running for run-seconds, then its end), or None."""
    current = pod.get("status", {})
    if current.get("phase") in ("Succeeded", "Failed"):
        return None
    seconds = float(pod["metadata"].get("annotations", {}).get(RUN_SECONDS, "0"))
    started = current.get("startTime") if current.get("phase") == "Running" else None
    containers = pod["spec"]["containers"]
    if started is None and seconds > 0:
        return {"phase": "Running", "startTime": now, "conditions": _conditions("True", now), "containerStatuses": [
            {"name": c["name"], "image": c["image"], "imageID": "", "ready": True, "restartCount": 0,
             "started": True, "state": {"running": {"startedAt": now}}} for c in containers]}
    if started is not None and time.time() - calendar.timegm(time.strptime(started, "%Y-%m-%dT%H:%M:%SZ")) < seconds:
        return None
    code = 1 if mode in ("fail", "crash") else 0
    reason = "Error" if code else "Completed"
    return {"phase": "Failed" if code else "Succeeded", "startTime": started or now,
            "conditions": _conditions("False", now, reason="PodCompleted"), "containerStatuses": [
                {"name": c["name"], "image": c["image"], "imageID": "", "ready": False, "restartCount": 0,
                 "started": False, "state": {"terminated": {
                     "exitCode": code, "reason": reason, "startedAt": started or now, "finishedAt": now}}}
                for c in containers]}


def _conditions(ready: str, now: str, *, reason: str = "") -> list[dict[str, str]]:
    extra = {"reason": reason} if reason else {}
    return [{"type": t, "status": ready if t in ("Ready", "ContainersReady") else "True", "lastTransitionTime": now,
             **(extra if t in ("Ready", "ContainersReady") else {})}
            for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]


if __name__ == "__main__":
    main(sys.argv[1])
