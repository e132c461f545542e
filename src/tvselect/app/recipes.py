"""`tvselect catalog import`: a catalog document read from the recipes of checkouts or git branches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from tvselect.catalog.commands import ImportResult


class ImportRequest(NamedTuple):
    """What `tvselect catalog import` was asked to read."""

    sources: tuple[str, ...]
    """Checkout folders ([NAME=]DIR) or git repositories."""
    branches: tuple[str, ...]
    """`--branch`: the git branches to read."""
    all_branches: bool
    """`--all-branches`: read every local branch."""
    prefer: str
    """`--prefer`: branch names in order of preference, comma-separated ('' for none)."""
    version_of: tuple[str, ...]
    """`--version-of BRANCH=TV,PT`: stated versions."""
    skip_bad: bool
    """`--skip-bad`: leave out the recipes that cannot be read, and list them."""


def import_recipes(request: ImportRequest, environ: Mapping[str, str]) -> ImportResult:
    """The catalog document of the recipes; the stated versions are checked before any source is read."""
    from tvselect.catalog.commands import gather, import_catalog, parse_versions

    stated = parse_versions(request.version_of)
    files = gather(request.sources, request.branches, request.all_branches, environ)
    preference = [p for p in request.prefer.split(",") if p]
    return import_catalog(files, prefer=preference, stated=stated, skip_bad=request.skip_bad)
