"""Which packages an organisation has published: a list the user gives, or flox asked one package at a time.

What flox says, read from flox 1.14.1 (github.com/flox/flox at 6536dac28dab945560ce1a6652fe77415ae66800,
2026-08-21; cli/flox/src/commands/show.rs, search.rs, main.rs, floxhub-client/src/error.rs):

- A published package is `<catalog>/<name>`, the catalog being the org (doc/flox-publish.md).
- `flox show <pkg-path>` needs the exact pkg-path. Found: exit 0 and on stdout
  `<pkg-path> - <description>`, `Latest:  <pkg-path>@<version>`, ..., `Other versions:` and then
  one `    <pkg-path>@<version>` a line (`(<systems> only)` may follow).
- Not found (the catalog answers 404): exit 1, stderr `✘ ERROR: no packages matched this pkg-path: '<pkg-path>'`.
- Any other failure: exit 1, stderr `✘ ERROR: catalog error: <cause>` (main.rs joins the error chain
  with ': '): `401 Unauthorized: <detail>` or `403 Forbidden: <detail>` when the catalog refuses,
  `Communication Error: error sending request for url (...)` without a network. A missing login is
  announced first: `! You are not logged in to FloxHub. Run 'flox auth login' to log in.`
- `flox search --json <term>` prints a JSON array of objects with `pkg_path`, `catalog`, `version`,
  `system`, ... and exits 0 even when nothing matched; its search is fuzzy and returns 10 results
  unless `--all`, so tvselect asks `flox show`, and reads `flox search --json` output as a list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tvselect.errors import BadInputError, FloxQueryError

MAX_QUERIES = 8
"""At most this many `flox show` queries in one run."""
QUERY_TIMEOUT = 10.0
"""Seconds one `flox show` may take before it is stopped (TVSELECT_FLOX_TIMEOUT overrides)."""
MAX_OUTPUT = 256 * 1024
"""Bytes of flox's output that tvselect reads; the rest is not looked at."""
MAX_AVAILABLE_BYTES = 16 * 1024 * 1024
"""The largest --available file tvselect reads."""

_NAME = re.compile(r"[A-Za-z0-9_.+-]+")
_NOT_FOUND = "no packages matched this pkg-path"
_REFUSED = ("not logged in", "401 unauthorized", "403 forbidden", "token has expired", "token is invalid")
_NO_NETWORK = ("communication error", "error sending request", "dns error", "connection refused")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def parse_available(text: str, org: str | None = None, label: str = "--available") -> frozenset[str]:
    """The published packages in `text`: `name` or `name@version` entries.

    `text` is one package a line (`#` comments and blank lines allowed, `org/` prefixes and
    `@version` suffixes understood) or the JSON array `flox search --json` prints. An entry of
    another org than `org` is left out. BadInputError, starting with `label`, names a bad line.
    """
    if text.lstrip().startswith("["):
        return _parse_search_json(text, org, label)
    entries = set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            entry = _entry(line, None, org)
        except ValueError:
            raise BadInputError(
                f"{label} line {number}: {raw.strip()[:80]!r} is not a package name"
            ) from None
        if entry is not None:
            entries.add(entry)
    return frozenset(entries)


def _entry(pkg_path: str, version: str | None, org: str | None) -> str | None:
    """`name` or `name@version`; None for another org's package; ValueError when it is no package name."""
    owner, _, name = pkg_path.rpartition("/")
    if "@" in name and version is None:
        name, _, version = name.partition("@")
    if owner and not _NAME.fullmatch(owner):
        raise ValueError(owner)
    if not _NAME.fullmatch(name) or (version is not None and not _NAME.fullmatch(version)):
        raise ValueError(name)
    if owner and org is not None and owner != org:
        return None
    return f"{name}@{version}" if version else name


def _parse_search_json(text: str, org: str | None, label: str) -> frozenset[str]:
    from tvselect.base.textfile import load_json

    doc = load_json(text, label)
    if not isinstance(doc, list):
        raise BadInputError(f"{label}: a JSON array (as 'flox search --json' prints) was expected")
    entries = set()
    for position, item in enumerate(doc):
        try:
            entry = _search_entry(item, org)
        except ValueError:
            raise BadInputError(f"{label}: item {position} has no package name ('pkg_path')") from None
        if entry is not None:
            entries.add(entry)
    return frozenset(entries)


def _search_entry(item: Any, org: str | None) -> str | None:
    if not isinstance(item, dict) or not isinstance(item.get("pkg_path"), str):
        raise ValueError(item)
    path: str = item["pkg_path"]
    catalog = item.get("catalog")
    if "/" not in path and isinstance(catalog, str) and catalog not in ("", "nixpkgs"):
        path = f"{catalog}/{path}"
    version = item.get("version")
    return _entry(path, version if isinstance(version, str) and version else None, org)


