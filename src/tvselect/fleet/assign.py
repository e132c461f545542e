"""`plan --assign FILE`: one JSON line per host with the package the plan gave it.

The file's first line is a header, `{"kind": "tvselect.assignment", ...}`, by which tvselect
recognises a file it wrote: it replaces only such a file (atomically), never one it did not
write and never anything but a regular file.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from typing import Any

from tvselect.base.atomicfile import absolute, replace_file
from tvselect.errors import BadInputError

ASSIGNMENT_KIND = "tvselect.assignment"
_HEADER_BYTES = 64 * 1024
"""How much of an existing file is read to find its header line."""


def check_assign_target(path: str) -> None:
    """BadInputError unless `path` is absent (in an existing directory) or an assignment file tvselect wrote."""
    if path == "-":  # '-' is standard output, which carries the plan
        raise BadInputError("--assign -: standard output carries the plan; name the assignment file")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        directory = os.path.dirname(absolute(path, "--assign"))
        if not os.path.isdir(directory):
            raise BadInputError(f"--assign {path}: the directory {directory} does not exist") from None
        return
    except OSError as exc:
        raise BadInputError(f"--assign {path}: cannot inspect it ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise BadInputError(f"--assign {path}: not a regular file; refusing to replace it")
    if not _written_by_tvselect(path):
        raise BadInputError(
            f"--assign {path}: the file exists and tvselect did not write it "
            f"(its first line is not a {ASSIGNMENT_KIND} header); refusing to overwrite it"
        )


def _written_by_tvselect(path: str) -> bool:
    try:
        with open(path, "rb") as stream:
            first = stream.read(_HEADER_BYTES).split(b"\n", 1)[0]
        header = json.loads(first)
    except (OSError, ValueError):
        return False
    return isinstance(header, dict) and header.get("kind") == ASSIGNMENT_KIND


def write_assignment(path: str, lines: Iterable[dict[str, Any]]) -> None:
    """Replace `path` atomically with `lines`, one JSON object per line (checked again just before)."""
    check_assign_target(path)
    replace_file(path, (json.dumps(line, ensure_ascii=False) + "\n" for line in lines), "--assign")
