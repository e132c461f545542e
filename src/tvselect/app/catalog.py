"""The use cases behind `tvselect catalog import|lint|diff`: each checks every input first,
then acts once, and returns a frozen result for render/ to show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from tvselect.errors import BadInputError

if TYPE_CHECKING:
    from tvselect.catalog.diff import CatalogDiff
    from tvselect.catalog.model import Catalog
    from tvselect.catalog.sources import RecipeFiles


class ImportResult(NamedTuple):
    """A catalog read from recipes."""

    document: dict[str, Any]
    """The catalog document (schema 2), checked by the catalog loader."""
    counts: tuple[tuple[str, int], ...]
    """(branch, variants) in the order read."""
    skipped: tuple[str, ...]
    """One line per recipe left out (with skip_bad)."""
    notes: tuple[str, ...] = ()
    """One line per branch whose recipes pin no nixpkgs: their versions are unknown."""


class ImportRequest(NamedTuple):
    """What `tvselect catalog import` was asked to read."""

    sources: tuple[str, ...]
    """Checkout folders ([NAME=]DIR) or git repositories."""
    branches: tuple[str, ...]
    """`--branch`: the git branches to read."""
    all_branches: bool
    """`--all-branches`: read every local branch."""
    prefer: str
    """`--prefer`: branch names in order of preference, comma-separated ('' for none)."""
    version_of: tuple[str, ...]
    """`--version-of BRANCH=TV,PT`: stated versions."""
    skip_bad: bool
    """`--skip-bad`: leave out the recipes that cannot be read, and list them."""
    output: str | None = None
    """`-o`: the file the catalog will be written to (checked here; None for stdout)."""


def import_recipes(request: ImportRequest, environ: Mapping[str, str]) -> ImportResult:
    """The catalog document of the recipes; the stated versions and -o are checked before any source is read."""
    stated = parse_versions(request.version_of)
    if request.output is not None:
        check_output(request.output)
    files = gather(request.sources, request.branches, request.all_branches, environ)
    preference = [p for p in request.prefer.split(",") if p]
    return import_catalog(files, prefer=preference, stated=stated, skip_bad=request.skip_bad)


def parse_versions(specs: Sequence[str]) -> dict[str, tuple[str, str]]:
    """`--version-of BRANCH=TORCHVISION,PYTORCH` values, checked."""
    from tvselect.base.capability import parse_version

    stated = {}
    for spec in specs:
        branch, _, versions = spec.partition("=")
        torchvision, _, pytorch = versions.partition(",")
        if not branch or parse_version(torchvision) is None or parse_version(pytorch) is None:
            raise BadInputError(
                f"--version-of {spec!r}: write BRANCH=TORCHVISION,PYTORCH, e.g. main=0.23.0,2.8.0"
            )
        stated[branch] = (torchvision, pytorch)
    return stated


def gather(
    specs: Sequence[str], branches: Sequence[str], all_branches: bool, environ: Mapping[str, str]
) -> list[RecipeFiles]:
    """The recipe files SOURCE... names: checkout folders (`NAME=PATH` names the branch), or with
    `branches`/`all_branches`, branches of git repositories read from git objects."""
    import os

    from tvselect.catalog.sources import git_branches, read_folder, read_git

    if not specs:
        raise BadInputError("name at least one SOURCE: a checkout folder, or a git repository with --branch")
    from tvselect.catalog.resolve import branch_names

    found = []
    folders = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or os.path.exists(spec):
            name, path = "", spec
        if branches or all_branches:
            for branch in branches or git_branches(path, environ):
                found.append(read_git(path, branch, environ))
        else:
            folders.append((name, path))
    # Two checkouts of the same folder name (build-pytorch/main, build-vllm/main) are PARENT/NAME.
    found += [read_folder(p, n) for (_, p), n in zip(folders, branch_names(folders), strict=True)]
    names = [source.branch for source in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise BadInputError(f"branch {', '.join(twice)} read twice; name sources with NAME=PATH")
    return found


def import_catalog(
    sources: Sequence[RecipeFiles],
    *,
    prefer: Sequence[str] = (),
    stated: Mapping[str, tuple[str, str]] | None = None,
    skip_bad: bool = False,
) -> ImportResult:
    """Read the recipes into a catalog document, and check it as `--catalog` would load it."""
    from tvselect.catalog.importer import catalog_document, read_builds
    from tvselect.catalog.model import parse_document

    imported = read_builds(sources, skip_bad=skip_bad)
    about = "Read from build-* recipes by tvselect catalog import: " + ", ".join(s.branch for s in sources)
    commits = {s.branch: s.commit for s in sources if s.commit is not None}
    document = catalog_document(imported.builds, prefer=prefer, stated=stated, about=about, commits=commits)
    catalog = parse_document(document, "imported recipes")
    counts = tuple((b, sum(v.branch == b for v in catalog.variants)) for b in catalog.branches)
    return ImportResult(document, counts, imported.skipped, branch_notes(catalog))


def branch_notes(catalog: Any) -> tuple[str, ...]:
    """A line for each branch whose recipes pin no nixpkgs: what they build is not known from them."""
    notes = []
    for name in catalog.branches:
        mine = [v for v in catalog.variants if v.branch == name]
        unpinned = [v for v in mine if v.nixpkgs is None and v.product_version is None]
        if unpinned:
            products = sorted({v.product for v in unpinned})
            notes.append(
                f"{name}: {len(unpinned)} of {len(mine)} recipes pin no nixpkgs (they build with the "
                f"environment's own), so their {', '.join(products)} and PyTorch versions are unknown"
            )
    return tuple(notes)


def check_output(path: str) -> None:
    """Refuse to replace anything but a regular file that tvselect wrote (a catalog it imported)."""
    import os
    import stat

    from tvselect.catalog.importer import GENERATOR

    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise BadInputError(f"-o {path}: cannot be checked ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        raise BadInputError(f"-o {path}: exists and is not a regular file; not replaced")
    document = _own_catalog(path)
    if not isinstance(document, dict) or document.get("generator") != GENERATOR:
        raise BadInputError(f"-o {path}: exists and is not a catalog tvselect wrote; not replaced")


def _own_catalog(path: str) -> object:
    """The document at `path` when it may be a catalog tvselect wrote, else None, parsed only then.

    A foreign file is refused by its size and first bytes, before anything is parsed: tvselect
    writes no catalog larger than --catalog reads, and writes its generator among the first keys.
    """
    import json
    import os

    from tvselect.catalog.importer import GENERATOR
    from tvselect.catalog.model import MAX_CATALOG_BYTES

    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_CATALOG_BYTES:
                return None
            data = handle.read(MAX_CATALOG_BYTES + 1)
        if len(data) > MAX_CATALOG_BYTES or json.dumps(GENERATOR).encode() not in data[:4096]:
            return None
        return json.loads(data)
    except (OSError, ValueError, RecursionError):
        return None


class LintResult(NamedTuple):
    """What `tvselect catalog lint` found."""

    findings: tuple[str, ...]
    """One line per finding, in the order of the recipes."""


def lint_recipes(
    sources: Sequence[str], branches: Sequence[str], all_branches: bool, environ: Mapping[str, str]
) -> LintResult:
    """Every finding in the recipes SOURCE... names (as `gather` reads them)."""
    from tvselect.catalog.lint import lint

    return LintResult(tuple(lint(gather(sources, branches, all_branches, environ))))


class DiffResult(NamedTuple):
    """Two catalogs compared by `tvselect catalog diff`."""

    diff: CatalogDiff
    """Variants added, removed and changed."""
    a: Catalog
    """The first catalog."""
    b: Catalog
    """The second catalog."""


def diff_catalogs(a: str, b: str) -> DiffResult:
    """Compare two catalogs: files, checkout folders ([NAME=]DIR), or `builtin` for the shipped one."""
    from tvselect.catalog import diff
    from tvselect.catalog.resolve import open_catalog

    empty: dict[str, str] = {}
    first = open_catalog(None if a == "builtin" else a, empty)
    second = open_catalog(None if b == "builtin" else b, empty)
    return DiffResult(diff.diff_catalogs(first, second), first, second)
