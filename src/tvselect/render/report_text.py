"""The answer of a run (`tvselect`), as text for a person (the JSON is render.report_json)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from tvselect.app.choose import Report
from tvselect.catalog.model import Catalog, Variant
from tvselect.engine.decision import CANNOT_RUN, CHOSEN, NOT_CONSIDERED, RUNS
from tvselect.flox.install import ORG_PLACEHOLDER
from tvselect.render.console import command_line, make_console, wrapped
from tvselect.render.machine_text import machine_lines, machine_title

if TYPE_CHECKING:
    from typing import TextIO


def _versions(variant: Variant, catalog: Catalog) -> str:
    from tvselect.catalog.records import PRODUCT_LABELS

    parts = [f"branch {variant.branch}"]
    if variant.product != "torchvision":
        label = PRODUCT_LABELS.get(variant.product, variant.product)
        parts.append(f"{label} {variant.product_version or 'version unknown'}")
    else:
        parts.append(f"TorchVision {variant.torchvision or 'version unknown'}")
    if variant.product != "pytorch":
        parts.append(f"PyTorch {variant.pytorch or 'version unknown'}")
    if variant.cuda:
        parts.append(f"CUDA {variant.cuda}")
    parts.append(f"Python {variant.python or catalog.branches[variant.branch].python}")
    return " · ".join(parts)


def render(report: Report, stream: TextIO) -> None:
    """The answer of a run, for a person."""
    console = make_console(file=stream)
    decision, catalog = report.decision, report.catalog
    console.print(f"[bold]{escape(machine_title(report.machine))}[/]")
    for line in machine_lines(decision.facts, catalog):
        wrapped(console, line, indent=2, hang=7)
    console.print()
    variant = report.variant
    if variant is None:
        console.print("[bold red]No variant runs on this machine.[/]")
    else:
        unpublished = report.published is not None and report.published.chosen is None
        mark = " [bold red](not published)[/]" if unpublished else ""
        wrapped(console, f"[bold]Choice[/]  [bold green]{variant.package}[/]{mark}")
        wrapped(console, _versions(variant, catalog), indent=2)
        needs = report.machine_needs
        if needs is not None:  # the GPU was identified by its PCI device ID
            wrapped(
                console,
                f"[bold yellow]Needs[/]   {escape(needs.text)}; the GPU was identified by its PCI device ID",
            )
    for why in report.reasons if variant is not None else decision.reasons:
        wrapped(console, f"- {escape(why.text)}", indent=2)
    if variant is not None:
        _print_to_build(console, report)
    if report.install_plan is not None:
        _print_install_plan(console, report)
    alternatives = [alt for alt in decision.alternatives if alt.variant != variant]
    if alternatives:
        console.print("\n[bold]Alternatives[/]")
        for alt in alternatives:
            line = f"{alt.variant.package} [dim]({alt.variant.branch})[/]: {escape(alt.reason.text)}"
            wrapped(console, line, indent=2, hang=4)
    _print_install_result(console, report)
    if report.verification is not None:
        from tvselect.render.verify_text import checklist

        console.print()
        checklist(console, report.verification)
    if report.explain:
        console.print()
        _print_explanation(console, report)


def _print_to_build(console: Console, report: Report) -> None:
    """What to build and publish so that the machine gets its best variant."""
    choice = report.published
    if choice is None or choice.chosen == choice.best:
        return
    from tvselect.app.published import build_commands, repository_branch

    title = "To serve this machine" if choice.chosen is None else "To serve it at its best"
    console.print()
    wrapped(console, f"[bold]{title}[/], build and publish from a build-torchvision checkout:")
    for command in build_commands(choice.best, choice.org, report.catalog):
        command_line(console, "  ", command)
    branch = repository_branch(choice.best, report.catalog)
    if branch != choice.best.branch:
        note = f"(the build-torchvision repository calls branch {choice.best.branch} {branch} today)"
        wrapped(console, f"[dim]{escape(note)}[/]", indent=2)


def _print_install_plan(console: Console, report: Report) -> None:
    plan = report.install_plan
    assert plan is not None
    command = " ".join(plan.argv)
    console.print()
    command_line(console, "[bold]Install[/]  ", command)
    if ORG_PLACEHOLDER in command:
        note = "(replace <org> with your Flox organisation, or run tvselect --install --org ORG)"
        wrapped(console, f"[dim]{escape(note)}[/]", indent=2)
    if plan.pinned:
        version = plan.spec.split("@")[1]
        note = f"(pinned to TorchVision {version}: the same name is built on several branches)"
        wrapped(console, f"[dim]{escape(note)}[/]", indent=2)


def _print_install_result(console: Console, report: Report) -> None:
    result = report.install_result
    if result is None:
        return
    if result.dry_run:
        console.print()
        command_line(console, "[bold]Dry run[/]: would run ", " ".join(result.argv))
    elif result.ok:
        console.print()
        command_line(console, "[bold green]Installed[/] with ", " ".join(result.argv))
    else:
        wrapped(console, f"\n[bold red]Not installed[/]: {escape(result.error or '')}")


_TITLES = {
    CHOSEN: "Chosen",
    RUNS: "Runs here, ranked lower",
    CANNOT_RUN: "Cannot run here",
    NOT_CONSIDERED: "Not considered",
}


def _print_explanation(console: Console, report: Report) -> None:
    """Every candidate, grouped by verdict; names whole on their lines, reasons wrapped at spaces."""
    decision = report.decision
    head = (
        f"[bold]Every candidate[/] (workload {decision.options.workload}, rule that decided: {decision.rule})"
    )
    wrapped(console, head)
    for status in (CHOSEN, RUNS, CANNOT_RUN, NOT_CONSIDERED):
        verdicts = [v for v in decision.verdicts if v.status == status]
        if not verdicts:
            continue
        console.print(f"  [bold]{_TITLES[status]}[/] ({len(verdicts)})")
        if status in (CHOSEN, RUNS):
            for v in verdicts:
                why = f": {escape(v.reasons[0].text)}" if v.reasons else ""
                wrapped(console, f"{v.variant.package} [dim]({v.variant.branch})[/]{why}", indent=4, hang=4)
            continue
        grouped: dict[str, list[str]] = defaultdict(list)
        for v in verdicts:
            grouped["; ".join(r.text for r in v.reasons)].append(f"{v.variant.package} ({v.variant.branch})")
        for why, packages in grouped.items():
            wrapped(console, f"{escape(why)} [dim]({len(packages)})[/]", indent=4, hang=2)
            for name in packages:
                wrapped(console, f"[dim]{escape(name)}[/]", indent=6, hang=2)
