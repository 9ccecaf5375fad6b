"""The setters stage: write policy results into marked YAML fields, byte for byte.

A field is marked by a line comment ``# {"$imagepolicy": "<namespace>:<policy>[:tag|:name|:digest]"}``
after its value. ruamel.yaml only *locates* the marked scalars; the new text is spliced into the
original bytes, so everything else in the file (comments, blank lines, quoting, CRLF, BOM, ``---``,
a missing final newline) is kept exactly.

Called by the pipeline — ``setters.read(root, paths, documents=…)`` reads and parses each marked
file once, and the ``Tree`` answers what the markers hold now (``held()``) and what given values
would change (``plan(values)``); a run-wide ``Documents`` cache keeps the parses — and by the
``imagebot set`` / ``imagebot markers`` commands (``setters.apply``); see ``docs/setters.md``.

Example::

    changes = setters.apply(
        {ObjectKey("flux-system", "app"): ImageRef("ghcr.io/org/app", Tag("1.2.4"))},
        root=workspace, paths=[Path("clusters/prod")],
    )
    for file in changes.files: ...
"""

from imagebot.setters._discover import FoundMarker, MarkerReport, Unmarked, find_markers
from imagebot.setters._files import IGNORE_FILES
from imagebot.setters._markers import KEYWORD as _KEYWORD
from imagebot.setters._markers import Field, Marker, parse_marker
from imagebot.setters._plan import FileEdit, Plan, apply, plan, write
from imagebot.setters._tree import Documents, MarkedFile, Tree, read
from imagebot.setters._values import check_ref, needs_quotes
from imagebot.setters._write import remove_stale

KEYWORD_BYTES = _KEYWORD.encode()
"""Files without it are never parsed (the setters' prefilter)."""

__all__ = [
    "IGNORE_FILES",
    "KEYWORD_BYTES",
    "Documents",
    "Field",
    "FileEdit",
    "FoundMarker",
    "MarkedFile",
    "Marker",
    "MarkerReport",
    "Plan",
    "Tree",
    "Unmarked",
    "apply",
    "check_ref",
    "find_markers",
    "needs_quotes",
    "parse_marker",
    "plan",
    "read",
    "remove_stale",
    "write",
]
