"""Reading the facts documents of a fleet: files, directories, JSON Lines or standard input.

Each document becomes one Entry: where it came from (source and line) and either its
Facts or why it could not be read. Nothing is dropped: a bad line is an Entry with an
error, and the caller decides what to say about it.

JSON Lines files of many hosts of few kinds are read fast: a line's text with its `host`
and GPU `uuid` values cut out is the cache key of its Facts, so `json.loads` and
`from_document` run once per kind of machine instead of once per host.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, TextIO, TypeVar

from tvselect.errors import BadInputError
from tvselect.facts.document import from_document
from tvselect.facts.model import ExcludedGpu, Facts, Gpu

STDIN = "-"
SUFFIXES = (".json", ".jsonl")
STDIN_NAME = "<stdin>"

# The value of every `"host"` and `"uuid"` key of a line: the values that tell machines of
# one kind apart. Where each one goes is only trusted after a parse (see _LineReader).
_CUT = re.compile(r'"(host|uuid)"\s*:\s*("(?:[^"\\]|\\.)*"|null)')
_PLACEHOLDER_PREFIX = "\x00tvselect-"
_CACHE_LIMIT = 4096
MIB = 1024 * 1024
MAX_LINE_CHARS = 16 * MIB
"""The longest JSON Lines line read: a facts document is a few kilobytes."""
MAX_TEXT_CHARS = 64 * MIB
"""The most read of a file that is not JSON Lines (one or more documents, pretty-printed)."""


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


def read_entries(paths: Iterable[str], stdin: TextIO | None) -> Iterator[Entry]:
    """Every document of the files `paths` (already expanded), in order.

    A file whose first non-blank line is a JSON value by itself is read as JSON Lines: a
    bad line is one Entry with an error, and reading goes on at the next line. Any other
    file is one JSON document, or several written one after another; a syntax error ends
    that file with one Entry that says where. BadInputError when a file cannot be opened
    (or is not a regular file) and when standard input is closed.
    """
    from tvselect.base.textfile import open_user_file, stdin_bytes

    reader = _LineReader()
    for path in paths:
        if path == STDIN:
            stream = stdin_bytes(stdin)
            if stream is None:
                raise BadInputError("-: standard input is closed")
            yield from _read_file(stream, STDIN_NAME, reader)
            continue
        with open_user_file(path, path) as handle:
            yield from _read_file(handle, path, reader)


def _read_file(raw: BinaryIO, source: str, reader: _LineReader) -> Iterator[Entry]:
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


def _lines(stream: TextIO) -> Iterator[tuple[int, str | None]]:
    """(line number, line) for each line; None for a line longer than MAX_LINE_CHARS, which is skipped."""
    number = 0
    while line := stream.readline(MAX_LINE_CHARS):
        number += 1
        if len(line) < MAX_LINE_CHARS or line.endswith("\n"):
            yield number, line
            continue
        while (rest := stream.readline(MAX_LINE_CHARS)) and not rest.endswith("\n"):
            pass
        yield number, None


_TOO_LONG = f"a line longer than {MAX_LINE_CHARS // MIB} MiB, which no facts document is"


def _read_stream(stream: TextIO, source: str, reader: _LineReader) -> Iterator[Entry]:
    lines = _lines(stream)
    for number, first in lines:
        if first is None:
            yield Entry(source, number, None, _TOO_LONG)
            return
        if first.strip():
            break
    else:
        return
    try:
        json.loads(first)
    except (ValueError, RecursionError):
        rest = stream.read(MAX_TEXT_CHARS)
        if stream.read(1):
            yield Entry(source, number, None, _TOO_BIG)
            return
        yield from _read_documents(first + rest, source, number)
        return
    yield reader.read(first, source, number)
    for number, line in lines:
        if line is None:
            yield Entry(source, number, None, _TOO_LONG)
        elif line.strip():
            yield reader.read(line, source, number)


_TOO_BIG = (
    f"larger than {MAX_TEXT_CHARS // MIB} MiB as one JSON text; "
    "give a big fleet as JSON Lines (one facts document per line)"
)


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
        except (ValueError, RecursionError) as exc:
            yield Entry(source, line, None, _value_problem(exc))
            return
        yield _facts_entry(document, source, line)
        line += text.count("\n", start, end)
        position = end


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _value_problem(exc: ValueError | RecursionError) -> str:
    from tvselect.base.textfile import json_value_problem

    if isinstance(exc, RecursionError):
        return "JSON nested too deeply"
    return json_value_problem(exc)


def _facts_entry(document: Any, source: str, line: int) -> Entry:
    try:
        return Entry(source, line, from_document(document, f"{source}:{line}"), None)
    except BadInputError as exc:
        return Entry(source, line, None, _problem(str(exc), f"{source}:{line}"))
    except (TypeError, ValueError, AttributeError, RecursionError) as exc:
        # from_document names the field for the mistakes it knows; this catches the rest.
        return Entry(source, line, None, f"malformed ({type(exc).__name__})")


def _problem(message: str, where: str) -> str:
    """from_document's message without its 'facts document WHERE: ' prefix (Entry says where)."""
    prefix = f"facts document {where}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


