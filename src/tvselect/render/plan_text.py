"""`tvselect plan` as text, with rich (the JSON is render.plan_json)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tvselect.fleet.plan import Plan
from tvselect.render.console import fits, make_console, plural, wrapped

if TYPE_CHECKING:
    from typing import TextIO

    from tvselect.app.plan import MissingPackages

HOSTS_SHOWN = 3


def hosts_text(hosts: tuple[str, ...], shown_at_most: int = HOSTS_SHOWN) -> str:
    """The first hosts, and how many more (markup-escaped)."""
    shown = ", ".join(hosts[:shown_at_most])
    more = len(hosts) - shown_at_most
    return escape(shown + (f", … ({more} more)" if more > 0 else ""))


def render(result: Plan, stream: TextIO) -> None:
    """The plan: packages to build, hosts no variant serves, and the totals."""
    console = make_console(file=stream)
    if result.packages:
        _render_packages(console, result)
    else:
        console.print("[bold]Packages to build[/]: none")
    if result.unserved:
        console.print()
        _render_unserved(console, result)
    console.print()
    for line in _totals_lines(result):
        wrapped(console, line)


def _render_packages(console: Console, result: Plan) -> None:
    """A table when every cell fits the terminal, else one package a line: names are never cut."""
    known = result.totals.missing is not None
    title = "Packages the fleet needs" if known else "Packages to build"
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in ("Package", "Branch", *(["Published"] if known else []), "Hosts", "For example"):
        table.add_column(column, no_wrap=True, justify="right" if column == "Hosts" else "left")
    for item in result.packages:
        count, hosts = str(len(item.hosts)), hosts_text(item.hosts)
        mark = [_published(item.published)] if known else []
        table.add_row(escape(item.variant.package), escape(item.variant.branch), *mark, count, hosts)
    if fits(table, console.width):
        console.print(table)
        return
    console.print(f"[bold]{title}[/]")
    for item in result.packages:
        state = f", {_published(item.published)}" if known else ""
        wrapped(console, f"{escape(item.variant.package)} [dim]({item.variant.branch})[/]{state}", indent=2)
        wrapped(console, f"{plural(len(item.hosts), 'host')}: {hosts_text(item.hosts)}", indent=4)


def _published(published: bool | None) -> str:
    return "[green]yes[/]" if published else "[red]missing[/]"


def _render_unserved(console: Console, result: Plan) -> None:
    console.print("[bold]Hosts with no runnable variant[/]")
    for group in result.unserved:
        wrapped(console, f"- {escape(group.reason)}", indent=2)
        wrapped(console, f"{plural(len(group.hosts), 'host')}: {hosts_text(group.hosts)}", indent=4)


def _totals_lines(result: Plan) -> list[str]:
    totals = result.totals
    line = (
        f"[bold]{plural(totals.hosts, 'host')}[/] ({plural(totals.kinds, 'kind')} of machine): "
        f"[green]{totals.served} served[/] by {plural(totals.packages, 'package')}, "
        + (f"[red]{totals.unserved} unserved[/]" if totals.unserved else "0 unserved")
    )
    lines = [line]
    if totals.missing is not None:
        lines.append(
            f"[bold]{plural(totals.served_published or 0, 'host')}[/] served by published packages today; "
            f"{totals.served_not_best} served, not at their best (a published package runs there, the best "
            f"is missing); {plural(totals.missing, 'package')} still to build (tvselect plan --missing lists them)"
        )
    if totals.invalid:
        documents = plural(totals.invalid, "document")
        lines[-1] += f"; [yellow]{documents} could not be read[/] (listed on stderr)"
    return lines


def missing(result: MissingPackages, stream: TextIO) -> None:
    """`plan --missing`: the packages still to build, one a line."""
    stream.write("".join(name + "\n" for name in result.names))
