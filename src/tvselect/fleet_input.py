"""Reading the facts documents of a fleet: files, directories, JSON Lines or standard input.

Each document becomes one Entry: where it came from (source and line) and either its
Facts or why it could not be read. Nothing is dropped: a bad line is an Entry with an
error, and the caller decides what to say about it.

JSON Lines files of many hosts of few kinds are read fast: a line's text with its `host`
value cut out is the cache key of its Facts, so `json.loads` and `from_document` run once
per kind of machine instead of once per host.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, TextIO

from tvselect.errors import BadInputError
from tvselect.facts import Facts, from_document

STDIN = "-"
SUFFIXES = (".json", ".jsonl")
STDIN_NAME = "<stdin>"

# The top-level `"host": "..."` or `"host": null` of a compact document. The match is only
# trusted after a parse shows it is the top-level key (see _LineReader.read).
_HOST = re.compile(r'"host"\s*:\s*("(?:[^"\\]|\\.)*"|null)')
_SENTINEL = "\x00tvselect-host\x00"
_SENTINEL_JSON = json.dumps(_SENTINEL)
_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Entry:
    """One facts document of the input, read or not."""

    source: str
    """The file it came from, or `<stdin>`."""
    line: int
    """The line it starts on (1-based)."""
    facts: Facts | None
    """Its facts, host included; None when it could not be read."""
    error: str | None
    """Why it could not be read; None when it could."""


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


def read_entries(paths: Iterable[str], stdin: TextIO) -> Iterator[Entry]:
    """Every document of the files `paths` (already expanded), in order.

    A file whose first non-blank line is a JSON value by itself is read as JSON Lines: a
    bad line is one Entry with an error, and reading goes on at the next line. Any other
    file is one JSON document, or several written one after another; a syntax error ends
    that file with one Entry that says where. BadInputError when a file cannot be opened.
    """
    reader = _LineReader()
    for path in paths:
        if path == STDIN:
            yield from _read_stream(stdin, STDIN_NAME, reader)
            continue
        try:
            handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed below, generator
        except OSError as exc:
            raise BadInputError(f"{path}: cannot be read ({exc.strerror})") from None
        with handle:
            try:
                yield from _read_stream(handle, path, reader)
            except UnicodeDecodeError:
                yield Entry(path, 1, None, "not UTF-8 text")
            except OSError as exc:
                raise BadInputError(f"{path}: cannot be read ({exc.strerror})") from None


def _read_stream(stream: TextIO, source: str, reader: _LineReader) -> Iterator[Entry]:
    number = 0
    first = ""
    for first in stream:
        number += 1
        if first.strip():
            break
    else:
        return
    try:
        json.loads(first)
    except ValueError:
        yield from _read_documents(first + stream.read(), source, number)
        return
    yield reader.read(first, source, number)
    for line in stream:
        number += 1
        if line.strip():
            yield reader.read(line, source, number)


def _read_documents(text: str, source: str, first_line: int) -> Iterator[Entry]:
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
        yield _facts_entry(document, source, line)
        line += text.count("\n", start, end)
        position = end


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _facts_entry(document: Any, source: str, line: int) -> Entry:
    try:
        return Entry(source, line, from_document(document, f"{source}:{line}"), None)
    except BadInputError as exc:
        return Entry(source, line, None, _problem(str(exc), f"{source}:{line}"))


def _problem(message: str, where: str) -> str:
    """from_document's message without its 'facts document WHERE: ' prefix (Entry says where)."""
    prefix = f"facts document {where}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


class _LineReader:
    """Reads one JSON Lines line, caching the Facts of each kind of line (host cut out)."""

    def __init__(self) -> None:
        self.cache: dict[str, Facts] = {}

    def read(self, line: str, source: str, number: int) -> Entry:
        match = _HOST.search(line)
        if match is None:
            return self._parse(line, source, number)
        key = line[: match.start(1)] + _SENTINEL_JSON + line[match.end(1) :]
        facts = self.cache.get(key)
        if facts is None:
            facts = self._kind(key)
            if facts is None:
                return self._parse(line, source, number)
            if len(self.cache) >= _CACHE_LIMIT:
                self.cache.clear()
            self.cache[key] = facts
        raw = match.group(1)
        if raw == "null":
            host = None
        elif "\\" not in raw:
            host = raw[1:-1]
        else:
            host = json.loads(raw)
        return Entry(source, number, replace(facts, host=host), None)

    def _kind(self, key: str) -> Facts | None:
        """The facts of a line whose host is the sentinel; None unless that is the top-level host."""
        try:
            document = json.loads(key)
        except ValueError:
            return None
        if not isinstance(document, dict) or document.get("host") != _SENTINEL:
            return None
        try:
            return from_document({**document, "host": None}, "<line>")
        except BadInputError:
            return None

    def _parse(self, line: str, source: str, number: int) -> Entry:
        try:
            document = json.loads(line)
        except json.JSONDecodeError as exc:
            return Entry(source, number, None, f"invalid JSON at column {exc.colno} ({exc.msg})")
        return _facts_entry(document, source, number)
