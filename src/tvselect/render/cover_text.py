"""`plan --cover` / `--max-builds` as text, with rich (the JSON is render.cover_json).

Package names are never cut: their columns do not wrap, and the other columns wrap around them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tvselect.fleet.coverage import CoverPlan, KindOutcome
from tvselect.render.console import fits, make_console, plural, wrapped
from tvselect.render.plan_text import hosts_text

if TYPE_CHECKING:
    from typing import TextIO

    from tvselect.app.cover import CoverResult

CRITERIA = {
    "builds": "the number of builds",
    "served": "the hosts served",
    "off-sm": "the hosts off their best SM",
    "lower-isa": "the hosts on a lower ISA",
    "other-branch": "the hosts on a less preferred branch",
    "not-best": "the hosts not on their own best build",
}


def render(result: CoverResult, stream: TextIO) -> None:
    """The builds, what each kind of machine gets against its best, the totals and the proof."""
    cover, assigned = result.cover, result.assigned
    console = make_console(file=stream)
    builds = _builds_table(cover)
    if not cover.builds:
        console.print("[bold]Builds[/]: none")
    elif fits(builds, console.width):
        console.print(builds)
    else:
        _builds_lines(console, cover, str(builds.title))
    console.print()
    kinds = _kinds_table(cover.kinds)
    if fits(kinds, console.width):
        console.print(kinds)
    else:
        _kinds_lines(console, cover.kinds, str(kinds.title))
    console.print()
    totals = cover.totals
    published = f" and {_count(totals.prebuilt, 'published package')}" if totals.prebuilt else ""
    line = f"[bold]{_count(totals.builds, 'build')}[/]{published} serve [green]{_count(totals.served, 'host')}[/]"
    line += f"; [red]{totals.unserved} unserved[/]" if totals.unserved else "; 0 unserved"
    console.print(
        line + f". Given up: {totals.off_sm} hosts off their best SM, {totals.lower_isa} on a lower ISA, "
        f"{totals.other_branch} on a less preferred branch."
    )
    console.print(_proof(cover))
    if assigned is not None:
        console.print(f"Each host's package written to {escape(assigned)}")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _builds_table(cover: CoverPlan) -> Table:
    title = (
        "Builds that serve the fleet" if cover.max_builds is None else f"At most {cover.max_builds} builds"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("Package", no_wrap=True)
    table.add_column("Branch", no_wrap=True)
    table.add_column("Kinds", justify="right", no_wrap=True, min_width=5)
    table.add_column("Hosts", justify="right", no_wrap=True, min_width=5)
    table.add_column("For example", overflow="fold")
    for build in cover.builds:
        package = escape(build.variant.package) + ("\n[dim](published)[/]" if build.prebuilt else "")
        table.add_row(
            package,
            escape(build.variant.branch),
            str(build.kinds),
            str(len(build.hosts)),
            hosts_text(build.hosts, 6),
        )
    return table


def _kinds_table(kinds: tuple[KindOutcome, ...]) -> Table:
    table = Table(title="What each kind of machine gets, against its best", title_justify="left")
    table.add_column("Kind of machine (first host)", overflow="fold")
    table.add_column("Hosts", justify="right", no_wrap=True, min_width=5)
    table.add_column("Gets", no_wrap=True)
    table.add_column("Gives up", overflow="fold")
    for row in _kind_rows(kinds):
        table.add_row(*row)
    return table


def _kind_rows(kinds: tuple[KindOutcome, ...]) -> list[tuple[str, str, str, str]]:
    """Each kind's row: the machine and its first host, hosts, what it gets, what it gives up (markup)."""
    rows = []
    for kind in kinds:
        got = kind.got
        gets = (
            f"{escape(got.variant.package)}\n[dim]{escape(got.variant.branch)}[/]"
            if got
            else "[red]nothing[/]"
        )
        if kind.gives_up == ("unserved",):
            why = "no variant runs there" if kind.best is None else "left out by --max-builds"
            given = f"[red]unserved[/] ({why})"
        else:
            given = escape("; ".join(kind.gives_up)) if kind.gives_up else "nothing: its best"
        rows.append((f"{escape(kind.machine)} ({escape(kind.example)})", str(kind.hosts), gets, given))
    return rows


def _builds_lines(console: Console, cover: CoverPlan, title: str) -> None:
    """The builds one a line, for a terminal too narrow for their table: names stay whole."""
    console.print(f"[bold]{escape(title)}[/]")
    for build in cover.builds:
        published = " [dim](published)[/]" if build.prebuilt else ""
        wrapped(
            console, f"{escape(build.variant.package)} [dim]({build.variant.branch})[/]{published}", indent=2
        )
        counts = f"{plural(build.kinds, 'kind')}, {plural(len(build.hosts), 'host')}"
        wrapped(console, f"{counts}: {hosts_text(build.hosts, 6)}", indent=4)


def _kinds_lines(console: Console, kinds: tuple[KindOutcome, ...], title: str) -> None:
    """What each kind gets, one block a kind, for a terminal too narrow for the table."""
    console.print(f"[bold]{escape(title)}[/]")
    for kind, (machine, _, _, given) in zip(kinds, _kind_rows(kinds), strict=True):
        wrapped(console, f"- {machine}: {plural(kind.hosts, 'host')}", indent=2)
        got = kind.got
        gets = (
            f"{escape(got.variant.package)} [dim]({escape(got.variant.branch)})[/]"
            if got
            else "[red]nothing[/]"
        )
        wrapped(console, f"gets {gets}", indent=4)
        wrapped(console, f"gives up {given}", indent=4)


def _proof(cover: CoverPlan) -> str:
    if cover.proved:
        return f"Optimal: proved by the HiGHS solver in {cover.seconds:.2f} s."
    stopped = CRITERIA.get(cover.stopped or "", cover.stopped or "")
    return (
        f"[yellow]Not proved optimal[/]: the time limit ({cover.time_limit:g} s) stopped the solver while "
        f"it minimised {stopped}; this is the best set it had found. Raise --time-limit to search longer."
    )
