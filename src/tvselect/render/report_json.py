"""The versioned JSON document of one run's Report (the text is render.report_text)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tvselect import __version__
from tvselect.app.choose import Report
from tvselect.catalog.model import Catalog, Variant
from tvselect.engine.reasons import Reason
from tvselect.facts.document import to_document

if TYPE_CHECKING:
    from tvselect.engine.explain import Verdict
    from tvselect.engine.rank import Alternative
    from tvselect.flox.install import InstallResult

SCHEMA_VERSION = 1


def _reason(item: Reason) -> dict[str, str]:
    return {"code": item.code, "text": item.text}


def variant_summary(variant: Variant, catalog: Catalog) -> dict[str, Any]:
    """The catalog's record of one variant, flattened for JSON."""
    return {
        "package": variant.package,
        "product": variant.product,
        "product_version": variant.product_version,
        "branch": variant.branch,
        "gpu_arch": variant.gpu_arch,
        "cpu_isa": variant.cpu_isa,
        "torchvision": variant.torchvision,
        "pytorch": variant.pytorch,
        "cuda": variant.cuda,
        "python": variant.python or catalog.branches[variant.branch].python,
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


def _chosen(report: Report) -> dict[str, Any]:
    """The chosen variant's summary, or the same keys set to None when nothing was chosen."""
    if report.variant is not None:
        return variant_summary(report.variant, report.catalog)
    return dict.fromkeys(
        (
            "package",
            "product",
            "product_version",
            "branch",
            "gpu_arch",
            "cpu_isa",
            "torchvision",
            "pytorch",
            "cuda",
            "python",
            "platforms",
        )
    )


def _alternative(alt: Alternative) -> dict[str, Any]:
    return {
        "package": alt.variant.package,
        "branch": alt.variant.branch,
        "gpu_arch": alt.variant.gpu_arch,
        "cpu_isa": alt.variant.cpu_isa,
        "why": _reason(alt.reason),
    }


def _installed(result: InstallResult) -> dict[str, Any]:
    return {
        "command": list(result.argv),
        "dry_run": result.dry_run,
        "exit_status": result.exit_status,
        "ok": result.ok,
        "error": result.error,
    }


def _candidate(verdict: Verdict) -> dict[str, Any]:
    return {
        "package": verdict.variant.package,
        "branch": verdict.variant.branch,
        "status": verdict.status,
        "gpu_match": verdict.gpu_match,
        "reasons": [_reason(r) for r in verdict.reasons],
    }


def _needs(report: Report) -> dict[str, Any] | None:
    needs = report.machine_needs
    if needs is None:
        return None
    return {
        "gpu_facts_from": "pci",
        "action": needs.action,
        "min_driver": needs.min_driver,
        "text": needs.text,
        "why": needs.why,
    }


def _decided(report: Report) -> dict[str, Any]:
    """The keys every run has, in the document's order."""
    decision, plan = report.decision, report.install_plan
    options = decision.options
    return {
        "schema_version": SCHEMA_VERSION,
        "tvselect_version": __version__,
        "status": decision.status,
        **_chosen(report),
        "gpu_match": _gpu_match(report),
        "rule": decision.rule,
        "workload": options.workload,
        "requested_branch": options.branch,
        "cpu_only": options.cpu_only,
        "install": list(plan.argv) if plan else None,
        "install_pinned": plan.pinned if plan else None,
        "reasons": [_reason(r) for r in report.reasons],
        "warnings": list(report.warnings),
        "machine_needs": _needs(report),
        "alternatives": [_alternative(alt) for alt in decision.alternatives],
        "facts": to_document(decision.facts),
        **_published(report),
    }


def document(report: Report) -> dict[str, Any]:
    """The JSON object `tvselect --json` prints (schema version 1)."""
    doc = _decided(report)
    if report.install_result is not None:
        doc["installed"] = _installed(report.install_result)
    if report.verification is not None:
        from tvselect.render import verify_json

        doc["verification"] = verify_json.document(report.verification)
    if report.explain:
        doc["candidates"] = [_candidate(v) for v in report.decision.verdicts]
    return doc
