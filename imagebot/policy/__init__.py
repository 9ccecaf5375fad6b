"""STAGE 2: a scanned ``TagList`` and an ``ImagePolicy`` in, the tag Flux would choose out — explained.

The contract of the policy stage (callers: ``imagebot plan``/the pipeline, ``imagebot policy
test``). ``evaluate`` returns an :class:`~imagebot.model.selections.Evaluation`: a
``Selection`` or ``None``, a one-line reason, and a trace counting every tag under one rule.
``select`` is the short form. ``validate`` compiles a policy's regex and range so config and the
CLI can fail early with :class:`~imagebot.errors.PolicyError`. ``exclude`` applies an
ImageRepository's ``exclusionList`` (Go regex search) to raw tags. ``newer_than`` drops a
rolled-back tag and every tag ranked at or below it (``imagebot rollback``). ``reflect`` finishes an
evaluation with the digests looked up after it chose (the run asks for the selected tags' only).

>>> evaluation = policy.evaluate(tag_list, image_policy, current=Tag("1.2.3"))
>>> evaluation.selection.tag if evaluation.selection else evaluation.reason
"""

from imagebot.policy._base import Policy
from imagebot.policy._evaluate import evaluate, reflect, select, validate
from imagebot.policy._filter import exclude
from imagebot.policy._holds import newer_than
from imagebot.policy._ordering import POLICIES

__all__ = ["POLICIES", "Policy", "evaluate", "exclude", "newer_than", "reflect", "select", "validate"]
