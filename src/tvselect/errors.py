"""The one error hierarchy of tvselect and the exit status each part maps to."""

from __future__ import annotations


class ExitCode:
    """The process exit statuses that tvselect documents (plain ints: an IntEnum costs ~1 ms to create)."""

    OK = 0
    UNEXPECTED = 1
    BAD_INPUT = 2
    NO_MATCH = 3
    INSTALL_FAILED = 4
    VERIFY_FAILED = 5
    INTERRUPTED = 130
    """128 + SIGINT, as a shell reports a program stopped by Ctrl-C."""
    BROKEN_PIPE = 141
    """128 + SIGPIPE: the reader of standard output went away (`tvselect --json | head -1`)."""


class TvselectError(Exception):
    """Base of every error tvselect raises on purpose; the CLI catches only this."""

    exit_code: int = ExitCode.UNEXPECTED


class BadInputError(TvselectError):
    """A value, file or document given to tvselect is malformed or unreadable."""

    exit_code = ExitCode.BAD_INPUT


class CatalogError(BadInputError):
    """The variant catalog is missing, truncated or inconsistent."""


class DataError(CatalogError):
    """A table shipped with tvselect (data/*.json) cannot be read or lacks what it should hold."""


class InstallError(TvselectError):
    """flox could not be started, or it failed."""

    exit_code = ExitCode.INSTALL_FAILED


class RecipeError(CatalogError):
    """A build recipe cannot be read; the message starts with FILE:LINE."""


class FloxQueryError(InstallError):
    """flox could not say which packages an organisation has published (not logged in, no network, hung)."""


class OutputError(TvselectError):
    """Standard output cannot be written (closed, a full disk, a reader that went away)."""

    exit_code = ExitCode.BAD_INPUT


class ReaderGone(OutputError):
    """The reader of standard output went away: nothing to say, and the SIGPIPE exit status."""

    exit_code = ExitCode.BROKEN_PIPE
