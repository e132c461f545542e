"""Shell completion of option values and package names, from the catalog in use.

Called only by the completion scripts (`_TVSELECT_COMPLETE` set); a catalog that cannot be
read completes nothing rather than printing an error into the shell's completion.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tvselect.catalog.model import Catalog


def _catalog(params: dict[str, Any]) -> "Catalog | None":
    from tvselect.app.inputs import load
    from tvselect.errors import TvselectError

    path = params.get("catalog_path")
    try:
        return load(path if isinstance(path, str) else None)
    except (TvselectError, OSError):
        return None


def _matching(names: "list[str]", incomplete: str) -> list[str]:
    return [name for name in names if name.startswith(incomplete)]


def _params(ctx: Any) -> dict[str, Any]:
    return dict(getattr(ctx, "params", None) or {})


def workloads(ctx: Any, incomplete: str) -> list[str]:
    """`--workload`: the catalog's workloads."""
    catalog = _catalog(_params(ctx))
    return _matching(list(catalog.workloads) if catalog else [], incomplete)


def branches(ctx: Any, incomplete: str) -> list[str]:
    """`--branch`: `auto` and the catalog's branches."""
    catalog = _catalog(_params(ctx))
    return _matching(["auto", *catalog.branches] if catalog else ["auto"], incomplete)


def packages(ctx: Any, incomplete: str) -> list[str]:
    """`show PACKAGE`: the catalog's package names."""
    catalog = _catalog(_params(ctx))
    return _matching(sorted(catalog.branches_of_package) if catalog else [], incomplete)


def products(ctx: Any, incomplete: str) -> list[str]:
    """`--product`: the products of the catalogs in use (when the catalog records them)."""
    catalog = _catalog(_params(ctx))
    found = {getattr(v, "product", None) for v in (catalog.variants if catalog else ())}
    return _matching(sorted(p for p in found if isinstance(p, str)), incomplete)
