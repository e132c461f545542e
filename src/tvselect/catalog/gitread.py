"""A git repository read as data: plain object reads, never a program the repository configures.

Files of a revision are read as blobs with `git cat-file --batch` over what `git ls-tree -z -l`
lists: no filter (smudge/clean), textconv, attribute (export-ignore, export-subst), hook,
pager or fsmonitor is ever involved, and no `git archive`. The child gets no GIT_* variable
from tvselect's environment, neither the system nor the user's git configuration, and the
repository by its git directory (never found by walking up from a folder); paths are literal
(no pathspec magic). Every transport is forbidden (GIT_ALLOW_PROTOCOL empty,
GIT_NO_LAZY_FETCH): a partial clone missing a blob gives a one-line error instead of reaching
for the network. Each git runs through base/children.run_bounded: a time limit
(TVSELECT_GIT_TIMEOUT, default 30 s) and a size cap.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from tvselect.base.safe_text import safe_line
from tvselect.errors import BadInputError

GIT_TIMEOUT = 30.0
"""Seconds one git command may take, unless TVSELECT_GIT_TIMEOUT says otherwise."""
TIMEOUT_VARIABLE = "TVSELECT_GIT_TIMEOUT"
MAX_LISTING_BYTES = 4 * 1024 * 1024
"""The most of a listing (ls-tree, for-each-ref) read from git."""
_REGULAR = ("100644", "100755")
_NEUTRAL = (
    "-c", "core.fsmonitor=false",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.pager=cat",
    "-c", "protocol.allow=never",
)  # fmt: skip
_CHILD_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_ALLOW_PROTOCOL": "",
    "GIT_NO_LAZY_FETCH": "1",
    "GIT_NO_REPLACE_OBJECTS": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_LITERAL_PATHSPECS": "1",
    "LC_ALL": "C",
}


class Entry(NamedTuple):
    """One entry of a tree, as `git ls-tree -l` lists it."""

    path: str
    """Its path in the revision."""
    mode: str
    """Its git mode: 100644 or 100755 (a file), 120000 (a symbolic link), 040000, 160000 (a submodule)."""
    kind: str
    """blob, tree or commit."""
    oid: str
    """Its object name."""
    size: int
    """Its size in bytes (0 for a tree or a submodule)."""


class Revision(NamedTuple):
    """One revision of a repository, resolved once to a commit: all its reads see the same tree."""

    repo: str
    """The repository as the user named it (a checkout folder or a bare repository)."""
    name: str
    """The revision as the user named it (a branch)."""
    commit: str
    """The commit it named when it was resolved."""
    env: Mapping[str, str]
    """tvselect's environment (PATH finds git; TVSELECT_GIT_TIMEOUT)."""

    def shown(self, path: str) -> str:
        """How a file of this revision is named in messages: `BRANCH:PATH`, made safe to show."""
        return safe_line(f"{self.name}:{path}")


def git_dir(repo: str) -> str:
    """The git directory of `repo`: its `.git` (folder or gitfile) if it has one, else `repo` itself."""
    dot_git = os.path.join(repo, ".git")
    return dot_git if os.path.lexists(dot_git) else repo


def git_timeout(env: Mapping[str, str]) -> float:
    """TVSELECT_GIT_TIMEOUT in seconds (default 30); BadInputError for a value that is not one."""
    from tvselect.base.children import check_timeout

    raw = env.get(TIMEOUT_VARIABLE, "")
    if not raw:
        return GIT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if value != value or not 0 < value <= 600:
        raise BadInputError(
            f"{TIMEOUT_VARIABLE}={safe_line(raw)[:40]}: give a number of seconds above 0 and at most 600"
        )
    return check_timeout(value, TIMEOUT_VARIABLE)


def git(
    repo: str,
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    limit: int = MAX_LISTING_BYTES,
    stdin: bytes = b"",
) -> bytes:
    """What `git ARGS` prints on standard output, read from `repo` as data; BadInputError (one line) otherwise."""
    from tvselect.base.children import Finished, Flooded, NotStarted, TimedOut, run_bounded

    timeout = git_timeout(env)
    child_env = {k: v for k, v in env.items() if not k.startswith("GIT_")}
    child_env.update(_CHILD_ENV)
    argv = ["git", "--no-pager", "--no-replace-objects", f"--git-dir={git_dir(repo)}", *_NEUTRAL, *args]
    where = f"git {args[0]} in {safe_line(repo)}"
    done = run_bounded(argv, child_env, timeout, limit=limit, stdin=stdin)
    if isinstance(done, NotStarted):
        raise BadInputError(f"git could not be started: {done.reason}")
    if isinstance(done, TimedOut):
        raise BadInputError(f"{where} did not finish in {timeout:g} s ({TIMEOUT_VARIABLE} sets the limit)")
    if isinstance(done, Flooded):
        raise BadInputError(f"{where} printed more than {limit // 1024} KiB, more than it could have to say")
    assert isinstance(done, Finished)
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        if why and "promisor remote" in why[-1]:
            raise BadInputError(
                f"{where}: the files it needs are not in the repository (a partial clone?); "
                "tvselect does not fetch them"
            )
        raise BadInputError(f"{where} failed: {safe_line(why[-1]) if why else done.returncode}")
    return done.stdout


