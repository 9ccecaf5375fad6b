"""The only package that knows the order of the stages: scan → policy → setters → publish.

``run(config, secrets=…, state=…, automations=…, options=…)`` is the one entry every runtime
calls (the ``run`` and ``plan`` commands, ``serve``, the GitHub Action and ``sync``): it builds
what a run needs from the loaded configuration — keychain, workspaces, forge clients, signing
keys — scans once, and runs each automation, collecting failures instead of raising them.
``scan_for(config, automations, ...)`` lists the tags the automations need; ``run_automation``
then, for one ImageUpdateAutomation in a checked-out :class:`~imagebot.git.Workspace`, evaluates
its policies, rewrites the marked fields, and hands the result to :mod:`imagebot.publish`, which
commits and pushes — or pushes the bot's own branch and opens/updates a pull request. A policy
that selects nothing leaves its fields alone; nothing to change means no commit and no push.

Modules: ``_run`` (the run core), ``_automation`` (one automation), ``_scans`` (the scan step and
what is recorded), ``_digests`` (digests only where needed), ``_workspace`` (clone or open the
work tree), ``_select`` (policies of an automation, shards, the git-tag chooser), ``_gates``
(promotion gates and rolled-back tags), ``_rollback`` (``imagebot rollback``: what to revert;
publish reverts it).
"""

import typing

from imagebot.pipeline._automation import AutomationOptions, AutomationReport, run_automation
from imagebot.pipeline._digests import DigestPolicy, Refresh
from imagebot.pipeline._gates import Gate, promotion_gate
from imagebot.pipeline._run import Failure, RunOptions, RunReport, run
from imagebot.pipeline._scans import record_scans, scan_for, scan_repositories
from imagebot.pipeline._select import choose_tag, policies_for, shard_of

__all__ = [
    "AutomationOptions",
    "AutomationReport",
    "DigestPolicy",
    "Failure",
    "Gate",
    "Refresh",
    "RollbackOptions",
    "RollbackReport",
    "RunOptions",
    "RunReport",
    "choose_tag",
    "policies_for",
    "promotion_gate",
    "record_scans",
    "rollback",
    "rollback_summary",
    "run",
    "run_automation",
    "scan_for",
    "scan_repositories",
    "shard_of",
]

if typing.TYPE_CHECKING:
    from imagebot.pipeline._rollback import RollbackOptions, RollbackReport, rollback, rollback_summary

_LAZY = ("RollbackOptions", "RollbackReport", "rollback", "rollback_summary")


def __getattr__(name: str) -> object:
    # rollback finds Applications through the sync stage (kubernetes, Go templates): imported on
    # first use, so `imagebot run`/`plan` and the container image never pay for it (issue 9)
    if name in _LAZY:
        from imagebot.pipeline import _rollback

        return getattr(_rollback, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
