"""`tvselect plan --cover` / `--max-builds N`: the fewest (or best N) builds for a fleet, and
optionally `--assign FILE`, each host's package.

Every option, the --assign target included, is checked before any document is read or file
written. Packages the `--available` list names count as built already (they cost nothing);
with --cover, flox is not asked what is published: only the list is read. `--org` names the
organisation in the install arguments of --assign.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, TextIO

from tvselect.app.inputs import for_product, load, options_of
from tvselect.app.plan import PlanRequest, Progress, check_plan_request
from tvselect.errors import BadInputError

if TYPE_CHECKING:
    from tvselect.catalog.model import Catalog
    from tvselect.fleet.coverage import CoverPlan
    from tvselect.fleet.plan import Fleet, InvalidDocument, Plan, Published


class CoverRequest(NamedTuple):
    """What `plan --cover` / `--max-builds` was asked."""

    plan: PlanRequest
    """The fleet, the engine's choice, the catalog, `--available` and `--org`, as for a plain plan."""
    max_builds: int | None = None
    """`--max-builds N`; None for `--cover`."""
    time_limit: float | None = None
    """`--time-limit SECONDS` for the solver; None for its default."""
    assign: str | None = None
    """`--assign FILE`: write each host's package there."""


class CoverResult(NamedTuple):
    """A fleet's plan and its cover."""

    plan: Plan
    """Each host's best, as `tvselect plan` gives it."""
    cover: CoverPlan
    """The builds chosen and what each kind gets from them."""
    assigned: str | None
    """The --assign file written; None when not asked for."""


def cover_request(cover: bool, asked: CoverRequest) -> CoverRequest:
    """`asked`, once --cover or --max-builds (one of them) was given for the options that need one."""
    if cover and asked.max_builds is not None:
        raise BadInputError("give --cover or --max-builds N, not both")
    if not cover and asked.max_builds is None:
        named = [
            name
            for name, value in (("--time-limit", asked.time_limit), ("--assign", asked.assign))
            if value is not None
        ]
        raise BadInputError(f"{named[0]} goes with --cover or --max-builds N")
    if asked.plan.missing:
        raise BadInputError(
            "--missing lists each host's best packages; it does not go with --cover or --max-builds"
        )
    return asked


def check_cover_request(request: CoverRequest) -> None:
    """BadInputError for a bad limit, org or --assign target; touches nothing."""
    check_plan_request(request.plan)
    if request.max_builds is not None and request.max_builds < 0:
        raise BadInputError(f"--max-builds {request.max_builds}: give 0 or more")
    if request.time_limit is not None and not request.time_limit > 0:
        raise BadInputError(f"--time-limit {request.time_limit}: give a number of seconds above 0")
    if request.assign is not None:
        from tvselect.fleet.assign import check_assign_target

        check_assign_target(request.assign)


def cover_fleet_plan(
    request: CoverRequest, stdin: TextIO, progress: Progress, skipped: Callable[[InvalidDocument], None]
) -> CoverResult:
    """The fleet's plan and cover; writes --assign last, after everything else succeeded."""
    from tvselect.fleet.cover import DEFAULT_TIME_LIMIT
    from tvselect.fleet.coverage import cover_fleet
    from tvselect.fleet.documents import expand_paths, read_entries
    from tvselect.fleet.plan import group_fleet, plan_fleet

    check_cover_request(request)
    asked = request.plan
    catalog = for_product(load(asked.catalog_path), asked.product)[0]
    published = _published(asked, catalog, stdin)
    options = options_of(catalog, asked.choice)
    files = expand_paths(asked.paths)
    if not files:
        raise BadInputError(f"no *.json or *.jsonl file in {', '.join(asked.paths)}")
    from tvselect.app.plan import checked

    entries = checked(read_entries(files, stdin, kinds=True), catalog.known_capabilities)
    from tvselect.engine.rules import driver_classes

    fleet = group_fleet(progress(entries), driver_classes(catalog))
    for bad in fleet.invalid:
        skipped(bad)
    if not fleet.hosts:
        raise BadInputError("no readable facts document in the input")
    limit = request.time_limit or DEFAULT_TIME_LIMIT
    cover = cover_fleet(
        fleet, catalog, options, published=published, max_builds=request.max_builds, time_limit=limit
    )
    if request.assign is not None:
        _write_assignment(request.assign, asked.org, fleet, cover, catalog)
    return CoverResult(plan_fleet(fleet, catalog, options, published), cover, request.assign)


def _published(asked: PlanRequest, catalog: Catalog, stdin: TextIO) -> Published | None:
    """Whether the `--available` list names a variant; None without a list."""
    if asked.available is None:
        return None
    from tvselect.app.published import PublishedLookup, read_available, source_of

    available = read_available(asked.available, asked.org, stdin)
    source = source_of(available, asked.available, asked.org, {})
    assert source is not None  # a list is given, so flox is never asked
    lookup = PublishedLookup(source, catalog, {})
    return lambda variant: bool(lookup(variant))


def _write_assignment(path: str, org: str | None, fleet: Fleet, cover: CoverPlan, catalog: Catalog) -> None:
    from tvselect.fleet.assign import write_assignment
    from tvselect.fleet.coverage import assignment_lines
    from tvselect.flox.install import plan_install

    argv = {b.variant: plan_install(b.variant, catalog, org, None).argv for b in cover.builds}
    write_assignment(path, assignment_lines(fleet, cover, argv))
