"""``imagebot health -f FILE [--json]``: offline assessment of objects saved with kubectl.

Aspects under test:
* one object, a ``List`` (``kubectl get a,b -o yaml``), several documents, several ``-f``, stdin;
* the table names kind, namespace/name, status and why; kinds without health show ``-``; the
  overall line names the causes;
* ``--json`` shape; exit status 0 whatever the health;
* unreadable or unparsable input: exit 2 with one line naming the file (and document), no traceback.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from imagebot import cli, yamldoc

TESTDATA = Path(__file__).parent / "testdata"


def fixture_text(*names: str) -> str:
    return "---\n".join((TESTDATA / f"{name}.yaml").read_text() for name in names)


def as_list(*names: str) -> str:
    items = "".join(
        "- " + (TESTDATA / f"{name}.yaml").read_text().replace("\n", "\n  ").rstrip() + "\n"
        for name in names
    )
    return f"apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n{items}"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["--log-format", "text", "health", *args])  # plain stderr lines, not JSON
    out, err = capsys.readouterr()
    return code, out, err


def test_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "-f", str(TESTDATA / "rollout-canary-paused-at-step.yaml"))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["KIND", "NAMESPACE/NAME", "STATUS", "MESSAGE"]
    step = "canary paused at step 2/4 (setWeight 20): CanaryPauseStep"
    assert lines[1].split(None, 3) == ["Rollout", "shop/rollouts-demo", "Suspended", step]
    assert lines[-1] == f"overall: Suspended (Rollout shop/rollouts-demo: {step})"


def test_a_kubectl_list_and_the_overall_cause(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "live.yaml"
    path.write_text(as_list("deployment-healthy", "pod-crashloop", "configmap", "svc-clusterip"))
    code, out, _ = run(capsys, "-f", str(path))
    assert code == 0
    rows = [line.split(None, 3) for line in out.splitlines()[1:5]]
    assert [row[:3] for row in rows] == [
        ["Deployment", "default/guestbook-ui", "Healthy"],
        ["Pod", "shop/api-7d9f8b6c5d-m2x7q", "Degraded"],
        ["ConfigMap", "shop/settings", "-"],
        ["Service", "default/guestbook-ui", "Healthy"],
    ]
    assert rows[2][3] == "no health check for this kind"
    assert out.splitlines()[-1].startswith(
        "overall: Degraded (Pod shop/api-7d9f8b6c5d-m2x7q: container 'api': CrashLoopBackOff: back-off")


def test_documents_files_and_stdin(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    multi = tmp_path / "multi.yaml"
    multi.write_text(fixture_text("job-running", "crd-established") + "---\n")
    monkeypatch.setattr("sys.stdin", io.StringIO(fixture_text("pvc-pending")))
    code, out, _ = run(capsys, "-f", str(multi), "-f", "-", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["status"] == "Progressing"
    assert [(o["kind"], o["name"], o["status"]) for o in report["objects"]] == [
        ("Job", "migrate-db", "Progressing"),
        ("CustomResourceDefinition", "rollouts.argoproj.io", "Healthy"),
        ("PersistentVolumeClaim", "data-redis-0", "Progressing"),
    ]
    assert report["why"].startswith("Job shop/migrate-db: Job running: 1 active")
    assert report["objects"][1] == {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "namespace": "",
        "name": "rollouts.argoproj.io", "status": "Healthy", "message": "CRD is healthy", "counted": True,
    }


def test_json_marks_objects_without_health_and_uncounted_ones(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "live.json"
    hook = json.loads(json.dumps({"apiVersion": "batch/v1", "kind": "Job", "metadata": {
        "name": "smoke", "namespace": "shop", "annotations": {"argocd.argoproj.io/hook": "PostSync"}},
        "status": {"conditions": [{"type": "Failed", "status": "True", "message": "boom"}]}}))
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        hook, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "shop"}}]}))
    code, out, _ = run(capsys, "-f", str(path), "--json")
    assert code == 0
    report = json.loads(out)
    assert report == {"status": "Healthy", "why": "", "objects": [
        {"apiVersion": "batch/v1", "kind": "Job", "namespace": "shop", "name": "smoke",
         "status": "Degraded", "message": "boom", "counted": False},
        {"apiVersion": "v1", "kind": "Secret", "namespace": "shop", "name": "s",
         "status": None, "message": "", "counted": True},
    ]}


def test_a_typed_list_from_the_api(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GET /api/v1/namespaces/shop/pods answers a PodList whose items carry no apiVersion/kind
    pod = yamldoc.load_all_plain((TESTDATA / "pod-crashloop.yaml").read_text())[0]
    del pod["apiVersion"], pod["kind"]
    path = tmp_path / "pods.json"
    path.write_text(json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [pod]}))
    code, out, _ = run(capsys, "-f", str(path), "--json")
    assert code == 0
    [obj] = json.loads(out)["objects"]
    assert (obj["apiVersion"], obj["kind"], obj["status"]) == ("v1", "Pod", "Degraded")


@pytest.mark.parametrize(("content", "error"), [
    pytest.param("kind: [\n", "bad.yaml: line 2", id="yaml-syntax"),
    pytest.param("apiVersion: v1\nkind: Pod\n---\n- a\n- b\n", "bad.yaml (document 2): not a Kubernetes object",
                 id="not-an-object"),
    pytest.param("apiVersion: v1\nkind: List\nitems:\n- 3\n", "bad.yaml: items[0] is not a Kubernetes object",
                 id="bad-list-item"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          content: str, error: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    code, out, err = run(capsys, "-f", str(path))
    assert code == 2
    assert out == ""
    assert err.startswith(f"imagebot: {path.parent}/{error}")
    assert len(err.splitlines()) == 1


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "-f", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert err == f"imagebot: {tmp_path}/nope.yaml: cannot read: No such file or directory\n"


def test_file_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["health"])
    assert exc.value.code == 2
    assert "-f/--filename" in capsys.readouterr().err
