"""Reading a file the user named, bounded and never blocking, and turning its bytes into text or JSON.

Every file or standard input a user names (--cpuinfo, --facts, --catalog, plan's inputs) is
read here: regular files and `-` only, at most a given size, with a one-line error naming it.
The tables shipped with tvselect (data/*.json) are read here too, by `shipped_text`.
"""

from __future__ import annotations

import io
import os
import stat
from typing import Any, BinaryIO, TextIO

from tvselect.errors import BadInputError


def read_bounded(path: str, stdin: TextIO | None, label: str, limit: int) -> bytes:
    """`read_user_file` for a plain BadInputError: the bytes of `path` (`-`: standard input), bounded."""
    return read_user_file(path, label, limit, stdin)


def decode_text(data: bytes, label: str, kind: str, error: type[BadInputError] = BadInputError) -> str:
    """`data` as UTF-8 text; `error` starting with `label` if it is empty, binary or not UTF-8.

    `kind` says what the file should have been, e.g. `a /proc/cpuinfo file` or `JSON`.
    """
    if not data.strip():
        raise error(f"{label}: empty")
    if b"\0" in data:
        raise error(f"{label}: binary data, not {kind}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{label}: not UTF-8 text, not {kind}") from None


MAX_JSON_VALUES = 4_000_000
"""The most JSON values a document may hold (a 16 MiB catalog of minimal variants holds ~2 million)."""


def json_values(text: str) -> int:
    """An upper bound of the JSON values `text` parses to, counted before parsing it.

    Each value but the first of a container follows a comma or is an object's key; with the
    containers themselves this bounds the memory json.loads can take: ~100 bytes a value.
    """
    return text.count(",") + text.count(":") + text.count("{") + text.count("[") + 1


def load_json(
    text: str, label: str, error: type[BadInputError] = BadInputError, max_values: int = MAX_JSON_VALUES
) -> Any:
    """`text` parsed as JSON; `error` starting with `label` and saying where it is not JSON.

    Refused before it is parsed when it may hold more than `max_values` values.
    """
    import json

    if json_values(text) > max_values:
        raise error(f"{label}: more than {max_values:,} JSON values, more than it can hold")
    try:
        return json.loads(text, parse_float=finite_float, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise error(f"{label}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})") from None
    except RecursionError:
        raise error(f"{label}: JSON nested too deeply") from None
    except ValueError as exc:
        raise error(f"{label}: {json_value_problem(exc)}") from None


def finite_float(text: str) -> float:
    """A JSON number as a float; ValueError for one too large to be finite (`1e400`)."""
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:20]} is too large")
    return value


def _no_constant(text: str) -> float:
    raise ValueError(f"{text} is not a JSON number")


def json_value_problem(exc: ValueError) -> str:
    """What is wrong with a JSON value that json.loads refused with `exc` (not a syntax error)."""
    if "integer string conversion" in str(exc):
        return "a number with more than 4300 digits"
    return str(exc)


