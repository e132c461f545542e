"""The JSON document of a several-product answer (`tvselect --product A --product B --json`)."""

from __future__ import annotations

from typing import Any

from tvselect import __version__
from tvselect.app.family import FamilyReport

SCHEMA_VERSION = 1


def _two_torch(report: FamilyReport) -> dict[str, Any] | None:
    found = report.two_torch
    if found is None:
        return None
    return {
        "text": found.text,
        "builds": [
            {
                "packages": [v.package for v in group.variants],
                "pytorch": words,
                "torch": None if group.torch is None else group.torch._asdict(),
            }
            for group, words in zip(found.groups, found.words, strict=True)
        ],
        "avoid": list(found.avoid),
    }


def document(report: FamilyReport) -> dict[str, Any]:
    """The answer for each product (each the one-product document), then what the set brings."""
    from tvselect.render.report_json import document as report_document

    answers = {}
    for product, answer in zip(report.products, report.answers, strict=True):
        doc = report_document(answer)
        doc.pop("facts", None)  # the same for every product: given once below
        doc.pop("install", None)  # one install for the set: given below
        doc.pop("install_pinned", None)
        answers[product] = doc
    plan, result = report.install_plan, report.install_result
    first = report.answers[0].decision.facts
    from tvselect.facts.document import to_document

    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "tvselect-products",
        "tvselect_version": __version__,
        "products": list(report.products),
        "packages": [v.package if v is not None else None for v in report.variants],
        "python": report.python,
        "pythons": list(report.pythons),
        "answers": answers,
        "two_pytorch": _two_torch(report),
        "install": list(plan.argv) if plan else None,
        "installed": None
        if result is None
        else {
            "command": list(result.argv),
            "dry_run": result.dry_run,
            "exit_status": result.exit_status,
            "ok": result.ok,
            "error": result.error,
        },
        "warnings": list(report.warnings),
        "facts": to_document(first),
    }
