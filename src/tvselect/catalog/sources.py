"""Where recipes come from: a checkout folder's `.flox/pkgs/*.nix`, or a branch of a git repository
read as plain git objects (gitread.py: the work tree untouched, nothing the repository configures run).

Every recipe file is read bounded and without blocking (a regular file, at most
MAX_RECIPE_BYTES); every name shown in a message passes through `safe_line`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from tvselect.base.safe_text import safe_line
from tvselect.catalog.nix import MAX_RECIPE_BYTES
from tvselect.errors import BadInputError

if TYPE_CHECKING:
    from tvselect.catalog.gitread import Entry, Revision

PKGS = ".flox/pkgs"
MAX_RECIPES = 2000
MAX_LIB_DEPTH = 3
"""How many folders below `.flox/pkgs` imported files are read from (`lib/` is one)."""
MAX_SOURCE_BYTES = 32 * 1024 * 1024
"""The most bytes of recipes read from one folder or branch (real recipes are under 10 KiB each)."""


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


def read_recipe_file(path: str) -> bytes:
    """The bytes of a recipe file: a regular file opened without blocking, at most one byte over
    MAX_RECIPE_BYTES (nix.py then says it is too large); BadInputError naming it otherwise."""
    from tvselect.base.textfile import read_capped

    try:
        data, more = read_capped(path, MAX_RECIPE_BYTES, sized=True)
    except OSError as exc:
        raise BadInputError(f"{safe_line(path)}: cannot be read ({exc.strerror or exc})") from None
    return data + b" " if more else data


def read_folder(path: str, branch: str | None = None) -> RecipeFiles:
    """The recipes of a checkout folder; the branch is named after the folder unless given."""
    import os

    pkgs = os.path.normpath(os.path.join(path, PKGS))
    try:
        names = sorted(n for n in os.listdir(pkgs) if n.endswith(".nix"))
    except OSError as exc:
        raise BadInputError(f"{safe_line(path)}: no readable {PKGS} folder ({exc.strerror})") from None
    if not names:
        raise BadInputError(f"{safe_line(pkgs)}: no *.nix recipe")
    if len(names) > MAX_RECIPES:
        raise BadInputError(f"{safe_line(pkgs)}: {len(names)} recipes, more than {MAX_RECIPES}")
    name = branch or os.path.basename(os.path.abspath(path))
    files, total = [], 0
    for n in names:
        data = read_recipe_file(os.path.join(pkgs, n))
        total += len(data)
        if total > MAX_SOURCE_BYTES:
            raise BadInputError(_too_much(safe_line(pkgs)))
        files.append((os.path.join(pkgs, n), data))
    return RecipeFiles(name, tuple(files), _read_libs(pkgs, total), pkgs)


def _too_much(where: str) -> str:
    return f"{where}: recipes of more than {MAX_SOURCE_BYTES // (1024 * 1024)} MiB in all; real ones are a few KiB each"


def _read_libs(pkgs: str, total: int) -> tuple[tuple[str, bytes], ...]:
    """The `.nix` files in the folders under `.flox/pkgs` (links not followed: one may point out of
    the checkout), bounded in depth, number and, with the recipes' `total`, size."""
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
                continue
            data = read_recipe_file(full)
            total += len(data)
            if total > MAX_SOURCE_BYTES:
                raise BadInputError(_too_much(safe_line(pkgs)))
            found.append((os.path.join(relative, name).replace(os.sep, "/"), data))
            if len(found) > MAX_RECIPES:
                raise BadInputError(f"{safe_line(pkgs)}: more than {MAX_RECIPES} .nix files in its folders")
    return tuple(found)


def git_branches(repo: str, env: Mapping[str, str]) -> tuple[str, ...]:
    """The local branches of a repository."""
    from tvselect.catalog.gitread import branches

    return branches(repo, env)


def read_git(repo: str, branch: str, env: Mapping[str, str]) -> RecipeFiles:
    """The recipes of one branch, from git objects: each `.flox/pkgs/*.nix` blob, as it is stored."""
    from tvselect.catalog.gitread import resolve

    return read_revision(resolve(repo, branch, env))


def read_revision(revision: Revision) -> RecipeFiles:
    """The recipes of a resolved revision; `gitread.read_paths(revision, …)` reads any other file
    of the same tree (a `lib/*.nix` a recipe imports), as of the same commit."""
    from tvselect.catalog.gitread import list_tree, read_entries

    repo, branch = revision.repo, revision.name
    entries = list_tree(revision, [f"{PKGS}/"])
    listing = [e for e in entries if e.path.endswith(".nix") and e.kind != "tree"]
    if not listing:
        raise BadInputError(f"{safe_line(repo)}: branch {safe_line(branch)} has no {PKGS}/*.nix recipe")
    if len(listing) > MAX_RECIPES:
        raise BadInputError(f"{revision.shown(PKGS)}: {len(listing)} recipes, more than {MAX_RECIPES}")
    if sum(e.size for e in listing) > MAX_SOURCE_BYTES:
        raise BadInputError(_too_much(revision.shown(PKGS)))
    files = read_entries(revision, sorted(listing), MAX_RECIPE_BYTES)
    libs = _git_libs(revision, [e for e in entries if e.kind == "tree"], sum(e.size for e in listing))
    return RecipeFiles(
        branch,
        tuple((f"{branch}:{path}", data) for path, data in files),
        libs,
        revision.shown(PKGS),
        revision.commit,
    )


def _git_libs(revision: Revision, trees: list[Entry], total: int) -> tuple[tuple[str, bytes], ...]:
    """The `.nix` files in the folders under `.flox/pkgs` of the same commit as the recipes (that
    recipes may import), bounded in depth, number and size; links and submodules are not read."""
    from tvselect.catalog.gitread import list_tree, read_entries

    found: list[tuple[str, bytes]] = []
    for _ in range(MAX_LIB_DEPTH):
        if not trees:
            break
        entries = list_tree(revision, [f"{t.path}/" for t in trees])
        blobs = sorted(
            e for e in entries if e.kind == "blob" and e.mode != "120000" and e.path.endswith(".nix")
        )
        total += sum(e.size for e in blobs)
        if len(found) + len(blobs) > MAX_RECIPES or total > MAX_SOURCE_BYTES:
            raise BadInputError(_too_much(revision.shown(PKGS)))
        found += [(p.removeprefix(f"{PKGS}/"), d) for p, d in read_entries(revision, blobs, MAX_RECIPE_BYTES)]
        trees = [e for e in entries if e.kind == "tree"]
    return tuple(found)
