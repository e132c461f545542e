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
MAX_LIB_DEPTH = 3
"""How many folders below `.flox/pkgs` imported files are read from (`lib/` is one)."""
GIT_TIMEOUT = 30.0


class RecipeFiles(NamedTuple):
    """The recipe files of one branch."""

    branch: str
    """The branch they build."""
    files: tuple[tuple[str, bytes], ...]
    """(name in messages, bytes) of each `.nix` recipe, sorted by name."""
    libs: tuple[tuple[str, bytes], ...] = ()
    """(path under `.flox/pkgs/`, bytes) of the `.nix` files in its folders (`lib/cpu-isa.nix`),
    which recipes may import; not recipes themselves."""
    label: str = ""
    """How messages name the `.flox/pkgs` folder these come from."""
    commit: str | None = None
    """The commit they were read from (a branch of a git repository); None for a folder."""

    def importable(self) -> dict[str, bytes]:
        """Every file an import in a recipe may name, by its path under `.flox/pkgs/`."""
        found = {name.rsplit("/", 1)[-1]: data for name, data in self.files}
        found.update(self.libs)
        return found


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
    return RecipeFiles(
        name,
        tuple((os.path.join(pkgs, n), _read_capped(os.path.join(pkgs, n))) for n in names),
        _read_libs(pkgs),
        pkgs,
    )


def _read_libs(pkgs: str) -> tuple[tuple[str, bytes], ...]:
    """The `.nix` files in the folders under `.flox/pkgs` (not following links out of it), bounded
    in depth, number and size."""
    import os

    found: list[tuple[str, bytes]] = []
    for top, dirs, files in os.walk(pkgs, followlinks=False):
        relative = os.path.relpath(top, pkgs)
        depth = 0 if relative == "." else relative.count(os.sep) + 1
        dirs[:] = sorted(d for d in dirs if depth < MAX_LIB_DEPTH and not d.startswith("."))
        if depth == 0:
            continue
        for name in sorted(n for n in files if n.endswith(".nix")):
            full = os.path.join(top, name)
            if os.path.islink(full):
                continue  # a link may point outside the checkout: not read
            found.append((os.path.join(relative, name).replace(os.sep, "/"), _read_capped(full)))
            if len(found) > MAX_RECIPES:
                raise BadInputError(f"{pkgs}: more than {MAX_RECIPES} .nix files in its folders")
    return tuple(found)


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
    """(path, size) of each `.nix` blob under `.flox/pkgs/` of `branch` (recipes, and the files in its
    folders that recipes may import), refusing oversized trees before reading them."""
    out = _git(repo, ["ls-tree", "-r", "-z", "-l", branch, "--", f"{PKGS}/"], env)
    found = []
    for entry in out.split(b"\0"):
        meta, _, path = entry.partition(b"\t")
        fields = meta.split()
        depth = path.count(b"/") - PKGS.count("/") - 1
        if len(fields) == 4 and fields[1] == b"blob" and path.endswith(b".nix") and depth <= MAX_LIB_DEPTH:
            size = int(fields[3]) if fields[3].isdigit() else MAX_RECIPE_BYTES + 1
            found.append((path.decode("utf-8", "replace"), size))
    if not any(p.count("/") == PKGS.count("/") + 1 for p, _ in found):
        raise BadInputError(f"{repo}: branch {branch} has no {PKGS}/*.nix recipe")
    if len(found) > MAX_RECIPES or any(size > MAX_RECIPE_BYTES for _, size in found):
        raise BadInputError(f"{repo}: branch {branch}: recipes too many or too large to be recipes")
    return sorted(found)


def read_git(repo: str, branch: str, env: Mapping[str, str]) -> RecipeFiles:
    """The recipes of one branch, from git objects: one `git archive` of the checked sizes."""
    import io
    import tarfile

    if not branch or branch.startswith("-"):
        raise BadInputError(f"--branch {branch!r}: not a branch name")
    listing = _listing(repo, branch, env)
    data = _git(repo, ["archive", "--format=tar", branch, "--", *(p for p, _ in listing)], env)
    files, libs = [], []
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for path, _ in listing:
            member = archive.extractfile(path)
            data = member.read() if member else b""
            under = path.removeprefix(f"{PKGS}/")
            if "/" in under:
                libs.append((under, data))  # read from the same tree as the recipes
            else:
                files.append((f"{branch}:{path}", data))
    return RecipeFiles(branch, tuple(files), tuple(libs), f"{branch}:{PKGS}", _commit(repo, branch, env))


def _commit(repo: str, branch: str, env: Mapping[str, str]) -> str | None:
    """The commit a branch names, recorded in the catalog so that `catalog diff` shows its age."""
    out = _git(repo, ["rev-parse", "--verify", "--end-of-options", f"{branch}^{{commit}}"], env)
    text = out.decode("ascii", "replace").strip()
    return text if len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text) else None
