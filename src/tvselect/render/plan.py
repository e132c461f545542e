"""A fleet plan, for a person, with rich. Imported only on the path that prints for a person."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from tvselect.fleet.plan import Plan
from tvselect.render.safe_console import safe_console

HOSTS_SHOWN = 3


def hosts_text(hosts: tuple[str, ...], shown_at_most: int = HOSTS_SHOWN) -> str:
    """The first hosts, and how many more (markup-escaped)."""
    shown = ", ".join(hosts[:shown_at_most])
    more = len(hosts) - shown_at_most
    return escape(shown + (f", … ({more} more)" if more > 0 else ""))


def render_plan(result: Plan) -> None:
    """The plan: packages to build, hosts no variant serves, and the totals."""
    console = safe_console()
    totals = result.totals
    known = totals.missing is not None
    if result.packages:
        title = "Packages the fleet needs" if known else "Packages to build"
        table = Table(title=title, title_justify="left", show_lines=False)
        table.add_column("Package")
        table.add_column("Branch")
        if known:
            table.add_column("Published")
        table.add_column("Hosts", justify="right")
        table.add_column("For example")
        for item in result.packages:
            count, hosts = str(len(item.hosts)), hosts_text(item.hosts)
            mark = ["[green]yes[/]" if item.published else "[red]missing[/]"] if known else []
            table.add_row(escape(item.variant.package), escape(item.variant.branch), *mark, count, hosts)
        console.print(table)
    else:
        console.print("[bold]Packages to build[/]: none")
    if result.unserved:
        console.print()
        table = Table(title="Hosts with no runnable variant", title_justify="left")
        table.add_column("Why")
        table.add_column("Hosts", justify="right")
        table.add_column("For example")
        for group in result.unserved:
            table.add_row(escape(group.reason), str(len(group.hosts)), hosts_text(group.hosts))
        console.print(table)
    console.print()
    line = (
        f"[bold]{totals.hosts}[/] hosts ({totals.kinds} kinds of machine): "
        f"[green]{totals.served} served[/] by {totals.packages} packages, "
        + (f"[red]{totals.unserved} unserved[/]" if totals.unserved else "0 unserved")
    )
    if known:
        line += (
            f"\n[bold]{totals.served_published}[/] hosts served by published packages today; "
            f"{totals.served_not_best} served, not at their best (a published package runs there, the best "
            f"is missing); {totals.missing} packages still to build (tvselect plan --missing lists them)"
        )
    if totals.invalid:
        line += f"; [yellow]{totals.invalid} documents could not be read[/] (listed on stderr)"
    console.print(line)
