"""`tvselect plan --json`: the plan document (the text is render.plan_text)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tvselect.app.plan import MissingPackages
    from tvselect.fleet.plan import Plan

SCHEMA_VERSION = 1


def document(result: Plan) -> dict[str, Any]:
    """The JSON object `tvselect plan --json` prints (schema version 1)."""
    options = result.options
    totals = result.totals
    return {
        "schema_version": SCHEMA_VERSION,
        "workload": options.workload,
        "requested_branch": options.branch,
        "cpu_only": options.cpu_only,
        "packages": [
            {
                "package": p.variant.package,
                "branch": p.variant.branch,
                "gpu_arch": p.variant.gpu_arch,
                "cpu_isa": p.variant.cpu_isa,
                "hosts": list(p.hosts),
                "count": len(p.hosts),
                "published": p.published,
                "not_at_best": p.not_at_best,
            }
            for p in result.packages
        ],
        "unserved": [
            {"reason": u.reason, "codes": list(u.codes), "hosts": list(u.hosts), "count": len(u.hosts)}
            for u in result.unserved
        ],
        "invalid": [{"source": i.source, "line": i.line, "error": i.error} for i in result.invalid],
        "totals": {
            "hosts": totals.hosts,
            "served": totals.served,
            "unserved": totals.unserved,
            "invalid": totals.invalid,
            "packages": totals.packages,
            "kinds": totals.kinds,
            "served_published": totals.served_published,
            "served_not_best": totals.served_not_best,
            "missing": totals.missing,
        },
    }


def missing(result: MissingPackages) -> list[str]:
    """The package names still to build, as a JSON array."""
    return list(result.names)
