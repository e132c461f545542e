"""`tvselect catalog import|lint|diff` as JSON (the text is render.catalog_text)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tvselect.catalog.diff import variant_facts

if TYPE_CHECKING:
    from tvselect.app.catalog import DiffResult, ImportResult, LintResult
    from tvselect.catalog.model import Catalog, Variant


def document(result: ImportResult) -> dict[str, Any]:
    """The imported catalog: the file format --catalog reads, in every output format."""
    return result.document


def lint(result: LintResult) -> dict[str, Any]:
    """The findings of `tvselect catalog lint`, one line each."""
    return {"schema_version": 1, "findings": list(result.findings)}


def diff(compared: DiffResult) -> dict[str, Any]:
    """`tvselect catalog diff --json`: the diff as JSON."""
    result, a, b = compared.diff, compared.a, compared.b

    def entry(variant: Variant, catalog: Catalog) -> dict[str, Any]:
        return {"branch": variant.branch, "package": variant.package, **variant_facts(variant, catalog)}

    return {
        "schema_version": 1,
        "a": a.source,
        "b": b.source,
        "added": [entry(v, b) for v in result.added],
        "removed": [entry(v, a) for v in result.removed],
        "changed": [
            {"branch": c.branch, "package": c.package, "changes": {f: [x, y] for f, x, y in c.fields}}
            for c in result.changed
        ],
        "commits": {name: [x, y] for name, x, y in result.commits},
        "branches_only_in_a": dict(result.only_in_a),
        "branches_only_in_b": dict(result.only_in_b),
    }
