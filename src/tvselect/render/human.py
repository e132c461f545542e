"""Output for a person, with rich. Imported only on the paths that print for a person."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from tvselect.app.choose import Report
from tvselect.base.capability import format_capability
from tvselect.catalog.model import Catalog, Variant
from tvselect.engine.decision import CANNOT_RUN, CHOSEN, NOT_CONSIDERED, RUNS
from tvselect.facts.model import Facts
from tvselect.flox.install import ORG_PLACEHOLDER

if TYPE_CHECKING:
    from rich.tree import Tree

    from tvselect.verify.verdict import VerifyResult


def _console() -> Console:
    from tvselect.render.safe_console import safe_console

    return safe_console()


def _machine_lines(facts: Facts, catalog: Catalog) -> list[str]:
    lines = []
    gpu = facts.gpu
    if gpu.gpus:
        for device in gpu.gpus:
            extra = []
            if device.memory_mib is not None:
                extra.append(f"{device.memory_mib} MiB")
            if device.mig:
                extra.append("MIG on")
            tail = f" ({', '.join(extra)})" if extra else ""
            lines.append(
                f"GPU {device.index}  {escape(device.name)}  compute capability "
                f"[bold]{format_capability(device.capability)}[/]{tail}"
            )
        driver = gpu.driver_version or "unknown (not checked)"
        cuda = f", supports CUDA up to {gpu.cuda_driver_version}" if gpu.cuda_driver_version else ""
        lines.append(f"Driver {escape(driver)}{escape(cuda)}  [dim](from {gpu.source})[/]")
    else:
        lines.append(f"GPU    none usable: {escape(gpu.unavailable_reason or 'none found')}")
    for gone in gpu.excluded:
        lines.append(f"[dim]GPU {gone.index}  {escape(gone.name or '')} left out: {escape(gone.reason)}[/]")
    cpu = facts.cpu
    lines.append(
        f"CPU    {escape(cpu.model or 'unknown model')} ({cpu.arch})  [dim](from {escape(cpu.source)})[/]"
    )
    relevant = sorted({f for isa in catalog.isas.values() if isa.arch == cpu.arch for f in isa.needs})
    if relevant:
        marks = " ".join(f"[green]{f}[/]" if f in cpu.features else f"[red]-{f}[/]" for f in relevant)
        lines.append(f"       features that matter: {marks}")
    elif cpu.unknown_reason:
        lines.append(f"       features unknown: {escape(cpu.unknown_reason)}")
    return lines


def _versions(variant: Variant, catalog: Catalog) -> str:
    parts = [
        f"branch {variant.branch}",
        f"TorchVision {variant.torchvision or 'version unknown'}",
        f"PyTorch {variant.pytorch or 'version unknown'}",
    ]
    if variant.cuda:
        parts.append(f"CUDA {variant.cuda}")
    parts.append(f"Python {catalog.branches[variant.branch].python}")
    return " · ".join(parts)


def render_report(report: Report) -> None:
    """The answer of a run, for a person."""
    console = _console()
    decision, catalog = report.decision, report.catalog
    console.print("[bold]This machine[/]")
    for line in _machine_lines(decision.facts, catalog):
        console.print("  " + line)
    console.print()
    variant = report.variant
    if variant is None:
        console.print("[bold red]No variant runs on this machine.[/]")
        for why in decision.reasons:
            console.print(f"  - {escape(why.text)}")
    else:
        unpublished = report.published is not None and report.published.chosen is None
        mark = " [bold red](not published)[/]" if unpublished else ""
        console.print(f"[bold]Choice[/]  [bold green]{variant.package}[/]{mark}")
        console.print(f"  {_versions(variant, catalog)}")
        for why in report.reasons:
            console.print(f"  - {escape(why.text)}")
        _print_to_build(console, report)
        plan = report.install_plan
        if plan is not None:
            command = " ".join(plan.argv)
            console.print(f"\n[bold]Install[/]  {escape(command)}")
            if ORG_PLACEHOLDER in command:
                console.print(
                    "  [dim](replace <org> with your Flox organisation, or run tvselect --install --org ORG)[/]"
                )
            if plan.pinned:
                console.print(
                    f"  [dim](pinned to TorchVision {escape(plan.spec.split('@')[1])}: the same name is built on several branches)[/]"
                )
    alternatives = [alt for alt in decision.alternatives if alt.variant != variant]
    if alternatives:
        console.print("\n[bold]Alternatives[/]")
        for alt in alternatives:
            console.print(
                f"  {alt.variant.package} [dim]({alt.variant.branch})[/]: {escape(alt.reason.text)}"
            )
    result = report.install_result
    if result is not None:
        if result.dry_run:
            console.print(f"\n[bold]Dry run[/]: would run {escape(' '.join(result.argv))}")
        elif result.ok:
            console.print(f"\n[bold green]Installed[/] with {escape(' '.join(result.argv))}")
        else:
            console.print(f"\n[bold red]Not installed[/]: {escape(result.error or '')}")
    if report.verification is not None:
        console.print()
        _print_checklist(console, report.verification)
    if report.explain:
        console.print()
        console.print(_explain_tree(report))


def _print_to_build(console: Console, report: Report) -> None:
    """What to build and publish so that the machine gets its best variant."""
    choice = report.published
    if choice is None or choice.chosen == choice.best:
        return
    from tvselect.app.published import build_commands

    title = "To serve this machine" if choice.chosen is None else "To serve it at its best"
    console.print(f"\n[bold]{title}[/], build and publish from a build-torchvision checkout:")
    for command in build_commands(choice.best, choice.org):
        console.print(f"  {escape(command)}")


def _explain_tree(report: Report) -> Tree:
    from rich.tree import Tree

    decision = report.decision
    tree = Tree(
        f"[bold]Every candidate[/] (workload {decision.options.workload}, rule that decided: {decision.rule})"
    )
    titles = {
        CHOSEN: "Chosen",
        RUNS: "Runs here, ranked lower",
        CANNOT_RUN: "Cannot run here",
        NOT_CONSIDERED: "Not considered",
    }
    all_verdicts = decision.verdicts
    for status in (CHOSEN, RUNS, CANNOT_RUN, NOT_CONSIDERED):
        verdicts = [v for v in all_verdicts if v.status == status]
        if not verdicts:
            continue
        branch = tree.add(f"[bold]{titles[status]}[/] ({len(verdicts)})")
        if status in (CHOSEN, RUNS):
            for v in verdicts:
                why = f": {escape(v.reasons[0].text)}" if v.reasons else ""
                branch.add(f"{v.variant.package} [dim]({v.variant.branch})[/]{why}")
            continue
        grouped: dict[str, list[str]] = defaultdict(list)
        for v in verdicts:
            grouped["; ".join(r.text for r in v.reasons)].append(f"{v.variant.package} ({v.variant.branch})")
        for why, packages in grouped.items():
            node = branch.add(f"{escape(why)} [dim]({len(packages)})[/]")
            for name in packages:
                node.add(f"[dim]{escape(name)}[/]")
    return tree


def render_facts(facts: Facts, catalog: Catalog) -> None:
    """The probe's facts, for a person."""
    console = _console()
    for line in _machine_lines(facts, catalog):
        console.print(line)
    for note in facts.gpu.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    if facts.host:
        console.print(f"[dim]host: {escape(facts.host)}[/]")


