"""`tvselect plan`: the packages a fleet needs, which are published, and the fewest builds that serve it."""

# No `from __future__ import annotations` here: typer reads these signatures on every run,
# and string annotations cost it a compile and eval each (measured: ~1.5 ms a run).
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from tvselect.cli import complete
from tvselect.cli.options import (
    AvailableOpt,
    BranchOpt,
    CatalogOpt,
    CpuOnlyOpt,
    FormatOpt,
    JsonOpt,
    NoColorOpt,
    WorkloadOpt,
    catalog_arg,
    output_format,
)
from tvselect.cli.output import warn
from tvselect.cli.root import app
from tvselect.errors import ExitCode

if TYPE_CHECKING:
    from tvselect.app.cover import CoverRequest
    from tvselect.app.plan import InvalidDocument, Progress


@app.command(name="plan")
def plan_(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATH...",
            help="Facts documents ('tvselect probe --json'): files, directories of them, '-' for stdin.",
            show_default=False,
        ),
    ] = None,
    workload: WorkloadOpt = "general",
    branch: BranchOpt = "auto",
    cpu_only: CpuOnlyOpt = False,
    json_: JsonOpt = False,
    format_: FormatOpt = None,
    catalog_path: CatalogOpt = None,
    available: AvailableOpt = None,
    org: Annotated[
        str | None,
        typer.Option("--org", metavar="ORG", help="Ask flox which planned packages ORG has published."),
    ] = None,
    missing: Annotated[
        bool,
        typer.Option(
            "--missing",
            help="Print only the packages still to build, one a line (with --available or --org).",
        ),
    ] = False,
    cover: Annotated[
        bool, typer.Option("--cover", help="The fewest builds that serve every host some variant serves.")
    ] = False,
    max_builds: Annotated[
        int | None,
        typer.Option(
            "--max-builds", metavar="N", help="The best N builds: most hosts served, least given up."
        ),
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option(
            "--time-limit",
            metavar="SECONDS",
            help="With --cover/--max-builds: the solver's limit (default 30).",
        ),
    ] = None,
    assign: Annotated[
        str | None,
        typer.Option("--assign", metavar="FILE", help="With --cover/--max-builds: one JSON line per host."),
    ] = None,
    product: Annotated[
        str | None,
        typer.Option(
            "--product",
            autocompletion=complete.products,
            metavar="NAME",
            help="Plan this product's packages: pytorch, torchvision, torchaudio or vllm (one a plan).",
        ),
    ] = None,
    no_color: NoColorOpt = False,
) -> int:
    """Plan a fleet: which packages to build for which hosts, and which hosts no build serves.

    Reads one facts document per file, or JSON Lines (one per line). A document that cannot
    be read is reported on stderr with its file and line, and left out. With --available or
    --org, each package is marked published or missing. With --cover or --max-builds N, chooses
    the builds (proved optimal, or says the time limit stopped it) and shows what each kind of
    machine gives up. Exit status 0 when every host is served, 3 when some are not, 2 for bad
    input, 4 when flox cannot say what is published.

    \b
    Examples:
      tvselect plan facts/           # probe --json documents
      tvselect plan facts/ --cover   # the fewest builds
    """
    import os
    from functools import partial

    from tvselect.app.inputs import Choice
    from tvselect.app.plan import PlanRequest, plan_fleet
    from tvselect.render.progress import with_progress

    fmt = output_format(json_, format_)
    if missing and fmt != "text":
        from tvselect.errors import BadInputError

        raise BadInputError(f"--missing prints plain names; leave out {'--json' if json_ else '--format'}")
    request = PlanRequest(
        tuple(paths or ()),
        Choice(workload, branch, cpu_only),
        catalog_arg(catalog_path),
        available,
        org,
        missing,
        product,
    )
    progress = partial(with_progress, enabled=fmt == "text" and sys.stderr.isatty(), label="reading facts")
    if cover or max_builds is not None or time_limit is not None or assign is not None:
        from tvselect.app.cover import CoverRequest, cover_request

        wanted = cover_request(cover, CoverRequest(request, max_builds, time_limit, assign))
        return _plan_cover(wanted, progress, fmt)
    from tvselect.render.emit import emit

    result = plan_fleet(request, sys.stdin, progress, _skipped, os.environ, warn)
    if missing:
        from tvselect.app.plan import missing_packages

        emit(missing_packages(result), fmt)
    else:
        emit(result, fmt)
    return ExitCode.NO_MATCH if result.totals.unserved else ExitCode.OK


def _skipped(bad: "InvalidDocument") -> None:
    """The warning for a facts document that cannot be read, and is left out."""
    warn(f"{bad.source}:{bad.line}: skipped: {bad.error}")


def _plan_cover(request: "CoverRequest", progress: "Progress", fmt: str) -> int:
    from tvselect.app.cover import cover_fleet_plan
    from tvselect.render.emit import emit

    result = cover_fleet_plan(request, sys.stdin, progress, _skipped)
    emit(result, fmt)
    return ExitCode.NO_MATCH if result.cover.totals.unserved else ExitCode.OK
