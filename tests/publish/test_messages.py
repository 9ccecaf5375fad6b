"""Commit messages: the default, native Jinja2 templates, errors, and the sandbox.

Aspects: the default ``chore(images): update N images`` message (singular for one, per-file lines,
``:tag`` fields named after the policy's image); native Jinja2 templates see Flux's names and
imagebot's ``images``/``lines``; undefined names are ConfigErrors naming the automation; templates
cannot reach the environment, files, Python internals, or run away with memory.
"""

from __future__ import annotations

import pytest

from imagebot import errors, publish
from imagebot.model.ids import ObjectKey
from tests.publish.helpers import automation, changeset, load_scenario, selection

AUTOMATION = ObjectKey("flux-system", "apps")


def _data(name: str = "multi", **kwargs: object) -> publish.TemplateData:
    scenario = load_scenario(name)
    return publish.template_data(automation(scenario), changeset(scenario), **kwargs)  # type: ignore[arg-type]


def test_default_message_for_one_image() -> None:
    message = publish.render_commit_message(None, _data("single"))
    assert message == (
        "chore(images): update 1 image\n"
        "\n"
        "deploy/podinfo.yaml:\n"
        "- ghcr.io/stefanprodan/podinfo 5.0.2 → 5.0.3\n"
    )


def test_default_message_lists_images_per_file() -> None:
    selections = [selection("flux-system/my-policy", "ghcr.io/my-org/my-app", "5.0.3")]
    message = publish.render_commit_message("", _data(selections=selections))
    assert message == (
        "chore(images): update 4 images\n"
        "\n"
        "apps/helmrelease.yaml:\n"
        "- ghcr.io/my-org/my-app 4.0.6 → 5.0.3\n"
        "\n"
        "apps/podinfo.yaml:\n"
        "- ghcr.io/stefanprodan/podinfo 5.0.2 → 5.0.3\n"
        "- busybox 1.36.0 → 1.36.1\n"
        "- docker.io/library/redis 7.0 → 7.2\n"
        "\n"
        "kustomization.yaml:\n"
        "- ghcr.io/my-org/my-app 4.0.6 → 5.0.3\n"
    )


def test_default_message_flags_a_downgrade() -> None:
    selections = [selection("flux-system/my-policy", "ghcr.io/my-org/my-app", "5.0.3", downgrade=True)]
    message = publish.render_commit_message(None, _data(selections=selections))
    assert "- ghcr.io/my-org/my-app 4.0.6 → 5.0.3 (downgrade)\n" in message
    assert "- busybox 1.36.0 → 1.36.1\n" in message  # the other images are not flagged


def test_default_message_without_selection_names_the_policy() -> None:
    message = publish.render_commit_message(None, _data())
    assert "- flux-system/my-policy 4.0.6 → 5.0.3\n" in message


def test_native_jinja_template_sees_flux_and_imagebot_names() -> None:
    template = (
        "{{ AutomationObject.Name }}: {{ images|length }} images\n"
        "{% for file, objects in Changed.FileChanges.items() %}{{ file }} {{ objects|length }}\n{% endfor %}"
        "{% for image in images %}{{ image.image }}={{ image.new }} in {{ image.files|join(',') }}\n{% endfor %}"
        "{{ Values.cluster }} {{ Changed.Changes[0].Setter }}"
    )
    message = publish.render_commit_message(template, _data(values={"cluster": "eu"}))
    assert message == (
        "Fleet: 4 images\n"
        "apps/helmrelease.yaml 1\napps/podinfo.yaml 2\nkustomization.yaml 1\n"
        "busybox=1.36.1 in apps/podinfo.yaml\n"
        "docker.io/library/redis=7.2 in apps/podinfo.yaml\n"
        "flux-system/my-policy=5.0.3 in apps/helmrelease.yaml,kustomization.yaml\n"
        "ghcr.io/stefanprodan/podinfo=5.0.3 in apps/podinfo.yaml\n"
        "eu flux-system:my-policy:tag"
    )


@pytest.mark.parametrize(("template", "fragment"), [
    pytest.param("{{ nope }}", "'nope' is undefined", id="undefined-name"),
    pytest.param("{{ AutomationObject.Nope }}", "has no attribute 'Nope'", id="undefined-attribute"),
    pytest.param("{% for %}", "line 1", id="syntax"),
    pytest.param("{{ 1 / 0 }}", "ZeroDivisionError", id="runtime"),
    pytest.param("   \n", None, id="whitespace-means-default"),
    pytest.param("{{ '' }}", "the message is empty", id="empty"),
])
def test_template_errors_name_the_automation(template: str, fragment: str | None) -> None:
    data = publish.template_data(AUTOMATION, changeset(load_scenario("single")))
    if fragment is None:
        assert publish.render_commit_message(template, data).startswith("chore(images)")
        return
    with pytest.raises(errors.ConfigError) as info:
        publish.render_commit_message(template, data)
    assert str(info.value).startswith("automation flux-system/apps: commit message template")
    assert fragment in str(info.value)


@pytest.mark.parametrize("template", [
    pytest.param("{{ AutomationObject.__class__.__mro__ }}", id="dunder-class"),
    pytest.param("{{ ''.__class__.__mro__[1].__subclasses__() }}", id="subclasses"),
    pytest.param("{{ go_items.__globals__ }}", id="function-globals"),
    pytest.param("{{ printf.__globals__['__builtins__'] }}", id="builtins"),
    pytest.param("{{ lipsum.__globals__.os.environ }}", id="lipsum-os"),
    pytest.param("{{ cycler.__init__.__globals__.os.popen('id').read() }}", id="cycler-popen"),
    pytest.param("{% include '/etc/passwd' %}", id="include-file"),
    pytest.param("{% import '/etc/hostname' as h %}", id="import-file"),
    pytest.param("{{ self._TemplateReference__context }}", id="template-context"),
    pytest.param("{{ Values.clear() }}", id="mutate-values"),
    pytest.param("{{ 'x' * 100000000 }}", id="huge-string"),
    pytest.param("{{ 9 ** 999999 }}", id="huge-power"),
    pytest.param("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", id="huge-output"),
    pytest.param("{{ range(10**9)|list }}", id="huge-range"),
])
def test_sandbox_escapes_fail(template: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGEBOT_SECRET_CANARY", "canary-value-1234")
    data = publish.template_data(AUTOMATION, changeset(load_scenario("single")))
    with pytest.raises(errors.ConfigError) as info:
        publish.render_commit_message(template, data)
    assert "canary-value-1234" not in str(info.value)
    assert "root:" not in str(info.value)


def test_environment_is_not_reachable_through_any_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_canary")
    data = publish.template_data(AUTOMATION, changeset(load_scenario("single")))
    for name in ("env", "environ", "os", "getenv", "open", "__import__", "expandenv"):
        with pytest.raises(errors.ConfigError):
            publish.render_commit_message(f"{{{{ {name} }}}}", data)