def branches(repo: str, env: Mapping[str, str]) -> tuple[str, ...]:
    """The local branches of a repository."""
    out = git(repo, ["for-each-ref", "--format=%(refname:short)", "refs/heads/"], env)
    return tuple(line for line in out.decode("utf-8", "replace").splitlines() if line)


def resolve(repo: str, name: str, env: Mapping[str, str]) -> Revision:
    """The commit `name` (a branch) names now; BadInputError if it names none."""
    if not name or name.startswith("-") or "\0" in name:
        raise BadInputError(f"--branch {safe_line(repr(name))}: not a branch name")
    out = git(repo, ["rev-parse", "--verify", f"{name}^{{commit}}"], env)
    commit = out.decode("ascii", "replace").strip()
    if not commit or not all(c in "0123456789abcdef" for c in commit):
        raise BadInputError(f"git rev-parse in {safe_line(repo)}: {safe_line(name)} names no commit")
    return Revision(repo, name, commit, env)


def list_tree(revision: Revision, paths: Sequence[str]) -> tuple[Entry, ...]:
    """The entries at `paths` of the revision (a path ending in `/`: the entries in that folder)."""
    out = git(
        revision.repo, ["ls-tree", "-z", "-l", "--full-tree", revision.commit, "--", *paths], revision.env
    )
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, tab, raw_path = record.partition(b"\t")
        fields = meta.decode("ascii", "replace").split()
        path = raw_path.decode("utf-8", "surrogateescape")
        if not tab or len(fields) != 4:
            raise BadInputError(f"git ls-tree in {safe_line(revision.repo)} answered an entry it cannot have")
        size = int(fields[3]) if fields[3].isdigit() else 0
        entries.append(Entry(path, fields[0], fields[1], fields[2], size))
    return tuple(entries)


def _refuse(revision: Revision, entry: Entry, limit: int) -> None:
    """BadInputError naming `entry` unless it is a regular file of at most `limit` bytes."""
    what = {"120000": "a symbolic link", "160000": "a submodule", "040000": "a folder"}.get(entry.mode)
    if what is None and (entry.kind != "blob" or entry.mode not in _REGULAR):
        what = f"an entry of mode {entry.mode}"
    if what is not None:
        raise BadInputError(f"{revision.shown(entry.path)}: {what}, not a file tvselect reads")
    if entry.size > limit:
        raise BadInputError(
            f"{revision.shown(entry.path)}: {entry.size} bytes, more than {limit // 1024} KiB"
        )


def read_entries(revision: Revision, entries: Sequence[Entry], limit: int) -> tuple[tuple[str, bytes], ...]:
    """(path, bytes) of each entry, read as plain blobs in one `git cat-file --batch`.

    Each must be a regular file of at most `limit` bytes (a symlink, submodule, folder or
    larger file is a BadInputError naming it), and git must answer exactly what was listed.
    """
    for entry in entries:
        _refuse(revision, entry, limit)
    if not entries:
        return ()
    cap = sum(e.size + len(e.oid) + 32 for e in entries)
    request = b"".join(f"{e.oid}\n".encode() for e in entries)
    out = git(revision.repo, ["cat-file", "--batch"], revision.env, limit=cap, stdin=request)
    return tuple(zip((e.path for e in entries), _split_batch(revision, out, entries), strict=True))


def _split_batch(revision: Revision, out: bytes, entries: Sequence[Entry]) -> list[bytes]:
    """The blob contents in a `cat-file --batch` answer, checked against what was asked."""
    blobs = []
    at = 0
    for entry in entries:
        end = out.find(b"\n", at)
        header = out[at:end].decode("ascii", "replace").split() if end >= 0 else []
        if header[1:2] == ["missing"]:
            raise BadInputError(
                f"{revision.shown(entry.path)}: its blob is not in the repository "
                "(a partial clone?); tvselect does not fetch it"
            )
        if (
            header != [entry.oid, "blob", str(entry.size)]
            or out[end + 1 + entry.size : end + 2 + entry.size] != b"\n"
        ):
            raise BadInputError(
                f"git cat-file in {safe_line(revision.repo)} answered something that is not {safe_line(entry.path)}"
            )
        blobs.append(out[end + 1 : end + 1 + entry.size])
        at = end + 2 + entry.size
    return blobs


def read_paths(revision: Revision, paths: Sequence[str], limit: int) -> tuple[tuple[str, bytes], ...]:
    """(path, bytes) of each of `paths` in the revision: any regular file of its tree, e.g. a
    `lib/*.nix` a recipe imports; BadInputError naming a path that is missing or not a file."""
    listed = {entry.path: entry for entry in list_tree(revision, paths)}
    for path in paths:
        if path not in listed:
            raise BadInputError(f"{revision.shown(path)}: no such file")
    return read_entries(revision, [listed[p] for p in paths], limit)
