"""A several-product answer for a person: the machine once, then each product's choice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape

from tvselect.app.family import FamilyReport
from tvselect.catalog.records import PRODUCT_LABELS
from tvselect.render.console import command_line, make_console, wrapped
from tvselect.render.machine_text import machine_lines, machine_title
from tvselect.render.report_text import _versions

if TYPE_CHECKING:
    from typing import TextIO


def render(report: FamilyReport, stream: TextIO) -> None:
    """The machine, each product's package and why, the PyTorch the set brings, the install."""
    console = make_console(file=stream)
    first = report.answers[0]
    console.print(f"[bold]{escape(machine_title(first.machine))}[/]")
    for line in machine_lines(first.decision.facts, first.catalog):
        wrapped(console, line, indent=2, hang=7)
    console.print()
    wrapped(console, f"[bold]Python {escape(report.python)}[/] for every package")
    for product, answer in zip(report.products, report.answers, strict=True):
        label = PRODUCT_LABELS.get(product, product)
        variant = answer.variant
        console.print()
        if variant is None:
            wrapped(console, f"[bold]{label}[/]  [bold red]no package runs on this machine[/]")
            reasons = answer.decision.reasons
        else:
            wrapped(console, f"[bold]{label}[/]  [bold green]{variant.package}[/]")
            wrapped(console, escape(_versions(variant, answer.catalog)), indent=2)
            reasons = answer.reasons
        for why in reasons:
            wrapped(console, f"- {escape(why.text)}", indent=2)
    if report.two_torch is not None:
        console.print()
        avoid = report.two_torch.avoid[0]
        wrapped(
            console,
            f"[bold yellow]Two PyTorch builds[/] (see the warning); to avoid them install {escape(avoid)}",
        )
    plan, result = report.install_plan, report.install_result
    if plan is not None:
        console.print()
        command_line(console, "[bold]Install[/]  ", " ".join(plan.argv))
    if result is not None and result.error is None:
        wrapped(console, "Installed." if not result.dry_run else "Dry run: nothing was run.")