def render_variants(variants: list[Variant], catalog: Catalog) -> None:
    """A table of variants."""
    from rich.table import Table

    table = Table(title=f"{len(variants)} variants", title_justify="left")
    for column in ("package", "branch", "GPU arch", "CPU ISA", "TorchVision", "PyTorch", "CUDA"):
        table.add_column(column)
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
    _console().print(table)


def render_show(document: dict[str, Any]) -> None:
    """`tvselect show`, for a person."""
    console = _console()
    for entry in document["variants"]:
        console.print(f"[bold]{entry['package']}[/]  [dim](branch {entry['branch']})[/]")
        rows = [
            ("TorchVision", entry["torchvision"] or "not yet known"),
            ("PyTorch", entry["pytorch"] or "unknown"),
            ("Python", entry["python"]),
            ("built for", " ".join(entry["platforms"])),
            ("CPU ISA", f"{entry['cpu_isa_label']} ({entry['cpu_arch']})"),
            ("compiled with", " ".join(entry["compile_flags"])),
            ("needs CPU features", " ".join(entry["cpu_features_needed"])),
        ]
        if entry["gpu_arch"]:
            rows += [
                ("CUDA", entry["cuda"]),
                (
                    "GPU arch",
                    f"{entry['gpu_arch']} (compute capability {entry['compute_capability']}, {entry['gpu_family']})",
                ),
                ("GPUs", ", ".join(entry["example_gpus"])),
                ("min driver", f"{entry['min_driver']}: {entry['min_driver_note']}"),
            ]
        for label, value in rows:
            console.print(f"  {label:<19} {escape(str(value))}")
        if entry["would_be_chosen_here"]:
            console.print("  [green]here: runs, and is what tvselect would choose[/]")
        elif entry["runs_here"]:
            console.print("  [green]here: runs[/] (tvselect would choose another; see 'tvselect --explain')")
        else:
            console.print("  [red]here: cannot run[/]")
            for why in entry["why_not_here"]:
                console.print(f"    - {escape(why)}")
        console.print()


_MARKS = {"ok": "[green]✓[/]", "error": "[bold red]✗[/]", "warning": "[yellow]![/]"}


def _print_checklist(console: Console, result: VerifyResult) -> None:
    from tvselect.verify.verdict import WARNING

    console.print(f"[bold]Verify[/]  {escape(result.python)}")
    for check in result.checks:
        mark = _MARKS["ok" if check.ok else check.severity]
        console.print(f"  {mark} {escape(f'{check.name:<18}')} {escape(check.detail)}")
    failed = sum(1 for c in result.checks if not c.ok and c.severity != WARNING)
    warned = sum(1 for c in result.checks if not c.ok and c.severity == WARNING)
    tail = f", {warned} warning{'s' if warned != 1 else ''}" if warned else ""
    if failed:
        console.print(f"[bold red]FAILED[/]: {failed} check{'s' if failed != 1 else ''} failed{tail}")
    else:
        console.print(f"[bold green]OK[/]{tail}")


def render_verify(result: VerifyResult) -> None:
    """`tvselect verify`, for a person: one line per check (✓ holds, ✗ fails, ! works but could be better)."""
    _print_checklist(_console(), result)
