"""Opening the catalogs that `--catalog` (or TVSELECT_CATALOG) names: files, checkout folders, or
several of them (`--catalog` repeated, or a path list joined by os.pathsep)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tvselect.catalog.model import Catalog, load_catalog

BUILTIN = "builtin"
"""The word for the shipped catalog among several (`--catalog builtin --catalog DIR`)."""


def split_paths(path: str) -> list[str]:
    """The paths of a path list (`A:B` on POSIX); a path that exists as written is one path."""
    import os

    if os.path.exists(path) or os.pathsep not in path:
        return [path]
    return [p for p in path.split(os.pathsep) if p]


def _folder(spec: str) -> tuple[str, str] | None:
    """(branch name or '', folder) when `spec` is a checkout folder (`[NAME=]DIR`); else None."""
    import os

    name, sep, folder = spec.partition("=")
    if not sep or os.path.exists(spec):
        name, folder = "", spec
    return (name, folder) if os.path.isdir(folder) else None


def branch_names(folders: Sequence[tuple[str, str]]) -> list[str | None]:
    """The branch name of each folder: as given, else its folder's name, made `PARENT/NAME` where two
    folders share a name (`build-pytorch/main`, `build-torchaudio/main`)."""
    import os

    base = [name or os.path.basename(os.path.abspath(folder)) for name, folder in folders]
    names: list[str | None] = []
    for (given, folder), short in zip(folders, base, strict=True):
        if given or base.count(short) == 1:
            names.append(given or None)
        else:
            parent = os.path.basename(os.path.dirname(os.path.abspath(folder)))
            names.append(f"{parent}/{short}")
    return names


def _read_folders(folders: Sequence[tuple[str, str]], label: str) -> Catalog:
    """The recipes of these checkout folders, imported together (so ISA names are shared)."""
    from tvselect.catalog.importer import catalog_document, read_builds
    from tvselect.catalog.model import parse_document
    from tvselect.catalog.sources import read_folder

    sources = [read_folder(f, n) for (_, f), n in zip(folders, branch_names(folders), strict=True)]
    return parse_document(catalog_document(read_builds(sources).builds), label)


def open_catalogs(paths: Sequence[str]) -> Catalog:
    """The catalogs at these paths as one: every checkout folder read together, then the files."""
    from tvselect.catalog.merge import merge

    folders = [found for found in map(_folder, paths) if found is not None]
    files = [p for p in paths if _folder(p) is None]
    catalogs = [load_catalog(None if p == BUILTIN else p) for p in files]
    if folders:
        catalogs.append(_read_folders(folders, " + ".join(f for _, f in folders)))
    return merge(catalogs)


def open_catalog(path: str | None, environ: Mapping[str, str]) -> Catalog:
    """The catalog at `path`, else at $TVSELECT_CATALOG, else the shipped one.

    A file is a catalog document; a folder is a checkout whose `.flox/pkgs/*.nix` recipes
    are read on the fly (the only case that imports the Nix parser), its branch named after
    the folder, or NAME as in `NAME=FOLDER`. A path list (os.pathsep) opens each, as one catalog.
    """
    if path is None and environ.get("TVSELECT_CATALOG"):
        from tvselect.base.safe_text import safe_line
        from tvselect.errors import CatalogError

        value = environ["TVSELECT_CATALOG"]
        try:
            return _open(value)
        except CatalogError as exc:
            raise type(exc)(f"TVSELECT_CATALOG={safe_line(value)}: {exc}") from None
    return _open(path)


def _open(path: str | None) -> Catalog:
    if path is None:
        return load_catalog(None)
    paths = split_paths(path)
    if len(paths) > 1:
        return open_catalogs(paths)
    folder = _folder(path)
    if folder is None:
        return load_catalog(None if path == BUILTIN else path)
    return _read_folders([folder], path)
