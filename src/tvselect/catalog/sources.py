"""Where recipes come from: a checkout folder's `.flox/pkgs/*.nix`, or a branch of a git repository
read from git objects (the work tree untouched) through the `git` command, bounded in time and size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from tvselect.catalog.nix import MAX_RECIPE_BYTES
from tvselect.errors import BadInputError

PKGS = ".flox/pkgs"
MAX_RECIPES = 2000
MAX_SOURCE_BYTES = 32 * 1024 * 1024
"""The most bytes of recipes read from one folder or branch (real recipes are under 10 KiB each)."""
GIT_TIMEOUT = 30.0


class RecipeFiles(NamedTuple):
    """The recipe files of one branch."""

    branch: str
    """The branch they build."""
    files: tuple[tuple[str, bytes], ...]
    """(name in messages, bytes) of each `.nix` file, sorted by name."""


def _read_capped(path: str) -> bytes:
    import os
    import stat

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise BadInputError(f"{path}:1: not a regular file")
        with open(path, "rb") as handle:
            return handle.read(MAX_RECIPE_BYTES + 1)  # one byte over: nix.py says it is too large
    except OSError as exc:
        raise BadInputError(f"{path}: cannot be read ({exc.strerror})") from None


def read_folder(path: str, branch: str | None = None) -> RecipeFiles:
    """The recipes of a checkout folder; the branch is named after the folder unless given."""
    import os

    pkgs = os.path.normpath(os.path.join(path, PKGS))
    try:
        names = sorted(n for n in os.listdir(pkgs) if n.endswith(".nix"))
    except OSError as exc:
        raise BadInputError(f"{path}: no readable {PKGS} folder ({exc.strerror})") from None
    if not names:
        raise BadInputError(f"{pkgs}: no *.nix recipe")
    if len(names) > MAX_RECIPES:
        raise BadInputError(f"{pkgs}: {len(names)} recipes, more than {MAX_RECIPES}")
    name = branch or os.path.basename(os.path.abspath(path))
    files, total = [], 0
    for n in names:
        data = _read_capped(os.path.join(pkgs, n))
        total += len(data)
        if total > MAX_SOURCE_BYTES:
            raise BadInputError(_too_much(pkgs))
        files.append((os.path.join(pkgs, n), data))
    return RecipeFiles(name, tuple(files))


def _too_much(where: str) -> str:
    return f"{where}: recipes of more than {MAX_SOURCE_BYTES // (1024 * 1024)} MiB in all; real ones are a few KiB each"


def _git(repo: str, args: list[str], env: Mapping[str, str]) -> bytes:
    from tvselect.base.children import Finished, NotStarted, TimedOut, run_bounded

    done = run_bounded(["git", "-C", repo, *args], {**env, "GIT_TERMINAL_PROMPT": "0"}, GIT_TIMEOUT)
    if isinstance(done, NotStarted):
        raise BadInputError(f"git could not be started: {done.reason}")
    if isinstance(done, TimedOut):
        raise BadInputError(f"git {args[0]} in {repo} did not finish in {GIT_TIMEOUT:g} s")
    assert isinstance(done, Finished)
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BadInputError(f"git {args[0]} in {repo} failed: {why[-1] if why else done.returncode}")
    return done.stdout


def git_branches(repo: str, env: Mapping[str, str]) -> tuple[str, ...]:
    """The local branches of a repository."""
    out = _git(repo, ["for-each-ref", "--format=%(refname:short)", "refs/heads/"], env)
    return tuple(line for line in out.decode("utf-8", "replace").splitlines() if line)


def _listing(repo: str, branch: str, env: Mapping[str, str]) -> list[tuple[str, int]]:
    """(path, size) of each recipe blob of `branch`, refusing oversized trees before reading them."""
    out = _git(repo, ["ls-tree", "-z", "-l", branch, "--", f"{PKGS}/"], env)
    found = []
    for entry in out.split(b"\0"):
        meta, _, path = entry.partition(b"\t")
        fields = meta.split()
        if len(fields) == 4 and fields[1] == b"blob" and path.endswith(b".nix"):
            size = int(fields[3]) if fields[3].isdigit() else MAX_RECIPE_BYTES + 1
            found.append((path.decode("utf-8", "replace"), size))
    if not found:
        raise BadInputError(f"{repo}: branch {branch} has no {PKGS}/*.nix recipe")
    if len(found) > MAX_RECIPES or any(size > MAX_RECIPE_BYTES for _, size in found):
        raise BadInputError(f"{repo}: branch {branch}: recipes too many or too large to be recipes")
    if sum(size for _, size in found) > MAX_SOURCE_BYTES:
        raise BadInputError(_too_much(f"{repo}: branch {branch}"))
    return sorted(found)


def read_git(repo: str, branch: str, env: Mapping[str, str]) -> RecipeFiles:
    """The recipes of one branch, from git objects: one `git archive` of the checked sizes."""
    import io
    import tarfile

    if not branch or branch.startswith("-"):
        raise BadInputError(f"--branch {branch!r}: not a branch name")
    listing = _listing(repo, branch, env)
    data = _git(repo, ["archive", "--format=tar", branch, "--", *(p for p, _ in listing)], env)
    files = []
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for path, _ in listing:
            member = archive.extractfile(path)
            files.append((f"{branch}:{path}", member.read() if member else b""))
    return RecipeFiles(branch, tuple(files))
