"""The versioned JSON document of one run's Report (the human renderer is render.human)."""

from __future__ import annotations

from typing import Any

from tvselect import __version__
from tvselect.app.choose import Report
from tvselect.catalog.model import Catalog, Variant
from tvselect.engine.reasons import Reason
from tvselect.facts.document import to_document

SCHEMA_VERSION = 1


def _reason(item: Reason) -> dict[str, str]:
    return {"code": item.code, "text": item.text}


def variant_summary(variant: Variant, catalog: Catalog) -> dict[str, Any]:
    """The catalog's record of one variant, flattened for JSON."""
    return {
        "package": variant.package,
        "branch": variant.branch,
        "gpu_arch": variant.gpu_arch,
        "cpu_isa": variant.cpu_isa,
        "torchvision": variant.torchvision,
        "pytorch": variant.pytorch,
        "cuda": variant.cuda,
        "python": catalog.branches[variant.branch].python,
        "platforms": list(variant.platforms),
    }


def _gpu_match(report: Report) -> str | None:
    decision, variant = report.decision, report.variant
    if variant == decision.variant:
        return decision.gpu_match
    return next((v.gpu_match for v in decision.verdicts if v.variant == variant), None)


def _published(report: Report) -> dict[str, Any]:
    """`best`, `published` (None: unknown) and `unpublished_better`, the keys the published set adds."""
    best = report.decision.variant
    choice = report.published
    return {
        "best": best.package if best is not None else None,
        "published": None if choice is None else choice.chosen is not None,
        "unpublished_better": [v.package for v in choice.unpublished_better] if choice is not None else [],
    }


def report_document(report: Report) -> dict[str, Any]:
    """The JSON object `tvselect --json` prints (schema version 1)."""
    decision, catalog = report.decision, report.catalog
    variant = report.variant
    chosen: dict[str, Any]
    if variant is not None:
        chosen = variant_summary(variant, catalog)
    else:
        chosen = dict.fromkeys(
            ("package", "branch", "gpu_arch", "cpu_isa", "torchvision", "pytorch", "cuda", "python")
        )
    options = decision.options
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tvselect_version": __version__,
        "status": decision.status,
        **chosen,
        "gpu_match": _gpu_match(report),
        "rule": decision.rule,
        "workload": options.workload,
        "requested_branch": options.branch,
        "cpu_only": options.cpu_only,
        "install": list(report.install_plan.argv) if report.install_plan else None,
        "install_pinned": report.install_plan.pinned if report.install_plan else None,
        "reasons": [_reason(r) for r in report.reasons],
        "warnings": list(report.warnings),
        "alternatives": [
            {
                "package": alt.variant.package,
                "branch": alt.variant.branch,
                "gpu_arch": alt.variant.gpu_arch,
                "cpu_isa": alt.variant.cpu_isa,
                "why": _reason(alt.reason),
            }
            for alt in decision.alternatives
        ],
        "facts": to_document(decision.facts),
        **_published(report),
    }
    if report.install_result is not None:
        result = report.install_result
        doc["installed"] = {
            "command": list(result.argv),
            "dry_run": result.dry_run,
            "exit_status": result.exit_status,
            "ok": result.ok,
            "error": result.error,
        }
    if report.verification is not None:
        from tvselect.verify.document import verify_document

        doc["verification"] = verify_document(report.verification)
    if report.explain:
        doc["candidates"] = [
            {
                "package": v.variant.package,
                "branch": v.variant.branch,
                "status": v.status,
                "gpu_match": v.gpu_match,
                "reasons": [_reason(r) for r in v.reasons],
            }
            for v in decision.verdicts
        ]
    return doc
