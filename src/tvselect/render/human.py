"""Output for a person, with rich. Imported only on the paths that print for a person."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from tvselect.app.choose import Report
from tvselect.app.inputs import MachineInputs
from tvselect.base.capability import format_capability
from tvselect.catalog.model import Catalog, Variant
from tvselect.engine.decision import CANNOT_RUN, CHOSEN, NOT_CONSIDERED, RUNS
from tvselect.facts.model import Facts
from tvselect.flox.install import ORG_PLACEHOLDER
from tvselect.render.console import fits, make_console, plural, wrapped

if TYPE_CHECKING:
    from tvselect.verify.verdict import VerifyResult


def _console() -> Console:
    return make_console()


def machine_title(machine: MachineInputs) -> str:
    """What the facts describe: this machine, one simulated from options, or a facts document's."""
    if machine.facts_path is not None:
        return "Machine from " + ("standard input" if machine.facts_path == "-" else machine.facts_path)
    return "Simulated machine" if machine.simulated else "This machine"


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


def render_report(report: Report) -> None:
    """The answer of a run, for a person."""
    console = _console()
    decision, catalog = report.decision, report.catalog
    console.print(f"[bold]{escape(machine_title(report.machine))}[/]")
    for line in _machine_lines(decision.facts, catalog):
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
        console.print()
        _print_checklist(console, report.verification)
    if report.explain:
        console.print()
        _print_explanation(console, report)


def _print_to_build(console: Console, report: Report) -> None:
    """What to build and publish so that the machine gets its best variant."""
    choice = report.published
    if choice is None or choice.chosen == choice.best:
        return
    from tvselect.app.published import build_commands

    title = "To serve this machine" if choice.chosen is None else "To serve it at its best"
    console.print()
    wrapped(console, f"[bold]{title}[/], build and publish from a build-torchvision checkout:")
    for command in build_commands(choice.best, choice.org):
        wrapped(console, escape(command), indent=2, hang=4)


def _print_install_plan(console: Console, report: Report) -> None:
    plan = report.install_plan
    assert plan is not None
    command = " ".join(plan.argv)
    console.print()
    wrapped(console, f"[bold]Install[/]  {escape(command)}")
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
    command = escape(" ".join(result.argv))
    if result.dry_run:
        wrapped(console, f"\n[bold]Dry run[/]: would run {command}")
    elif result.ok:
        wrapped(console, f"\n[bold green]Installed[/] with {command}")
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


def render_facts(facts: Facts, catalog: Catalog, machine: MachineInputs | None = None) -> None:
    """The probe's facts, for a person."""
    console = _console()
    if machine is not None and machine.simulated:
        console.print(f"[bold]{escape(machine_title(machine))}[/]")
    if facts.host:
        console.print(f"host   {escape(facts.host)}")
    for line in _machine_lines(facts, catalog):
        wrapped(console, line, hang=7)
    for note in facts.gpu.notes:
        wrapped(console, f"[dim]note: {escape(note)}[/]", hang=6)


_COLUMNS = ("package", "branch", "GPU arch", "CPU ISA", "TorchVision", "PyTorch", "CUDA")


def render_variants(variants: list[Variant], catalog: Catalog) -> None:
    """The variants as a table when it fits the terminal, else grouped by branch; names are never cut."""
    from rich.table import Table

    console = _console()
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


def render_show(document: dict[str, Any]) -> None:
    """`tvselect show`, for a person."""
    console = _console()
    for entry in document["variants"]:
        wrapped(console, f"[bold]{entry['package']}[/]  [dim](branch {entry['branch']})[/]")
        product = entry.get("product", "torchvision")
        rows = [("TorchVision", entry["torchvision"] or "not yet known")]
        if product != "torchvision":
            from tvselect.catalog.records import PRODUCT_LABELS

            rows = [(PRODUCT_LABELS.get(product, product), entry["product_version"] or "unknown")]
        if product != "pytorch":
            rows.append(("PyTorch", entry["pytorch"] or "unknown"))
        torch = entry.get("torch")
        if torch is not None and product != "pytorch":
            rows.append(("brings PyTorch", f"{torch['pname'] or 'unnamed'} (from {torch['origin']})"))
        if entry.get("torch") is not None and entry["nixpkgs"] is None:
            rows.append(("nixpkgs", "not pinned: the environment's own, so the versions are unknown"))
        rows += [
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
            wrapped(console, f"{label:<19} {escape(str(value))}", indent=2, hang=20)
        if entry["would_be_chosen_here"]:
            console.print("  [green]here: runs, and is what tvselect would choose[/]")
        elif entry["runs_here"]:
            wrapped(
                console,
                "[green]here: runs[/] (tvselect would choose another; see 'tvselect --explain')",
                indent=2,
            )
        else:
            console.print("  [red]here: cannot run[/]")
            for why in entry["why_not_here"]:
                wrapped(console, f"- {escape(why)}", indent=4)
        console.print()


_MARKS = {"ok": "[green]✓[/]", "error": "[bold red]✗[/]", "warning": "[yellow]![/]"}


def _print_checklist(console: Console, result: VerifyResult) -> None:
    from tvselect.verify.verdict import WARNING

    console.print(f"[bold]Verify[/]  {escape(result.python)}")
    for check in result.checks:
        mark = _MARKS["ok" if check.ok else check.severity]
        wrapped(console, f"{mark} {escape(f'{check.name:<18}')} {escape(check.detail)}", indent=2, hang=21)
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
