"""Choosing among what an organisation has published: the engine's ranking, then the first published variant.

The published set comes from `--available FILE` (read whole, checked before anything acts), or,
with `--org` and flox on PATH, from `flox show ORG/PACKAGE` asked about the runnable variants best
first, stopping at the first published one; otherwise it is unknown and nothing changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple, TextIO

from tvselect.engine.reasons import Reason, params_of

if TYPE_CHECKING:
    from tvselect.catalog.model import Catalog, Variant

TEMPLATES: dict[str, str] = {
    "published-not-best": "{who} has not published {best} (the best for this machine); {action} {chosen}, the best it has published",
    "published-none": "{who} has published none of the {count} variants that run here",
    "published-none-asked": "{who} has published none of the {count} best variants that run here (tvselect asks flox about {count} at most; --available FILE can list them all)",
}
"""The reasons choosing among what an organisation has published gives."""


class PublishedReason(Reason):
    """A Reason whose code is one of TEMPLATES."""

    __slots__ = ()

    def templates(self) -> Mapping[str, str]:
        return TEMPLATES


def reason(code: str, **params: object) -> Reason:
    """Make one of published's Reasons; parameters are turned into strings."""
    return PublishedReason(code, params_of(params))


class Source(NamedTuple):
    """Where tvselect learns what is published."""

    who: str
    """Who published, in words: the org, or the list's file."""
    available: frozenset[str] | None
    """The `--available` entries (`name` or `name@version`); None when flox is asked."""
    org: str | None
    """The org flox is asked about."""
    flox: str | None
    """The flox executable to ask; None with `--available`."""
    timeout: float
    """Seconds one flox query may take."""


class PublishedChoice(NamedTuple):
    """The best runnable variant the organisation has published, and what it lacks."""

    best: Variant
    """The catalog's best variant for the machine (the engine's choice)."""
    chosen: Variant | None
    """The best published variant that runs; None when none of those looked at is published."""
    unpublished_better: tuple[Variant, ...]
    """The variants ranked above `chosen` (all looked at, when none is published): missing."""
    who: str
    """Who published, in words."""
    org: str | None
    """The org, when one was named."""
    complete: bool
    """False when flox's query budget ran out before every runnable variant was looked at."""


def read_available(path: str, org: str | None, stdin: TextIO) -> frozenset[str]:
    """The entries of the `--available` file at `path` (`-`: standard input); BadInputError when malformed."""
    from tvselect.base.textfile import decode_text, read_bounded
    from tvselect.flox.published import MAX_AVAILABLE_BYTES, parse_available

    label = "--available " + ("standard input" if path == "-" else path)
    data = read_bounded(path, stdin, label, MAX_AVAILABLE_BYTES)
    return parse_available(decode_text(data, label, "a list of packages"), org, label)


def source_of(
    available: frozenset[str] | None, available_path: str | None, org: str | None, environ: Mapping[str, str]
) -> Source | None:
    """Where the published set comes from: the list, flox (with an org and flox on PATH), or None."""
    if available is not None:
        who = org or f"the list in {'standard input' if available_path == '-' else available_path}"
        return Source(who, available, org, None, 0.0)
    if org is None:
        return None
    import shutil

    from tvselect.flox.published import query_timeout

    flox = shutil.which("flox", path=environ.get("PATH"))
    return Source(org, None, org, flox, query_timeout(environ)) if flox else None


class PublishedLookup:
    """Whether a variant is published: from the list, or from flox asked once per package, MAX_QUERIES times at most."""

    def __init__(self, source: Source, catalog: Catalog, environ: Mapping[str, str]) -> None:
        self.source, self.catalog, self.environ = source, catalog, environ
        self.versions: dict[str, frozenset[str] | None] = {}
        """What flox said of each package asked about: its versions, or None when not published."""
        self.spent = False
        """Whether a question went unasked because the query budget was spent."""

    def __call__(self, variant: Variant) -> bool | None:
        """True or False; None when flox would have to be asked once more than its budget allows."""
        from tvselect.flox.install import pinned_version
        from tvselect.flox.published import MAX_QUERIES, flox_versions, is_published

        version = pinned_version(variant, self.catalog)
        source = self.source
        if source.available is not None:
            return is_published(variant.package, version, source.available)
        if variant.package not in self.versions:
            if len(self.versions) >= MAX_QUERIES:
                self.spent = True
                return None
            assert source.flox is not None and source.org is not None
            self.versions[variant.package] = flox_versions(
                source.flox, source.org, variant.package, self.environ, source.timeout
            )
        versions = self.versions[variant.package]
        return versions is not None and (version is None or version in versions)


def choose_published(
    ranked: tuple[Variant, ...], catalog: Catalog, source: Source, environ: Mapping[str, str]
) -> PublishedChoice | None:
    """The best of `ranked` (runnable variants, best first) that `source` has published; None if none runs."""
    if not ranked:
        return None
    lookup = PublishedLookup(source, catalog, environ)
    missing: list[Variant] = []
    for variant in ranked:
        found = lookup(variant)
        if found is None:
            return PublishedChoice(ranked[0], None, tuple(missing), source.who, source.org, False)
        if found:
            return PublishedChoice(ranked[0], variant, tuple(missing), source.who, source.org, True)
        missing.append(variant)
    return PublishedChoice(ranked[0], None, tuple(missing), source.who, source.org, True)


def published_reasons(choice: PublishedChoice, installing: bool) -> tuple[Reason, ...]:
    """What the published set changed, as reasons: empty when the best is published."""
    if choice.chosen is None:
        code = "published-none" if choice.complete else "published-none-asked"
        return (reason(code, who=choice.who, count=len(choice.unpublished_better)),)
    if choice.chosen == choice.best:
        return ()
    return (
        reason(
            "published-not-best",
            who=choice.who,
            best=choice.best.package,
            chosen=choice.chosen.package,
            action="installing" if installing else "choosing",
        ),
    )


def build_commands(variant: Variant, org: str | None) -> tuple[str, str]:
    """The commands that build `variant` in a build-torchvision checkout and publish it to `org`."""
    return (
        f"git checkout {variant.branch} && flox build {variant.package}",
        f"flox publish -o {org or '<org>'} {variant.package}",
    )


def nothing_published_error(choice: PublishedChoice) -> str:
    """Why `--install` installed nothing, and what to build and publish so that it can."""
    build, publish = build_commands(choice.best, choice.org)
    return (
        f"nothing that {choice.who} has published runs on this machine, so nothing was installed; "
        f"build and publish its best variant from a build-torchvision checkout: {build}; {publish}"
    )
