"""Shell completion of option values and package names, from the catalog in use.

Called only by the completion scripts (`_TVSELECT_COMPLETE` set); a catalog that cannot be
read completes nothing rather than printing an error into the shell's completion.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tvselect.app.browse import Names


def _names(ctx: Any) -> "Names":
    from tvselect.app.browse import catalog_names

    path = (getattr(ctx, "params", None) or {}).get("catalog_path")
    return catalog_names(path if isinstance(path, str) else None)


def _matching(names: tuple[str, ...], incomplete: str) -> list[str]:
    return [name for name in names if name.startswith(incomplete)]


def workloads(ctx: Any, incomplete: str) -> list[str]:
    """`--workload`: the catalog's workloads."""
    return _matching(_names(ctx).workloads, incomplete)


def branches(ctx: Any, incomplete: str) -> list[str]:
    """`--branch`: `auto` and the catalog's branches."""
    return _matching(_names(ctx).branches, incomplete)


def packages(ctx: Any, incomplete: str) -> list[str]:
    """`show PACKAGE`: the catalog's package names."""
    return _matching(_names(ctx).packages, incomplete)


def products(ctx: Any, incomplete: str) -> list[str]:
    """`--product`: the products of the catalog in use (when its variants record one)."""
    return _matching(_names(ctx).products, incomplete)
