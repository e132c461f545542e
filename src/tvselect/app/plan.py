"""`tvselect plan`: the packages a fleet needs, from its facts documents."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, NamedTuple, TextIO

from tvselect.app.inputs import Choice, for_product, load, options_of
from tvselect.errors import BadInputError

if TYPE_CHECKING:
    from tvselect.base.capability import Capability
    from tvselect.catalog.model import Catalog, Variant
    from tvselect.facts.model import GpuFacts
    from tvselect.fleet.documents import Entry
    from tvselect.fleet.plan import InvalidDocument as InvalidDocument
    from tvselect.fleet.plan import Plan, Published

Progress = Callable[[Iterable["Entry"]], Iterator["Entry"]]


class PlanRequest(NamedTuple):
    """What `tvselect plan` was asked to plan."""

    paths: tuple[str, ...]
    """Facts documents: files, directories of them, `-` for standard input."""
    choice: Choice
    """What the engine chooses among."""
    catalog_path: str | None = None
    """`--catalog`: None for the built-in catalog."""
    available: str | None = None
    """`--available FILE`: the packages the org has published (`-`: standard input)."""
    org: str | None = None
    """`--org`: the org whose published packages flox is asked about (when there is no list)."""
    missing: bool = False
    """`--missing`: only the packages still to build are wanted."""
    product: str | None = None
    """`--product`: plan this product's packages (default: the catalog's only, or most built, product)."""


class MissingPackages(NamedTuple):
    """`tvselect plan --missing`: the packages still to build."""

    names: tuple[str, ...]
    """Planned and not published, most hosts first, each once."""


def missing_packages(result: Plan) -> MissingPackages:
    """The package names still to build (planned and not published), most hosts first, each once."""
    names = [p.variant.package for p in result.packages if p.published is False]
    return MissingPackages(tuple(dict.fromkeys(names)))


def check_plan_request(request: PlanRequest) -> None:
    """BadInputError for options that do not go together or values that are malformed."""
    if request.org is not None:
        from tvselect.flox.install import check_org

        check_org(request.org)
    if request.missing and request.available is None and request.org is None:
        raise BadInputError("--missing needs --available FILE or --org ORG (what is published)")
    if request.available == "-" and "-" in request.paths:
        raise BadInputError("--available - and the facts documents cannot both read standard input")


def checked(entries: Iterable[Entry], known: frozenset[Capability]) -> Iterator[Entry]:
    """The entries, each document's GPUs checked against the catalog's capabilities as `--gpu` is."""
    from dataclasses import replace

    from tvselect.facts.document import check_known_capabilities

    # What was found of each GPU set seen (entries read with `kinds` share one per kind of
    # line), kept with it so its id stays its own; emptied when it grows too big.
    found: dict[int, tuple[GpuFacts, str | None]] = {}
    for entry in entries:
        if entry.facts is not None:
            gpu = entry.facts.gpu
            seen = found.get(id(gpu))
            if seen is None or seen[0] is not gpu:
                where = f"{entry.source}:{entry.line}"
                try:
                    check_known_capabilities(entry.facts, known, where)
                    seen = (gpu, None)
                except BadInputError as exc:
                    seen = (gpu, str(exc).removeprefix(f"facts document {where}: "))
                if len(found) >= _FOUND_LIMIT:
                    found.clear()
                found[id(gpu)] = seen
            if seen[1] is not None:
                entry = replace(entry, facts=None, error=seen[1])
        yield entry


_FOUND_LIMIT = 4096


def plan_fleet(
    request: PlanRequest,
    stdin: TextIO,
    progress: Progress,
    skipped: Callable[[InvalidDocument], None],
    environ: Mapping[str, str] | None = None,
    warn: Callable[[str], None] | None = None,
) -> Plan:
    """The fleet's plan; `progress` wraps the stream of documents, `skipped` hears of each unreadable one."""
    from tvselect.fleet.documents import expand_paths, read_entries
    from tvselect.fleet.plan import plan

    check_plan_request(request)
    available = None
    if request.available is not None:
        from tvselect.app.published import read_available

        available = read_available(request.available, request.org, stdin)
    catalog, notes = for_product(load(request.catalog_path), request.product)
    for note in notes:
        if warn is not None:
            warn(note)
    options = options_of(catalog, request.choice)
    files = expand_paths(request.paths)
    if not files:
        raise BadInputError(f"no *.json or *.jsonl file in {', '.join(request.paths)}")
    published = _published(request, available, catalog, environ or {}, warn)
    entries = checked(read_entries(files, stdin, kinds=True), catalog.known_capabilities)
    result = plan(progress(entries), catalog, options, published)
    for bad in result.invalid:
        skipped(bad)
    if result.totals.hosts == 0:
        raise BadInputError("no readable facts document in the input")
    return result


def _published(
    request: PlanRequest,
    available: frozenset[str] | None,
    catalog: Catalog,
    environ: Mapping[str, str],
    warn: Callable[[str], None] | None,
) -> Published | None:
    """Whether a variant is published, asked once per variant; None when the published set is unknown."""
    from tvselect.app.published import source_of

    source = source_of(available, request.available, request.org, environ)
    if source is None:
        if request.missing:
            raise BadInputError("--missing with --org needs flox on PATH (or --available FILE)")
        return None
    from tvselect.app.published import PublishedLookup
    from tvselect.flox.published import MAX_QUERIES

    lookup = PublishedLookup(source, catalog, environ)
    say = warn or (lambda _: None)

    def published(variant: Variant) -> bool:
        found = lookup(variant)
        if found is None and not said:
            said.append(True)
            say(
                f"flox was asked about {MAX_QUERIES} packages, its limit for one run; the others count "
                "as missing (--available FILE gives the whole published list)"
            )
        return bool(found)

    said: list[bool] = []
    return published