def is_published(package: str, version: str | None, available: frozenset[str]) -> bool:
    """Whether `package` (at `version`, when the install pins one) is in `available`.

    A bare name in `available` stands for every version; `name@version` only for that one.
    """
    if package in available:
        return True
    if version is not None:
        return f"{package}@{version}" in available
    prefix = package + "@"
    return any(entry.startswith(prefix) for entry in available)


def package_names(available: frozenset[str]) -> frozenset[str]:
    """The package names in `available`, without versions."""
    return frozenset(entry.partition("@")[0] for entry in available)


def parse_show(text: str, pkg_path: str) -> frozenset[str] | None:
    """The versions `flox show <pkg_path>` lists, or None when `text` is not such an answer."""
    lines = text.splitlines()
    if not lines or not (lines[0] == pkg_path or lines[0].startswith(pkg_path + " - ")):
        return None
    marker = pkg_path + "@"
    versions = set()
    for line in lines[1:]:
        words = line.split()
        for word in words[1:2] if line.startswith("Latest:") else words[:1]:
            if word.startswith(marker) and len(word) > len(marker):
                versions.add(word[len(marker) :])
    return frozenset(versions)


def query_timeout(environ: Mapping[str, str]) -> float:
    """Seconds one flox query may take: TVSELECT_FLOX_TIMEOUT when it is a positive number, else the default."""
    try:
        value = float(environ.get("TVSELECT_FLOX_TIMEOUT", ""))
    except ValueError:
        return QUERY_TIMEOUT
    return value if 0 < value <= 600 else QUERY_TIMEOUT


def flox_versions(
    flox: str, org: str, package: str, environ: Mapping[str, str], timeout: float
) -> frozenset[str] | None:
    """The versions `flox show ORG/PACKAGE` lists; None when flox says ORG has not published it.

    FloxQueryError (exit 4), with flox's own words, when flox is not logged in, cannot reach its
    catalog, hangs past `timeout` seconds, fails otherwise or answers what tvselect cannot read.
    """
    from tvselect.base.children import Finished, Flooded, NotStarted, TimedOut, run_bounded

    pkg_path = f"{org}/{package}"
    outcome = run_bounded([flox, "show", pkg_path], environ, timeout, limit=MAX_OUTPUT)
    if isinstance(outcome, NotStarted):
        raise FloxQueryError(f"flox could not be started to ask about {pkg_path} ({outcome.reason})")
    if isinstance(outcome, TimedOut):
        raise FloxQueryError(
            f"'flox show {pkg_path}' did not answer within {timeout:g} s and was stopped; "
            "nothing was installed (TVSELECT_FLOX_TIMEOUT sets the limit)"
        )
    if isinstance(outcome, Flooded):
        first = _first_line(_text(outcome.stdout or outcome.stderr))
        raise FloxQueryError(
            f"'flox show {pkg_path}' answered something tvselect cannot read: {first!r} (more than "
            f"{outcome.limit // 1024} KiB; it was stopped)"
        )
    assert isinstance(outcome, Finished)
    out, err = _text(outcome.stdout), _text(outcome.stderr)
    if outcome.returncode == 0:
        versions = parse_show(out, pkg_path)
        if versions is None:
            raise FloxQueryError(
                f"'flox show {pkg_path}' answered something tvselect cannot read: {_first_line(out)!r}"
            )
        return versions
    _failed(pkg_path, outcome.returncode, err)
    return None


def _failed(pkg_path: str, status: int, err: str) -> None:
    """False for flox's 'no packages matched'; FloxQueryError with flox's words for anything else."""
    lowered = err.lower()
    words = _flox_words(err)
    # Checked before 'not found': an org's catalog may look empty to a user who is not logged in.
    if any(mark in lowered for mark in _REFUSED):
        raise FloxQueryError(f"flox cannot see {pkg_path}: not logged in or not allowed ({words})")
    if _NOT_FOUND in lowered:
        return
    if any(mark in lowered for mark in _NO_NETWORK):
        raise FloxQueryError(f"flox could not reach its catalog to ask about {pkg_path} ({words})")
    how = f"was killed by signal {-status}" if status < 0 else f"failed with exit status {status}"
    raise FloxQueryError(f"'flox show {pkg_path}' {how} ({words})")


def _text(data: bytes) -> str:
    return _ANSI.sub("", data[:MAX_OUTPUT].decode("utf-8", errors="replace"))


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0][:120] if stripped else "nothing"


def _flox_words(err: str) -> str:
    """flox's error lines (`✘ ERROR: ...` and the warnings before it), joined, at most 400 characters."""
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ERROR:" in line), 0)
    warnings = [line for line in lines[:start] if line.startswith("!")]
    said = " ".join(warnings + lines[start:]) or "flox said nothing"
    return said if len(said) <= 400 else said[:399] + "…"
