"""The promotion gate annotation ``imagebot.dev/promote-after: <namespace>/<application>`` on an
ImageUpdateAutomation: read as a key, absent by default, and a malformed value is one clear error
naming the file, the document and the annotation."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from imagebot import config
from imagebot.errors import ConfigError
from imagebot.model.ids import ObjectKey

Load = Callable[[str], config.Config]


def automation(annotations: str) -> str:
    return f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: prod
  namespace: flux-system{annotations}
spec:
  sourceRef: {{name: repo}}
  git:
    commit:
      author: {{email: bot@example.com}}
"""


def test_annotation_names_the_application(load_yaml: Load) -> None:
    loaded = load_yaml(automation("\n  annotations: {imagebot.dev/promote-after: argocd/web-staging}"))
    assert loaded.automations[ObjectKey("flux-system", "prod")].promote_after == ObjectKey("argocd", "web-staging")


def test_no_annotation_no_gate(load_yaml: Load) -> None:
    assert load_yaml(automation("")).automations[ObjectKey("flux-system", "prod")].promote_after is None


@pytest.mark.parametrize("value", ["web-staging", "argocd/", "/web", "argocd/Web_Staging", "a/b/c", "''"])
def test_malformed_value_is_a_clear_error(load_yaml: Load, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml(automation(f"\n  annotations: {{imagebot.dev/promote-after: {value}}}"))
    message = str(caught.value)
    assert "objects.yaml" in message
    assert "metadata.annotations.imagebot.dev/promote-after: expected <namespace>/<application>" in message
