"""Reading the facts documents of a fleet: files, directories, JSON Lines or standard input.

Each document becomes one Entry: where it came from (source and line) and either its
Facts or why it could not be read. Nothing is dropped: a bad line is an Entry with an
error, and the caller decides what to say about it. JSON Lines lines are read by
fleet/lines.py, which parses each kind of line once.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, TextIO

from tvselect.base.textfile import json_values
from tvselect.errors import BadInputError
from tvselect.facts.document import MAX_FACTS_VALUES
from tvselect.fleet.lines import Entry, LineReader, facts_entry, value_problem

__all__ = ["Entry", "expand_paths", "read_entries"]

STDIN = "-"
SUFFIXES = (".json", ".jsonl")
STDIN_NAME = "<stdin>"
MIB = 1024 * 1024
MAX_LINE_CHARS = 16 * MIB
"""The longest JSON Lines line read: a facts document is a few kilobytes."""
MAX_TEXT_CHARS = 64 * MIB
"""The most read of a file that is not JSON Lines (one or more documents, pretty-printed)."""


def expand_paths(paths: Iterable[str]) -> tuple[str, ...]:
    """The files to read, in order: a directory stands for its *.json and *.jsonl files, sorted.

    `-` (standard input) is kept as it is. BadInputError for a path that does not exist or
    cannot be listed, and when no path is given at all.
    """
    result: list[str] = []
    given = list(paths)
    if not given:
        raise BadInputError("no input: give facts files, directories, or '-' for standard input")
    for path in given:
        if path == STDIN:
            result.append(path)
        elif os.path.isdir(path):
            try:
                names = sorted(os.listdir(path))
            except OSError as exc:
                raise BadInputError(f"{path}: cannot list the directory ({exc.strerror})") from None
            result.extend(
                os.path.join(path, name)
                for name in names
                if name.endswith(SUFFIXES) and os.path.isfile(os.path.join(path, name))
            )
        elif os.path.isfile(path):
            result.append(path)
        elif os.path.exists(path):
            raise BadInputError(f"{path}: not a file or directory")
        else:
            raise BadInputError(f"{path}: no such file or directory")
    return tuple(result)


def read_entries(paths: Iterable[str], stdin: TextIO | None, *, kinds: bool = False) -> Iterator[Entry]:
    """Every document of the files `paths` (already expanded), in order.

    With `kinds`, each entry's facts are its document's machine_kind with the host kept
    (no GPU or MIG UUIDs, no probe notes): all a plan reads, and much faster to make.

    A file whose first non-blank line is a JSON value by itself is read as JSON Lines: a
    bad line is one Entry with an error, and reading goes on at the next line. Any other
    file is one JSON document, or several written one after another; a syntax error ends
    that file with one Entry that says where. BadInputError when a file cannot be opened
    (or is not a regular file) and when standard input is closed.
    """
    from tvselect.base.textfile import open_user_file, stdin_bytes

    reader = LineReader(kinds)
    for path in paths:
        if path == STDIN:
            stream = stdin_bytes(stdin)
            if stream is None:
                raise BadInputError("-: standard input is closed")
            yield from _read_file(stream, STDIN_NAME, reader)
            continue
        with open_user_file(path, path) as handle:
            yield from _read_file(handle, path, reader)


def _read_file(raw: BinaryIO, source: str, reader: LineReader) -> Iterator[Entry]:
    buffered: Any = raw if isinstance(raw, io.BufferedIOBase) else io.BufferedReader(raw)
    text = io.TextIOWrapper(buffered, encoding="utf-8")
    try:
        yield from _read_stream(text, source, reader)
    except UnicodeDecodeError:
        yield Entry(source, 1, None, "not UTF-8 text")
    except OSError as exc:
        raise BadInputError(f"{source}: cannot be read ({exc.strerror})") from None
    finally:
        with contextlib.suppress(ValueError, OSError):
            text.detach()  # the caller closes its own stream (never standard input)


MAX_LINE_VALUES = MAX_FACTS_VALUES
"""The most JSON values one line may hold, as a --facts document."""
MAX_TEXT_VALUES = 2_000_000
"""The most JSON values a file that is not JSON Lines may hold (64 MiB of pretty-printed documents)."""


def _lines(stream: TextIO, source: str) -> Iterator[tuple[int, str | None]]:
    """(line number, line) for each line; None for a line longer than MAX_LINE_CHARS, which is skipped.

    BadInputError for a line still without an end after MAX_TEXT_CHARS more: the input is not
    lines at all (`/dev/zero`), and reading stops there.
    """
    number = 0
    while line := stream.readline(MAX_LINE_CHARS):
        number += 1
        if len(line) < MAX_LINE_CHARS or line.endswith("\n"):
            yield number, line
            continue
        skipped = 0
        while (rest := stream.readline(MAX_LINE_CHARS)) and not rest.endswith("\n"):
            skipped += len(rest)
            if skipped >= MAX_TEXT_CHARS:
                raise BadInputError(
                    f"{source}:{number}: a line longer than {(MAX_LINE_CHARS + MAX_TEXT_CHARS) // MIB} MiB; "
                    "stopped reading"
                )
        yield number, None


_TOO_LONG = f"a line longer than {MAX_LINE_CHARS // MIB} MiB, which no facts document is"


def _read_stream(stream: TextIO, source: str, reader: LineReader) -> Iterator[Entry]:
    lines = _lines(stream, source)
    for number, first in lines:
        if first is None:
            yield Entry(source, number, None, _TOO_LONG)
            return
        if first.strip():
            break
    else:
        return
    if json_values(first) <= MAX_LINE_VALUES and not _is_json(first):
        rest = stream.read(MAX_TEXT_CHARS)
        if stream.read(1):
            yield Entry(source, number, None, _TOO_BIG)
            return
        if json_values(rest) > MAX_TEXT_VALUES:
            yield Entry(source, number, None, _TOO_MANY)
            return
        yield from _read_documents(first + rest, source, number, reader.kinds)
        return
    yield _line_entry(first, source, number, reader)
    for number, line in lines:
        if line is None:
            yield Entry(source, number, None, _TOO_LONG)
        elif line.strip():
            yield _line_entry(line, source, number, reader)


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


def _line_entry(line: str, source: str, number: int, reader: LineReader) -> Entry:
    if json_values(line) > MAX_LINE_VALUES:
        return Entry(
            source, number, None, f"more than {MAX_LINE_VALUES:,} JSON values, which no facts document has"
        )
    return reader.read(line, source, number)


_TOO_BIG = (
    f"larger than {MAX_TEXT_CHARS // MIB} MiB as one JSON text; "
    "give a big fleet as JSON Lines (one facts document per line)"
)


_TOO_MANY = (
    f"more than {MAX_TEXT_VALUES:,} JSON values as one JSON text; "
    "give a big fleet as JSON Lines (one facts document per line)"
)


def _read_documents(text: str, source: str, first_line: int, kinds: bool) -> Iterator[Entry]:
    """One or more JSON documents written one after another (pretty-printed ones, say)."""
    decoder = json.JSONDecoder()
    position = 0
    line = first_line
    while True:
        start = _skip_space(text, position)
        line += text.count("\n", position, start)
        if start == len(text):
            return
        try:
            document, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            error_line = first_line + exc.lineno - 1
            why = f"invalid JSON at line {error_line} column {exc.colno} ({exc.msg})"
            yield Entry(source, error_line, None, why)
            return
        except (ValueError, RecursionError) as exc:
            yield Entry(source, line, None, value_problem(exc))
            return
        yield facts_entry(document, source, line, kinds)
        line += text.count("\n", start, end)
        position = end


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position