@dataclass(frozen=True, slots=True)
class _Kind:
    """What one kind of line parses to, and where its cut-out values go."""

    facts: Facts
    """The line's facts, with placeholders where host and GPU UUIDs go."""
    host_slot: int | None
    """Which cut-out value is the top-level host; None when the document has no host."""
    gpu_slots: tuple[int, ...]
    """For each GPU, which cut-out value is its UUID (-1: none)."""
    excluded_slots: tuple[int, ...]
    """For each excluded GPU, which cut-out value is its UUID (-1: none)."""


def _placeholder(k: int) -> str:
    return f"\x00tvselect-{k}\x00"


def _slot(value: object) -> int:
    """The number of the placeholder `value` is; -1 for any other value (one a line wrote itself too)."""
    if not isinstance(value, str) or not value.startswith(_PLACEHOLDER_PREFIX):
        return -1
    digits = value[len(_PLACEHOLDER_PREFIX) : -1]
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 9 else -1


def _decode(raw: str) -> str | None:
    if raw == "null":
        return None
    if "\\" not in raw:
        return raw[1:-1]
    value: str = json.loads(raw)
    return value


_G = TypeVar("_G", Gpu, ExcludedGpu)


def _with_uuids(items: tuple[_G, ...], slots: tuple[int, ...], values: list[str]) -> tuple[_G, ...]:
    """`items` with each UUID taken from `values` as `slots` say; `items` itself when no slot is used."""
    if not slots:
        return items
    return tuple(
        item if k < 0 else item._replace(uuid=_decode(values[k]))
        for item, k in zip(items, slots, strict=True)
    )


class _LineReader:
    """Reads JSON Lines lines, parsing each kind of line once.

    The values of every `"host"` and `"uuid"` key are cut out of the line's text and the
    rest is the cache key. On a miss, the key is parsed with numbered placeholders in their
    place, which shows where each value goes (the top-level host, which GPU's UUID, or a
    place the facts never read); a hit puts this line's values there.
    """

    def __init__(self) -> None:
        self.cache: dict[str, _Kind | None] = {}
        self.placeholders: list[str] = []

    def read(self, line: str, source: str, number: int) -> Entry:
        pieces: list[str] = []
        values: list[str] = []
        position = 0
        for match in _CUT.finditer(line):
            if len(values) == len(self.placeholders):
                self.placeholders.append(json.dumps(_placeholder(len(values))))
            pieces.append(line[position : match.start(2)])
            pieces.append(self.placeholders[len(values)])
            values.append(match.group(2))
            position = match.end(2)
        if not values:
            return self._parse(line, source, number)
        pieces.append(line[position:])
        key = "".join(pieces)
        if key in self.cache:
            kind = self.cache[key]
        else:
            kind = self._kind(key)
            if len(self.cache) >= _CACHE_LIMIT:
                self.cache.clear()
            self.cache[key] = kind
        if kind is None or max((kind.host_slot or 0, *kind.gpu_slots, *kind.excluded_slots)) >= len(values):
            # A value that looks like a placeholder without being one (escaped key names): parse it all.
            return self._parse(line, source, number)
        facts = kind.facts
        host = None if kind.host_slot is None else _decode(values[kind.host_slot])
        if kind.gpu_slots or kind.excluded_slots:
            gpu = facts.gpu
            gpu = gpu._replace(
                gpus=_with_uuids(gpu.gpus, kind.gpu_slots, values),
                excluded=_with_uuids(gpu.excluded, kind.excluded_slots, values),
            )
            return Entry(source, number, facts._replace(host=host, gpu=gpu), None)
        return Entry(source, number, facts._replace(host=host), None)

    def _kind(self, key: str) -> _Kind | None:
        """The parse of a key; None when it is not a valid facts document (the full parse says why)."""
        try:
            document = json.loads(key)
        except (ValueError, RecursionError):
            return None
        if not isinstance(document, dict):
            return None
        host_slot = _slot(document.get("host")) if "host" in document else None
        if host_slot == -1:
            return None
        try:
            facts = from_document({**document, "host": None}, "<line>")
        except (BadInputError, TypeError, ValueError, AttributeError, RecursionError):
            return None
        gpu_slots = tuple(_slot(g.uuid) for g in facts.gpu.gpus)
        excluded_slots = tuple(_slot(e.uuid) for e in facts.gpu.excluded)
        return _Kind(
            facts=facts,
            host_slot=host_slot,
            gpu_slots=gpu_slots if any(k >= 0 for k in gpu_slots) else (),
            excluded_slots=excluded_slots if any(k >= 0 for k in excluded_slots) else (),
        )

    def _parse(self, line: str, source: str, number: int) -> Entry:
        try:
            document = json.loads(line)
        except json.JSONDecodeError as exc:
            return Entry(source, number, None, f"invalid JSON at column {exc.colno} ({exc.msg})")
        except (ValueError, RecursionError) as exc:
            return Entry(source, number, None, _value_problem(exc))
        return _facts_entry(document, source, number)
