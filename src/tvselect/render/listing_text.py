"""`tvselect list` as text (the JSON is render.listing_json)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tvselect.render.console import fits, make_console, plural, wrapped

if TYPE_CHECKING:
    from typing import TextIO

    from tvselect.app.browse import Listing


_COLUMNS = ("package", "branch", "GPU arch", "CPU ISA", "TorchVision", "PyTorch", "CUDA")


def render(listing: Listing, stream: TextIO) -> None:
    """The variants as a table when it fits the terminal, else grouped by branch; names are never cut."""
    from rich.table import Table

    variants, catalog = listing.variants, listing.catalog
    console = make_console(file=stream)
    table = Table(title=plural(len(variants), "variant"), title_justify="left")
    for column in _COLUMNS:
        table.add_column(column, no_wrap=True)
    for v in variants:
        table.add_row(
            v.package,
            v.branch,
            v.gpu_arch or "-",
            v.cpu_isa,
            v.torchvision or "?",
            v.pytorch or "?",
            v.cuda or "-",
        )
    if fits(table, console.width):
        console.print(table)
        return
    console.print(plural(len(variants), "variant"))
    longest = max((len(v.package) for v in variants), default=0)
    columns = 2 + longest + 2 + 5 + 1 + 10 <= console.width
    for name, branch in catalog.branches.items():
        on_branch = [v for v in variants if v.branch == name]
        if not on_branch:
            continue
        console.print()
        versions = f"TorchVision {branch.torchvision or '?'}, PyTorch {branch.pytorch}, CUDA {branch.cuda}"
        wrapped(console, f"[bold]branch {name}[/] ({versions})")
        for v in on_branch:
            tail = f"  {v.gpu_arch or '-':<5} {v.cpu_isa}" if columns else ""
            console.print(f"  {v.package:<{longest if columns else 0}}{tail}", soft_wrap=True)
