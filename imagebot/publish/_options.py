"""How publish goes (``PublishOptions``) and what it calls back (``Reapply``).

The pipeline builds both: the options from the run's options and the automation's secrets, and
``reapply`` from the setters stage (publish may not import another stage), so that publish can
re-run the setters on a commit it did not plan on — the branch's new head after a rejected push,
a pull request's base, one group of a ``group: per-image`` pull request.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from imagebot.model import gitauth
from imagebot.model.changes import Edits
from imagebot.model.ids import ObjectKey
from imagebot.model.images import ImageRef

__all__ = ["PublishOptions", "Reapply"]


class Reapply(Protocol):
    """The setters' edits of ``values`` on the files of commit ``sha``."""

    def __call__(self, sha: str, values: Mapping[ObjectKey, ImageRef], /) -> Edits: ...


@dataclasses.dataclass(frozen=True, slots=True)
class PublishOptions:
    """How one automation's change is published."""

    push: bool = True
    """Push after committing (``False``: commit only)."""
    signing_key: gitauth.SigningKey | None = None
    """Sign every commit with this key (the automation's ``signingKey`` secret)."""
    push_attempts: int = 5
    """Pushes to try before a rejection is final (each after fetching and re-applying)."""
    sleep: Callable[[float], None] = time.sleep
    before_push: Callable[[], None] | None = None
    """Called right before each push; raising there abandons the run with nothing pushed (the
    scheduler does this when asked to stop)."""
