"""A several-product answer for a person: the machine once, then each product's choice."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from tvselect.app.family import FamilyReport
from tvselect.catalog.records import PRODUCT_LABELS
from tvselect.render.console import wrapped


def render(report: FamilyReport, console: Console) -> None:
    """The machine, each product's package and why, the PyTorch the set brings, the install."""
    from tvselect.render.human import _machine_lines, _versions, machine_title

    first = report.answers[0]
    console.print(f"[bold]{escape(machine_title(first.machine))}[/]")
    for line in _machine_lines(first.decision.facts, first.catalog):
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
        wrapped(console, "[bold]Install[/]  " + escape(" ".join(plan.argv)), hang=4)
    if result is not None and result.error is None:
        wrapped(console, "Installed." if not result.dry_run else "Dry run: nothing was run.")
