"""`tvselect list --json`: the listed variants as one JSON array (the text is render.listing_text)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tvselect.render.report_json import variant_summary

if TYPE_CHECKING:
    from tvselect.app.browse import Listing


def document(listing: Listing) -> list[dict[str, Any]]:
    """One summary per listed variant, in the catalog's order."""
    return [variant_summary(v, listing.catalog) for v in listing.variants]
