"""The one output seam: `emit(result, fmt, stream)` writes a use case's result as JSON or as text.

Each result type is registered in RENDERERS by its qualified name, with its JSON document
function and its text function as "module:function" strings. They are imported only when
used, so that `--json` never imports rich, and this module imports nothing heavy.

A JSON function takes the result and returns a JSON-ready value; a text function takes the
result and a text stream. A new output format is one more entry in FORMATS and one more
branch in `_write`; `--format` takes its choices from FORMATS.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

FORMATS = ("text", "json")
"""The values of `--format`, the default first."""

RENDERERS: dict[str, tuple[str, str | None]] = {
    "tvselect.app.choose.Report": ("report_json:document", "report_text:render"),
    "tvselect.app.family.FamilyReport": ("family_json:document", "family_text:render"),
    "tvselect.app.browse.Probed": ("facts_json:document", "facts_text:render"),
    "tvselect.app.browse.Listing": ("listing_json:document", "listing_text:render"),
    "tvselect.app.browse.PackageView": ("show_json:document", "show_text:render"),
    "tvselect.verify.verdict.VerifyResult": ("verify_json:document", "verify_text:render"),
    "tvselect.fleet.plan.Plan": ("plan_json:document", "plan_text:render"),
    "tvselect.app.cover.CoverResult": ("cover_json:document", "cover_text:render"),
    "tvselect.app.plan.MissingPackages": ("plan_json:missing", "plan_text:missing"),
    # A catalog is a JSON file in every format: it is what --catalog reads.
    "tvselect.app.catalog.ImportResult": ("catalog_json:document", None),
    "tvselect.app.catalog.LintResult": ("catalog_json:lint", "catalog_text:lint"),
    "tvselect.app.catalog.DiffResult": ("catalog_json:diff", "catalog_text:diff"),
}
"""Result type (module.QualName) -> (JSON function, text function or None for JSON only), in tvselect.render."""


def _function(reference: str) -> Callable[..., Any]:
    import importlib

    module, _, name = reference.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(f"tvselect.render.{module}"), name)
    return function


def _entry(result: object) -> tuple[str, str | None]:
    for kind in type(result).__mro__:
        entry = RENDERERS.get(f"{kind.__module__}.{kind.__qualname__}")
        if entry is not None:
            return entry
    raise TypeError(f"no renderer is registered for {type(result).__qualname__}")


def document(result: object) -> Any:
    """The JSON document of a result (dicts, lists, strings, numbers, booleans and None)."""
    return _function(_entry(result)[0])(result)


def json_text(value: object) -> str:
    """The one way tvselect writes JSON: indented by two, one newline at the end."""
    import json

    return json.dumps(value, indent=2) + "\n"


def write_json(value: object, out: TextIO) -> None:
    """`json_text(value)` written in pieces, so that a large document (`list --json` over a big
    catalog) is never held twice over as one string and its list of parts."""
    import json

    batch: list[str] = []
    for part in json.JSONEncoder(indent=2).iterencode(value):
        batch.append(part)
        if len(batch) >= 8192:
            out.write("".join(batch))
            batch.clear()
    batch.append("\n")
    out.write("".join(batch))


def emit(result: object, fmt: str = "text", stream: TextIO | None = None) -> None:
    """Write `result` to `stream` (default: stdout) in format `fmt` (one of FORMATS), then flush."""
    out = sys.stdout if stream is None else stream
    _write(result, fmt, out)
    out.flush()


def _write(result: object, fmt: str, out: TextIO) -> None:
    json_ref, text_ref = _entry(result)
    if fmt == "text" and text_ref is not None:
        _function(text_ref)(result, out)
    elif fmt in FORMATS:
        write_json(_function(json_ref)(result), out)
    else:
        raise ValueError(f"unknown output format {fmt!r}")


def emit_file(result: object, path: str, what: str = "-o") -> None:
    """Write `result`'s JSON document to `path` atomically (base.atomicfile), named `what` in errors."""
    from tvselect.base.atomicfile import replace_file

    replace_file(path, (json_text(document(result)),), what)
