"""Opening the catalog that `--catalog` (or TVSELECT_CATALOG) names: a file, or a checkout folder."""

from __future__ import annotations

from collections.abc import Mapping

from tvselect.catalog.model import Catalog, load_catalog


def open_catalog(path: str | None, environ: Mapping[str, str]) -> Catalog:
    """The catalog at `path`, else at $TVSELECT_CATALOG, else the shipped one.

    A file is a catalog document; a folder is a checkout whose `.flox/pkgs/*.nix` recipes
    are read on the fly (the only case that imports the Nix parser), its branch named after
    the folder, or NAME as in `NAME=FOLDER`.
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
    import os

    name, sep, folder = (path or "").partition("=")
    if not sep or os.path.exists(path or ""):
        name, folder = "", path or ""
    if path is None or not os.path.isdir(folder):
        return load_catalog(path)
    from tvselect.catalog.importer import catalog_document, read_builds
    from tvselect.catalog.model import parse_document
    from tvselect.catalog.sources import read_folder

    return parse_document(catalog_document(read_builds([read_folder(folder, name or None)]).builds), path)
