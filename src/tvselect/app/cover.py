"""`tvselect plan --cover` / `--max-builds N`: the fewest (or best N) builds for a fleet, and
optionally `--assign FILE`, each host's package.

Every option, the --assign target included, is checked before any document is read or file written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, TextIO

from tvselect.app.inputs import load, options_of
from tvselect.app.plan import PlanRequest, Progress
from tvselect.errors import BadInputError

if TYPE_CHECKING:
    from tvselect.catalog.model import Catalog
    from tvselect.fleet.coverage import CoverPlan
    from tvselect.fleet.plan import Fleet, InvalidDocument, Plan


class CoverRequest(NamedTuple):
    """What `plan --cover` / `--max-builds` was asked."""

    plan: PlanRequest
    """The fleet and the engine's choice, as for a plain plan."""
    max_builds: int | None = None
    """`--max-builds N`; None for `--cover`."""
    time_limit: float | None = None
    """`--time-limit SECONDS` for the solver; None for its default."""
    assign: str | None = None
    """`--assign FILE`: write each host's package there."""
    org: str | None = None
    """`--org ORG`: the flox org in the install arguments of --assign (a placeholder without it)."""
    prebuilt: frozenset[str] = frozenset()
    """Packages already published: they cost no build."""


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
        given = [
            name
            for name, value in (
                ("--time-limit", asked.time_limit),
                ("--assign", asked.assign),
                ("--org", asked.org),
            )
            if value is not None
        ]
        raise BadInputError(f"{given[0]} goes with --cover or --max-builds N")
    return asked


def check_cover_request(request: CoverRequest) -> None:
    """BadInputError for a bad limit, org or --assign target; touches nothing."""
    if request.max_builds is not None and request.max_builds < 0:
        raise BadInputError(f"--max-builds {request.max_builds}: give 0 or more")
    if request.time_limit is not None and not request.time_limit > 0:
        raise BadInputError(f"--time-limit {request.time_limit}: give a number of seconds above 0")
    if request.org is not None:
        from tvselect.flox.install import check_org

        check_org(request.org)
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
    catalog = load(request.plan.catalog_path)
    options = options_of(catalog, request.plan.choice)
    files = expand_paths(request.plan.paths)
    if not files:
        raise BadInputError(f"no *.json or *.jsonl file in {', '.join(request.plan.paths)}")
    fleet = group_fleet(progress(read_entries(files, stdin)))
    for bad in fleet.invalid:
        skipped(bad)
    if not fleet.hosts:
        raise BadInputError("no readable facts document in the input")
    cover = cover_fleet(
        fleet,
        catalog,
        options,
        prebuilt=request.prebuilt,
        max_builds=request.max_builds,
        time_limit=request.time_limit or DEFAULT_TIME_LIMIT,
    )
    if request.assign is not None:
        _write_assignment(request.assign, request.org, fleet, cover, catalog)
    return CoverResult(plan_fleet(fleet, catalog, options), cover, request.assign)


def _write_assignment(path: str, org: str | None, fleet: Fleet, cover: CoverPlan, catalog: Catalog) -> None:
    from tvselect.fleet.assign import write_assignment
    from tvselect.fleet.coverage import assignment_lines
    from tvselect.flox.install import plan_install

    argv = {b.variant: plan_install(b.variant, catalog, org, None).argv for b in cover.builds}
    write_assignment(path, assignment_lines(fleet, cover, argv))
