"""`tvselect catalog lint|diff` as text (the JSON is render.catalog_json; an import is JSON only).

Every line names recipe files, folders or branches: each passes through `safe_line`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tvselect.base.safe_text import safe_line
from tvselect.catalog.diff import variant_facts

if TYPE_CHECKING:
    from typing import TextIO

    from tvselect.app.catalog import DiffResult, LintResult


def lint(result: LintResult, stream: TextIO) -> None:
    """One line per finding."""
    stream.write("".join(safe_line(line) + "\n" for line in result.findings))


def diff(compared: DiffResult, stream: TextIO) -> None:
    """`tvselect catalog diff`: `+` added, `-` removed, `~` changed, one line each."""
    result, a, b = compared.diff, compared.a, compared.b
    lines = [f"--- {a.source}", f"+++ {b.source}"]
    for name, x, y in result.commits:
        lines.append(f"  branch {name}: recipes of commit {x[:12]} -> {y[:12]}")
    for sign, variants, catalog in (("+", result.added, b), ("-", result.removed, a)):
        for v in variants:
            facts = variant_facts(v, catalog)
            lines.append(
                f"{sign} {v.branch}: {v.package} (GPU {facts['gpu_arch']}, CPU {facts['cpu_needs']}, "
                f"CUDA {facts['cuda']}, {facts['platforms']})"
            )
    for change in result.changed:
        what = "; ".join(f"{f} {x} -> {y}" for f, x, y in change.fields)
        lines.append(f"~ {change.branch}: {change.package}: {what}")
    for label, branches in (("only in A", result.only_in_a), ("only in B", result.only_in_b)):
        for name, n in branches:
            lines.append(f"  branch {name} ({n} variants) is {label}; not compared")
    if not (result.added or result.removed or result.changed):
        lines.append("  no variant added, removed or changed on the branches both have")
    stream.write("\n".join(safe_line(line) for line in lines) + "\n")