MIB = 1024 * 1024
_CHUNK = 1024 * 1024
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_user_file(
    path: str, label: str, error: type[BadInputError] = BadInputError, *, stdin_allowed: bool = True
) -> BinaryIO:
    """The regular file at `path`, opened for reading without ever blocking on the open.

    A FIFO, device, socket or directory is refused before it is opened (and checked again on
    the open descriptor, which is non-blocking: `/proc/kmsg` and the like then fail, not hang).
    """
    give = _GIVE + _OR_STDIN if stdin_allowed else _GIVE
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise error(f"{label}: {_kind(os.stat(path).st_mode)}, not a regular file; {give}")
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise error(f"{label}: cannot be read ({exc.strerror})") from None
    try:
        mode = os.fstat(handle).st_mode
    except OSError as exc:
        os.close(handle)
        raise error(f"{label}: cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        os.close(handle)
        raise error(f"{label}: {_kind(mode)}, not a regular file; {give}")
    return os.fdopen(handle, "rb", buffering=0)


_GIVE = "give a file"
_OR_STDIN = ", or '-' for standard input"


def read_stream(
    stream: BinaryIO, label: str, limit: int, error: type[BadInputError] = BadInputError
) -> bytes:
    """All of `stream` up to `limit` bytes; `error` naming the limit when there is more, or on a read error."""
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= limit:
            chunk = stream.read(min(_CHUNK, limit + 1 - size))
            if chunk is None:
                raise error(f"{label}: cannot be read (it has nothing to read yet and would block)")
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or "closed"
        raise error(f"{label}: cannot be read ({why})") from None
    if size > limit:
        raise error(f"{label}: larger than {limit // MIB} MiB, which is more than it can be")
    return b"".join(chunks)


def stdin_bytes(stdin: TextIO | None) -> BinaryIO | None:
    """The byte stream under `stdin`, or None when standard input is closed."""
    if stdin is None or stdin.closed:
        return None
    buffer: BinaryIO | None = getattr(stdin, "buffer", None)
    if buffer is None:
        return _Encoded(stdin)  # type: ignore[return-value]
    return buffer


class _Encoded(io.RawIOBase):
    """A text stream without a byte buffer (a StringIO), read as UTF-8 bytes."""

    def __init__(self, text: TextIO) -> None:
        self.text = text
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending:
            chunk = self.text.read(_CHUNK)
            if not chunk:
                return 0
            self.pending = chunk.encode("utf-8", "surrogateescape")
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


def read_user_file(
    path: str,
    label: str,
    limit: int,
    stdin: TextIO | None,
    error: type[BadInputError] = BadInputError,
    *,
    stdin_allowed: bool = True,
) -> bytes:
    """The bytes of the regular file at `path`, or of `stdin` for `-`, at most `limit` of them.

    The one way tvselect reads a file the user named; `error` starting with `label` for a FIFO,
    device or directory, a file larger than `limit`, closed standard input, or a read error.
    Without `stdin_allowed`, `-` is a file name like any other.
    """
    if path == "-" and stdin_allowed:
        stream = stdin_bytes(stdin)
        if stream is None:
            raise error(f"{label}: standard input is closed")
        return read_stream(stream, label, limit, error)
    with open_user_file(path, label, error, stdin_allowed=stdin_allowed) as handle:
        return read_stream(handle, label, limit, error)


def read_capped(path: str, limit: int, *, sized: bool = False) -> tuple[bytes, bool]:
    """The first `limit` bytes of the regular file at `path`, and whether it holds more.

    Opened without blocking and checked on the open descriptor: a FIFO or device put where a
    file was expected (a probe root's /proc/cpuinfo, a sysfs entry) is an OSError, never a hang,
    and so is a file with nothing to read yet (`/proc/kmsg`). With `sized` (files on a disk,
    such as recipes), no more is read than the size the file system gives: a kernel file that
    says 0 (`/proc/kmsg`) is read as empty, never drained. OSError if unreadable.
    """
    import errno

    handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        wanted = min(status.st_size, limit + 1) if sized else limit + 1
        data = _read_upto(handle, wanted, path)
    finally:
        os.close(handle)
    return data[:limit], len(data) > limit


def _read_upto(handle: int, wanted: int, path: str) -> bytes:
    """At most `wanted` bytes from the non-blocking `handle`; OSError when it would block."""
    import errno

    chunks: list[bytes] = []
    size = 0
    while size < wanted:
        try:
            chunk = os.read(handle, min(_CHUNK, wanted - size))
        except BlockingIOError:
            raise OSError(errno.EAGAIN, "it has nothing to read yet and would block", path) from None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def shipped_text(name: str) -> str:
    """The text of `data/NAME` shipped inside the tvselect package; OSError or UnicodeDecodeError if unreadable.

    Read through the file system next to this package, as an installed wheel or a checkout lays
    it out: importing importlib.resources for it would cost a few ms of every run. Only where
    the package has no files (a zip import) does importlib.resources read it.
    """
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        with open(os.path.join(package, "data", name), encoding="utf-8") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        if os.path.isdir(package):
            raise
    from importlib.resources import files

    return files("tvselect").joinpath("data").joinpath(name).read_text(encoding="utf-8")
