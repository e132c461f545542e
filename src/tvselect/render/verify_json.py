"""The JSON document `tvselect verify --json` prints (the text is render.verify_text)."""

from __future__ import annotations

from typing import Any

from tvselect.verify.verdict import VariantMatch, VerifyResult


def document(result: VerifyResult) -> dict[str, Any]:
    """The JSON object `tvselect verify --json` prints (schema version 1)."""
    from tvselect import __version__
    from tvselect.facts.document import to_document

    failure = result.failure
    match = result.match
    return {
        "schema_version": 1,
        "kind": "tvselect.verify",
        "tvselect_version": __version__,
        "ok": result.ok,
        "python": result.python,
        "command": list(result.command),
        "checks": [
            {"name": c.name, "ok": c.ok, "severity": c.severity, "code": c.code, "detail": c.detail}
            for c in result.checks
        ],
        "observations": dict(result.observations.document) if result.observations else None,
        "failure": None
        if failure is None
        else {
            "kind": failure.kind,
            "detail": failure.detail,
            "stage": failure.stage,
            "stderr_tail": failure.stderr_tail,
        },
        "expected_package": result.expected.package if result.expected else None,
        "expected_branch": result.expected.branch if result.expected else None,
        "matched_package": match.package if match else None,
        "matched": _match_document(match),
        "facts": to_document(result.facts),
    }


def _match_document(match: VariantMatch | None) -> dict[str, Any] | None:
    """Which catalog variants the installed build can be, as the document's `matched` object."""
    if match is None:
        return None
    return {
        "branches": list(match.branches),
        "gpu_arch": match.gpu_arch,
        "cpu_isa": None,
        "candidates": [{"package": v.package, "branch": v.branch} for v in match.candidates],
        "why_not": match.why_not.text if match.why_not else None,
    }
