"""The tables shipped with tvselect (data/*.json): the one loader, each table decoded once per process.

Every reader of a shipped table goes through `shipped_table`, so a broken installation gives one
DataError naming the file rather than a traceback. A new table (data/NAME.json, with a link of the
same name in src/tvselect/data) needs nothing here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from tvselect.errors import DataError


@cache
def shipped_table(name: str) -> Any:
    """The decoded JSON of `data/NAME.json`; DataError naming it when it cannot be read or decoded.

    Read on first use only, then shared by every caller: never modify what it returns.
    """
    import json

    from tvselect.base.textfile import shipped_text

    try:
        return json.loads(shipped_text(f"{name}.json"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"tvselect/data/{name}.json: cannot be read ({exc})") from None
