"""Copy facts-v1.json into result-v1.json's $defs, so that the result schema resolves on its own.

    python tools/bundle_schemas.py          # rewrite result-v1.json
    python tools/bundle_schemas.py --check  # exit 1 when the bundled copy differs

Run it after every change to facts-v1.json; tests/test_ux.py fails until it has run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SCHEMAS = Path(__file__).resolve().parents[1] / "src" / "tvselect" / "schemas"
COMMENT = (
    "Self-contained: the facts document's schema (facts-v1.json, also shipped alone) is bundled "
    'under $defs with its $id, so "$ref": "facts-v1.json" resolves without a registry. '
    "Written by tools/bundle_schemas.py."
)


def bundled() -> str:
    """result-v1.json's text with the current facts-v1.json under $defs."""
    result = json.loads((SCHEMAS / "result-v1.json").read_text())
    result["$comment"] = COMMENT
    result["$defs"] = {"facts-v1": json.loads((SCHEMAS / "facts-v1.json").read_text())}
    return json.dumps(result, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether result-v1.json is current")
    args = parser.parse_args()
    path = SCHEMAS / "result-v1.json"
    text = bundled()
    if args.check:
        current = path.read_text() == text
        print(
            "result-v1.json is current" if current else "result-v1.json is stale: run tools/bundle_schemas.py"
        )
        return 0 if current else 1
    path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
