"""`tvselect probe --json`: the facts document (its format is facts.document's, which --facts reads back)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tvselect.facts.document import to_document

if TYPE_CHECKING:
    from tvselect.app.browse import Probed


def document(probed: Probed) -> dict[str, Any]:
    """The facts document of the probed machine."""
    return to_document(probed.facts)
