"""`tvselect plan --cover --json`: the plan document with its `cover` object (the text is render.cover_text)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tvselect.render import plan_json

if TYPE_CHECKING:
    from tvselect.app.cover import CoverResult
    from tvselect.engine.decision import Ranked
    from tvselect.fleet.coverage import BuildHosts, CoverPlan, KindOutcome


def document(result: CoverResult) -> dict[str, Any]:
    """The plan document of the fleet, and what --cover or --max-builds chose."""
    return {**plan_json.document(result.plan), "cover": cover_document(result.cover)}


def _variant(ranked: Ranked | None) -> dict[str, Any] | None:
    if ranked is None:
        return None
    v = ranked.variant
    return {
        "package": v.package,
        "branch": v.branch,
        "gpu_arch": v.gpu_arch,
        "cpu_isa": v.cpu_isa,
        "gpu_match": ranked.gpu_match,
    }


def _build_row(build: BuildHosts) -> dict[str, Any]:
    v = build.variant
    return {
        "package": v.package,
        "branch": v.branch,
        "gpu_arch": v.gpu_arch,
        "cpu_isa": v.cpu_isa,
        "published": build.prebuilt,
        "kinds": build.kinds,
        "hosts": list(build.hosts),
        "count": len(build.hosts),
    }


def _kind_row(kind: KindOutcome) -> dict[str, Any]:
    return {
        "example_host": kind.example,
        "machine": kind.machine,
        "count": kind.hosts,
        "best": _variant(kind.best),
        "gets": _variant(kind.got),
        "gives_up": list(kind.gives_up),
    }


def cover_document(result: CoverPlan) -> dict[str, Any]:
    """The `cover` object that `plan --cover --json` adds to the plan document."""
    totals = result.totals
    return {
        "mode": "cover" if result.max_builds is None else "max-builds",
        "max_builds": result.max_builds,
        "proved_optimal": result.proved,
        "stopped_by_time_limit": result.stopped,
        "time_limit_s": result.time_limit,
        "solve_s": round(result.seconds, 3),
        "builds": [_build_row(b) for b in result.builds],
        "kinds": [_kind_row(k) for k in result.kinds],
        "totals": {
            "builds": totals.builds,
            "published_used": totals.prebuilt,
            "served": totals.served,
            "unserved": totals.unserved,
            "off_best_sm": totals.off_sm,
            "lower_isa": totals.lower_isa,
            "less_preferred_branch": totals.other_branch,
        },
    }
