"""Copy the schemas each schema refers to into its $defs, so that every schema resolves on its own.

    python tools/bundle_schemas.py          # rewrite every schema that refers to another
    python tools/bundle_schemas.py --check  # exit 1 when a bundled copy differs

A schema refers to another as `"$ref": "facts-v1.json"` (or to a part of it, as
`"$ref": "result-v1.json#/properties/reasons"`); the copy under `$defs` carries its
`$id`, so the reference resolves without a registry (result-v1.json bundles facts-v1.json and
verify-v1.json, verify-v1.json bundles facts-v1.json, products-v1.json bundles all three). Run it after every change to a schema;
tests/test_json_schemas.py fails until it has run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parents[1] / "src" / "tvselect" / "schemas"
COMMENT = (
    "Self-contained: the schemas this one refers to ({names}, also shipped alone) are bundled "
    'under $defs with their $id, so "$ref": "NAME.json" resolves without a registry. '
    "Written by tools/bundle_schemas.py."
)


def _own(name: str) -> dict[str, Any]:
    """A schema without what bundling adds."""
    schema: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    schema.pop("$defs", None)
    schema.pop("$comment", None)
    return schema


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        name = ref.split("#", 1)[0] if isinstance(ref, str) else ""
        found = {name} if name.endswith(".json") else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _closure(name: str) -> list[str]:
    """Every schema `name` refers to, directly or through another, sorted."""
    seen: set[str] = set()
    todo = sorted(_refs(_own(name)))
    while todo:
        ref = todo.pop()
        if ref not in seen:
            seen.add(ref)
            todo += sorted(_refs(_own(ref)))
    seen.discard(name)
    return sorted(seen)


def bundled(name: str) -> str:
    """The text of schema `name` with the current copies of the schemas it refers to."""
    schema = _own(name)
    refs = _closure(name)
    if refs:
        schema["$comment"] = COMMENT.format(names=", ".join(refs))
        schema["$defs"] = {ref.removesuffix(".json"): _own(ref) for ref in refs}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether every bundled copy is current")
    args = parser.parse_args()
    stale = []
    for path in sorted(SCHEMAS.glob("*-v*.json")):
        text = bundled(path.name)
        if path.read_text() != text:
            stale.append(path.name)
            if not args.check:
                path.write_text(text)
    if args.check:
        print(
            f"stale: {', '.join(stale)}: run tools/bundle_schemas.py" if stale else "every schema is current"
        )
        return 1 if stale else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
